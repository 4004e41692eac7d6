using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Models;

/// <summary>How to pick the next token: temperature (0 = greedy), top-k (0 = off), top-p (1 = off), seed.</summary>
public readonly record struct SamplingSettings(float Temperature = 1f, int TopK = 0, float TopP = 1f, ulong Seed = 0)
{
    public void Validate()
    {
        if (!(Temperature >= 0)) throw new UserError($"--temperature must be ≥ 0, not {Temperature}");
        if (TopK < 0) throw new UserError($"--top-k must be ≥ 0, not {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new UserError($"--top-p must be in (0, 1], not {TopP}");
    }
}

/// <summary>
/// Keys and values of every layer for the positions processed so far, so each new token costs one
/// position's work instead of a pass over the whole prefix.
/// </summary>
public sealed class KvCache(TransformerConfig config)
{
    public Tensor[] Keys { get; } = Enumerable.Range(0, config.Layers).Select(_ => new Tensor(config.Context, config.DModel)).ToArray();
    public Tensor[] Values { get; } = Enumerable.Range(0, config.Layers).Select(_ => new Tensor(config.Context, config.DModel)).ToArray();
    /// <summary>Positions filled.</summary>
    public int Length { get; internal set; }
}

/// <summary>Autoregressive sampling with a KV cache.</summary>
public static unsafe class Sampler
{
    /// <summary>
    /// Feeds <paramref name="tokens"/> at the cache's next positions and returns the logits [vocab] of the last one.
    /// Equal (to rounding) to the last row of <see cref="Transformer{T}.Forward"/> on the whole prefix.
    /// </summary>
    public static float[] Step(Transformer<float> model, KvCache cache, ReadOnlySpan<int> tokens)
    {
        var c = model.Config;
        int n = tokens.Length, start = cache.Length, d = c.DModel;
        if (n == 0) throw new ArgumentException("no tokens to feed");
        if (start + n > c.Context) throw new ArgumentException($"{start + n} positions exceed the context of {c.Context}");
        using var _ = Tape.NoGrad();
        var ids = tokens.ToArray();
        var positions = Enumerable.Range(start, n).ToArray();
        var resid = Ops.Add(Ops.Embedding(model.TokenEmbedding, ids), Ops.Embedding(model.PositionEmbedding, positions));
        float eps = c.LayerNormEps;
        for (int layer = 0; layer < c.Layers; layer++)
        {
            var w = model.Blocks[layer];
            var qkv = Ops.Linear(Ops.LayerNorm(resid, w.Ln1Gain, w.Ln1Bias, eps), w.AttnWeight, w.AttnBias).Value;
            Tensor keys = cache.Keys[layer], values = cache.Values[layer];
            for (int i = 0; i < n; i++)
            {
                qkv.Span.Slice(i * 3 * d + d, d).CopyTo(keys.Row(start + i));
                qkv.Span.Slice(i * 3 * d + 2 * d, d).CopyTo(values.Row(start + i));
            }
            var z = new Tensor(n, d);
            float scale = 1f / MathF.Sqrt(c.DHead) / (c.ScaleAttnByInverseLayerIdx ? layer + 1 : 1);
            var scores = new float[start + n];
            fixed (float* ps = scores)
                for (int i = 0; i < n; i++)
                {
                    int len = start + i + 1;
                    for (int h = 0; h < c.Heads; h++)
                    {
                        float* q = qkv.Pointer + (long)i * 3 * d + h * c.DHead;
                        for (int j = 0; j < len; j++) ps[j] = scale * VectorMath.Dot(q, keys.Pointer + (long)j * d + h * c.DHead, c.DHead);
                        Softmax.Row(ps, ps, len);
                        VectorMath.Combine(z.Pointer + (long)i * d + h * c.DHead, c.DHead, ps, 1, len, values.Pointer + h * c.DHead, d);
                    }
                }
            resid = Ops.Add(resid, Ops.Linear(Ops.Constant(z), w.AttnOutWeight, w.AttnOutBias));
            if (c.AttentionOnly) continue;
            var pre = Ops.Linear(Ops.LayerNorm(resid, w.Ln2Gain!, w.Ln2Bias!, eps), w.MlpInWeight!, w.MlpInBias);
            resid = Ops.Add(resid, Ops.Linear(Ops.Activate(pre, c.Activation), w.MlpOutWeight!, w.MlpOutBias));
        }
        cache.Length = start + n;
        var last = Ops.Constant(Tensor.FromArray(resid.Value.Row(n - 1), 1, d));
        var final = Ops.LayerNorm(last, model.FinalNormGain, model.FinalNormBias, eps);
        return Ops.MatMul(final, model.UnembeddingRows, transB: true).Value.ToArray();
    }

    /// <summary>
    /// Samples up to <paramref name="maxTokens"/> tokens after <paramref name="prompt"/>. When the context
    /// fills, the cache is rebuilt from the most recent half-context of tokens.
    /// </summary>
    public static IEnumerable<int> Generate(Transformer<float> model, int[] prompt, int maxTokens, SamplingSettings settings, CancellationToken cancel = default)
    {
        settings.Validate();
        if (prompt.Length == 0) throw new UserError("the prompt is empty");
        foreach (int id in prompt) if ((uint)id >= (uint)model.Config.Vocab) throw new UserError($"prompt token {id} is outside the model's vocabulary of {model.Config.Vocab}");
        int ctx = model.Config.Context;
        var history = new List<int>(prompt);
        var cache = new KvCache(model.Config);
        var rng = new Rng(settings.Seed).Stream(3);
        int[] feed = prompt.Length > ctx ? prompt[^ctx..] : prompt;
        for (int t = 0; t < maxTokens && !cancel.IsCancellationRequested; t++)
        {
            if (cache.Length + feed.Length > ctx)
            {
                cache = new KvCache(model.Config);
                feed = history.Skip(Math.Max(0, history.Count - ctx / 2)).ToArray();
            }
            var logits = Step(model, cache, feed);
            int next = Sample(logits, settings, rng);
            history.Add(next);
            feed = [next];
            yield return next;
        }
    }

    /// <summary>Picks a token from logits: greedy at temperature 0, else softmax(logits/T) restricted by top-k and top-p.</summary>
    public static int Sample(float[] logits, SamplingSettings s, Rng rng)
    {
        if (s.Temperature == 0) return Array.IndexOf(logits, logits.Max());
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int keep = s.TopK > 0 ? Math.Min(s.TopK, order.Length) : order.Length;
        var probs = new double[keep];
        double max = logits[order[0]], sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((logits[order[i]] - max) / s.Temperature);
        double cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++)
        {
            cumulative += probs[i] / sum;
            if (cumulative >= s.TopP) { nucleus = i + 1; break; }
        }
        double total = 0;
        for (int i = 0; i < nucleus; i++) total += probs[i];
        double u = rng.NextDouble() * total;
        for (int i = 0; i < nucleus; i++)
        {
            u -= probs[i];
            if (u < 0) return order[i];
        }
        return order[nucleus - 1];
    }
}
