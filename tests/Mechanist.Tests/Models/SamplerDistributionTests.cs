using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

/// <summary>
/// What a sampled token's distribution must be (softmax of logits/T over the top-k, cut to the smallest prefix whose
/// mass reaches top-p, renormalised), checked by drawing many tokens and comparing frequencies with the distribution
/// computed here from the definition; and generation past the context, checked against full forward passes.
/// </summary>
public class SamplerDistributionTests
{
    /// <summary>The reference distribution, written from the definition in double precision.</summary>
    static double[] Expected(float[] logits, SamplingSettings s)
    {
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        int keep = s.TopK > 0 ? Math.Min(s.TopK, logits.Length) : logits.Length;
        double max = logits.Max();
        var weight = order.Take(keep).Select(i => Math.Exp(((double)logits[i] - max) / s.Temperature)).ToArray();
        double z = weight.Sum(), mass = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++)
            if ((mass += weight[i] / z) >= s.TopP) { nucleus = i + 1; break; }
        double kept = weight.Take(nucleus).Sum();
        var p = new double[logits.Length];
        for (int i = 0; i < nucleus; i++) p[order[i]] = weight[i] / kept;
        return p;
    }

    static double[] Frequencies(float[] logits, SamplingSettings s, int draws = 20_000)
    {
        var rng = new Rng(5).Stream(1);
        var counts = new double[logits.Length];
        for (int n = 0; n < draws; n++) counts[Sampler.Sample(logits, s, rng)]++;
        return counts.Select(c => c / draws).ToArray();
    }

    public static TheoryData<float[], SamplingSettings> Cases => new()
    {
        { [1f, 0.5f, -0.5f, 2f, 0f], new(1f) },                   // plain softmax
        { [1f, 0.5f, -0.5f, 2f, 0f], new(0.5f) },                 // a sharper temperature
        { [1f, 0.5f, -0.5f, 2f, 0f], new(2.5f, 3) },              // top-k 3
        { [1f, 0.5f, -0.5f, 2f, 0f], new(1f, 0, 0.8f) },          // top-p cuts inside the list
        { [0f, 0f, 0f, 0f], new(1f, 0, 0.5f) },                   // top-p reached exactly at the second token: two kept
        { [500f, 499f, 498.5f, 400f], new(1f) },                  // large logits: softmax must subtract the maximum
        { [2f, 1f, 0f], new(1f, 5) },                             // top-k above the vocabulary keeps everything
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sampled_frequencies_match_the_definition(float[] logits, SamplingSettings s)
    {
        var expected = Expected(logits, s);
        var seen = Frequencies(logits, s);
        for (int i = 0; i < logits.Length; i++)
            Assert.True(Math.Abs(expected[i] - seen[i]) < 0.015, $"token {i}: expected {expected[i]:F4}, sampled {seen[i]:F4}");
    }

    [Fact]
    public void Ties_go_to_the_lower_token_id()
    {
        for (ulong seed = 0; seed < 20; seed++)
            Assert.Equal(1, Sampler.Sample([0f, 3f, 3f, 1f], new SamplingSettings(1f, 1), new Rng(seed)));
    }

    static Transformer<float> Model()
    {
        var m = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 16, Heads = 2, DMlp = 24, Context = 8, Vocab = 20 }, 4);
        var rng = new Random(4);
        foreach (var (_, w) in m.Weights) for (int i = 0; i < w.Value.Length; i++) w.Value[i] += (float)(rng.NextDouble() - 0.5);
        return m;
    }

    /// <summary>
    /// Greedy generation redone without a cache: the window the model sees grows by one token per step; when one more
    /// token would overflow the context, it restarts from the last half-context of everything so far (prompt and generated).
    /// </summary>
    static List<int> GreedyByFullPasses(Transformer<float> model, int[] prompt, int count)
    {
        int ctx = model.Config.Context, vocab = model.Config.Vocab;
        var history = new List<int>(prompt);
        var window = prompt.Length > ctx ? prompt[^ctx..].ToList() : [.. prompt];
        var output = new List<int>();
        int pending = window.Count;
        int inCache = 0;
        for (int t = 0; t < count; t++)
        {
            if (inCache + pending > ctx) { window = history.Skip(Math.Max(0, history.Count - ctx / 2)).ToList(); pending = window.Count; inCache = 0; }
            var logits = model.Forward([.. window], 1, window.Count).Value.ToArray();
            var last = logits.AsSpan(logits.Length - vocab).ToArray();
            int next = Array.IndexOf(last, last.Max());
            inCache += pending;
            pending = 1;
            window.Add(next);
            history.Add(next);
            output.Add(next);
        }
        return output;
    }

    [Theory]
    [InlineData(new[] { 3, 1, 4 })]                          // fills the context of 8 and rebuilds twice
    [InlineData(new[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5 })] // a prompt longer than the context: only its last 8 tokens are read
    public void Generation_past_the_context_matches_full_passes_over_the_same_windows(int[] prompt)
    {
        var model = Model();
        var cached = Sampler.Generate(model, prompt, 14, new SamplingSettings(0f)).ToList();
        Assert.Equal(GreedyByFullPasses(model, prompt, 14), cached);
    }

    [Fact]
    public void Bad_prompts_and_settings_are_refused_before_any_token()
    {
        var model = Model();
        Assert.Equal("the prompt is empty", Assert.Throws<UserError>(() => Sampler.Generate(model, [], 3, new SamplingSettings(1f)).ToList()).Message);
        Assert.Equal("prompt token 20 is outside the model's vocabulary of 20",
            Assert.Throws<UserError>(() => Sampler.Generate(model, [1, 20], 3, new SamplingSettings(1f)).ToList()).Message);
        Assert.Equal("prompt token -1 is outside the model's vocabulary of 20",
            Assert.Throws<UserError>(() => Sampler.Generate(model, [-1], 3, new SamplingSettings(1f)).ToList()).Message);
        Assert.StartsWith("--top-k must be ≥ 0",
            Assert.Throws<UserError>(() => Sampler.Generate(model, [1], 3, new SamplingSettings(1f, -2)).ToList()).Message);
        Assert.Single(Sampler.Generate(model, [19], 1, new SamplingSettings(0f)));
    }
}
