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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Kv_cache_steps_give_the_same_logits_as_a_full_forward(bool crfm)
    {
        var m = Model(crfm);
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6];
        var cache = new KvCache(m.Config);
        var first = Sampler.Step(m, cache, tokens.AsSpan(0, 5));
        var steps = new List<float[]> { first };
        for (int i = 5; i < tokens.Length; i++) steps.Add(Sampler.Step(m, cache, tokens.AsSpan(i, 1)));
        Tensor full;
        using (Tape.NoGrad()) full = m.Forward(tokens, 1, tokens.Length).Value;
        for (int s = 0; s < steps.Count; s++)
        {
            var row = full.Row(4 + s);
            for (int v = 0; v < 20; v++) Assert.True(Math.Abs(row[v] - steps[s][v]) < 1e-4, $"position {4 + s} token {v}: {steps[s][v]} vs {row[v]}");
        }
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
