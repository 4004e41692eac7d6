using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>
/// Autoregressive sampling: the prompt through <see cref="Transformer{T}.Forward"/> into a <see cref="KvCache{T}"/>,
/// then one position per token, each unembedding only its last position. Hooks act at every step (steering,
/// clamping and ablation are plain <see cref="Hooks{T}"/> entries; see Hooks for what a cached step shows them).
/// </summary>
public static class Sampler
{
    /// <summary>
    /// Samples up to <paramref name="maxTokens"/> tokens after <paramref name="prompt"/>. When the context
    /// fills, the cache is rebuilt from the most recent half-context of tokens.
    /// </summary>
    public static IEnumerable<int> Generate(Transformer<float> model, int[] prompt, int maxTokens, SamplingSettings settings,
        Hooks<float>? hooks = null, CancellationToken cancel = default)
    {
        settings.Validate();
        if (prompt.Length == 0) throw new UserError("the prompt is empty");
        foreach (int id in prompt) if ((uint)id >= (uint)model.Config.Vocab) throw new UserError($"prompt token {id} is outside the model's vocabulary of {model.Config.Vocab}");
        int ctx = model.Config.Context;
        var history = new List<int>(prompt);
        var cache = new KvCache<float>(model.Config);
        var rng = new Rng(settings.Seed).Stream(3);
        int[] feed = prompt.Length > ctx ? prompt[^ctx..] : prompt;
        for (int t = 0; t < maxTokens && !cancel.IsCancellationRequested; t++)
        {
            if (cache.Length + feed.Length > ctx)
            {
                cache.Clear();
                feed = history.Skip(Math.Max(0, history.Count - ctx / 2)).ToArray();
            }
            var logits = model.Forward(feed, 1, feed.Length, hooks, cache, lastPositionOnly: true).Value.ToArray();
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
