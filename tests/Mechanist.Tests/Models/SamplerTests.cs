using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

public class SamplerTests
{
    static Transformer<float> Model(bool crfm = false)
    {
        var m = Transformer<float>.Create(new TransformerConfig { Layers = 2, DModel = 16, Heads = 2, DMlp = 24, Context = 12, Vocab = 20, ScaleAttnByInverseLayerIdx = crfm }, 9);
        var rng = new Random(9);
        foreach (var (_, w) in m.Weights) for (int i = 0; i < w.Value.Length; i++) w.Value[i] += (float)(rng.NextDouble() - 0.5) * 0.5f;
        return m;
    }

    /// <summary>Position-independent hooks at several kinds of point: steering, ablation, an edit of the cached keys.</summary>
    static Hooks<float> Edits(TransformerConfig c)
    {
        var delta = new Tensor(c.DModel);
        for (int i = 0; i < delta.Length; i++) delta[i] = 0.3f * MathF.Sin(i);
        return new Hooks<float>()
            .Add(HookPoint.ResidMid(0), delta)
            .Ablate(HookPoint.MlpPost(1), [0, 5, 7])
            .Replace(HookPoint.K(0), k => { var y = k.Clone(); for (int i = 0; i < y.Length; i++) y[i] *= 1.5f; return y; });
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Cached_steps_give_the_logits_of_a_full_forward(bool crfm, bool hooked)
    {
        var m = Model(crfm);
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        Tensor full;
        using (Tape.NoGrad()) full = m.Forward(tokens, 1, tokens.Length, hooked ? Edits(m.Config) : null).Value;
        var cache = new KvCache<float>(m.Config);
        // The prompt (5 positions) at once, then one position at a time, then two at once, then the last alone.
        int[][] steps = [tokens[..5], [tokens[5]], [tokens[6]], tokens[7..9], [tokens[9]]];
        int at = 0;
        foreach (var step in steps)
        {
            var all = m.Forward(step, 1, step.Length, hooked ? Edits(m.Config) : null, cache).Value;
            Assert.Equal([1, step.Length, 20], all.Shape);
            at += step.Length;
            Assert.Equal(at, cache.Length);
            for (int p = 0; p < step.Length; p++)
                for (int v = 0; v < 20; v++)
                {
                    float want = full[(at - step.Length + p) * 20 + v], got = all[p * 20 + v];
                    Assert.True(Math.Abs(want - got) <= 1e-5f, $"position {at - step.Length + p} token {v}: cached {got} vs full {want}");
                }
        }
        // The last position alone, as sampling asks for it: the same row.
        cache.Clear();
        m.Forward(tokens[..9], 1, 9, hooked ? Edits(m.Config) : null, cache);
        var last = m.Forward([tokens[9]], 1, 1, hooked ? Edits(m.Config) : null, cache, lastPositionOnly: true).Value;
        Assert.Equal([1, 1, 20], last.Shape);
        for (int v = 0; v < 20; v++) Assert.True(Math.Abs(full[9 * 20 + v] - last[v]) <= 1e-5f);
        var lastOfFull = m.Forward(tokens, 1, tokens.Length, hooked ? Edits(m.Config) : null, lastPositionOnly: true).Value;
        for (int v = 0; v < 20; v++) Assert.True(Math.Abs(full[9 * 20 + v] - lastOfFull[v]) <= 1e-5f);
    }

    [Fact]
    public void Hooks_act_during_generation_once_per_token_on_the_new_positions()
    {
        var m = Model();
        var shapes = new List<int[]>();
        var patterns = new List<int[]>();
        var hooks = new Hooks<float>()
            .Read(HookPoint.ResidPost(1), x => shapes.Add(x.Shape))
            .Read(HookPoint.Pattern(0), p => patterns.Add(p.Shape));
        var tokens = Sampler.Generate(m, [1, 2, 3], 7, new SamplingSettings(0f), hooks).ToArray();
        Assert.Equal(7, tokens.Length);
        Assert.Equal(7, shapes.Count);                     // one pass per generated token
        Assert.Equal([1, 3, 16], shapes[0]);               // the prompt
        Assert.All(shapes.Skip(1), s => Assert.Equal([1, 1, 16], s)); // then the new position only
        Assert.Equal([1, 2, 3, 3], patterns[0]);
        Assert.Equal([1, 2, 1, 4], patterns[1]);           // [batch, head, new, all positions so far]
        Assert.Equal([1, 2, 1, 9], patterns[^1]);

        // Past the context (12) the cache is rebuilt, and hooks still fire once per token.
        shapes.Clear();
        Assert.Equal(20, Sampler.Generate(m, [1, 2, 3], 20, new SamplingSettings(0f), hooks).Count());
        Assert.Equal(20, shapes.Count);

        // A hook that perturbs the residual stream changes the greedy continuation.
        var plain = Sampler.Generate(m, [1, 2, 3], 10, new SamplingSettings(0f)).ToArray();
        var push = new Tensor(16);
        for (int i = 0; i < 16; i++) push[i] = 3f * m.UnembeddingRows.Value[7 * 16 + i];
        var steered = Sampler.Generate(m, [1, 2, 3], 10, new SamplingSettings(0f), new Hooks<float>().Add(HookPoint.ResidPost(1), push)).ToArray();
        Assert.NotEqual(plain, steered);
        Assert.True(steered.Count(t => t == 7) > plain.Count(t => t == 7));
    }

    [Fact]
    public void Sampling_is_seeded_greedy_is_argmax_and_top_k_one_is_greedy()
    {
        var m = Model();
        int[] prompt = [1, 2, 3];
        var a = Sampler.Generate(m, prompt, 20, new SamplingSettings(1f, 0, 0.9f, 7)).ToArray();
        var b = Sampler.Generate(m, prompt, 20, new SamplingSettings(1f, 0, 0.9f, 7)).ToArray();
        Assert.Equal(a, b);
        Assert.Equal(20, a.Length); // runs past the context of 12: the cache is rebuilt
        var greedy = Sampler.Generate(m, prompt, 5, new SamplingSettings(0f)).ToArray();
        var topOne = Sampler.Generate(m, prompt, 5, new SamplingSettings(1.5f, 1, 1f, 3)).ToArray();
        Assert.Equal(greedy, topOne);
        float[] logits = [0.1f, 3f, -1f, 2.9f];
        Assert.Equal(1, Sampler.Sample(logits, new SamplingSettings(0f), new Rng(1)));
        for (int i = 0; i < 50; i++)
            Assert.Contains(Sampler.Sample(logits, new SamplingSettings(1f, 2, 1f), new Rng((ulong)i)), new[] { 1, 3 });
    }
}
