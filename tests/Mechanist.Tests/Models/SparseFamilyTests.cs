using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

/// <summary>The weight-sparse model family (docs/METHODS.md §6.1) in the one Transformer: gradients, files, hooks, generation.</summary>
public class SparseFamilyTests
{
    /// <summary>2 layers, d 8, 2 heads, MLP 12, vocab 11, every switch of the family on; afrac 0.5 so AbsTopK keeps 4 of 8.</summary>
    static TransformerConfig Small(float afrac = 0.5f) => TransformerConfig.SparseFamily(new() { Layers = 2, DModel = 8, Heads = 2, DMlp = 12, Context = 6, Vocab = 11 })
        with { ActivationFraction = afrac };

    static Transformer<T> Randomised<T>(TransformerConfig c, int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var m = Transformer<T>.Create(c, (ulong)seed);
        var rng = new Random(seed);
        foreach (var (_, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] += T.CreateTruncating(rng.NextDouble() * 0.8 - 0.4);
        return m;
    }

    [Theory]
    [InlineData(0.5f)] // AbsTopK at all 8 sites
    [InlineData(0f)]   // RMSNorm, sink, bigram, untied, no positions: the dense baseline's ops
    public void Whole_model_backward_matches_finite_differences_in_float64(float afrac)
    {
        var m = Randomised<double>(Small(afrac) with { Context = 4, Vocab = 7 }, 3);
        int[] windows = [1, 2, 3, 4, 5, 6, 0, 2, 2, 1];
        using (var tape = Tape.Start()) tape.Backward(m.Loss(windows, 2));
        const double h = 1e-6;
        foreach (var (name, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++)
            {
                double old = w.Value[i], plus, minus;
                using (Tape.NoGrad())
                {
                    w.Value[i] = old + h; plus = m.Loss(windows, 2).Value[0];
                    w.Value[i] = old - h; minus = m.Loss(windows, 2).Value[0];
                }
                w.Value[i] = old;
                double numeric = (plus - minus) / (2 * h), analytic = w.Grad?[i] ?? 0;
                double error = Math.Abs(analytic - numeric) / Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), 1e-3);
                Assert.True(error <= 1e-5, $"{name}[{i}]: analytic {analytic} numeric {numeric}");
            }
    }

    [Fact]
    public void Weights_are_named_and_counted_as_the_config_says()
    {
        var m = Transformer<float>.Create(Small(), 1);
        var names = m.Weights.Select(w => w.Name).ToList();
        Assert.Contains("bigram.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.Contains("transformer.h.1.attn.sink", names);
        Assert.DoesNotContain("transformer.wpe.weight", names);
        Assert.DoesNotContain("transformer.h.0.ln_1.bias", names);
        Assert.DoesNotContain("transformer.ln_f.bias", names);
        Assert.All(m.Parameters, p => Assert.Equal(p.Name != "bigram.weight", p.WeightDecay));
        foreach (var c in new[] { Small(), TransformerConfig.Preset("sparse-2l", 2048), TransformerConfig.Preset("tiny-2l", 300), new TransformerConfig { AttentionOnly = true, Vocab = 50 } })
            Assert.Equal(c.ParameterCount(), Transformer<float>.Create(c, 0).Weights.Sum(w => (long)w.Weight.Value.Length));
    }

    [Fact]
    public void Config_and_weights_round_trip_through_the_model_folder()
    {
        var m = Randomised<float>(Small(), 4);
        string dir = TestPaths.NewTempDir();
        try
        {
            ModelFiles.Save(m, dir);
            var loaded = ModelFiles.Load(dir);
            Assert.Equal(m.Config, loaded.Config);
            Assert.False(loaded.Config.IsGpt2);
            int[] tokens = [1, 2, 3, 4, 5, 6];
            Assert.Equal(m.Forward(tokens, 1, 6).Value.ToArray(), loaded.Forward(tokens, 1, 6).Value.ToArray());
            var error = Assert.Throws<UserError>(() => ModelFiles.ExportHuggingFace(loaded, Path.Combine(dir, "hf")));
            Assert.Contains("no GPT2LMHeadModel equivalent", error.Message);
            File.WriteAllText(Path.Combine(dir, ModelFiles.ConfigFile),
                File.ReadAllText(Path.Combine(dir, ModelFiles.ConfigFile)).Replace("\"attn_k\"", "\"attn_x\""));
            var bad = Assert.Throws<DataFormatError>(() => ModelFiles.ReadConfig(dir));
            Assert.Equal("mechanist_afrac_sites", bad.Field);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Hook_points_see_the_sparsified_channels_the_next_matrix_reads()
    {
        var m = Randomised<float>(Small(), 5);
        var points = m.Config.HookPoints();
        Assert.DoesNotContain(HookPoint.PosEmbed, points);
        int[] tokens = [1, 2, 3, 4, 5, 6];
        var (logits, cache) = m.RunWithCache(tokens, 1, 6, points);
        foreach (var (point, width) in new[] { (HookPoint.Normalized(0, 1), 8), (HookPoint.Q(1), 8), (HookPoint.V(0), 8), (HookPoint.AttnOut(0), 8),
                     (HookPoint.Normalized(1, 2), 8), (HookPoint.MlpPost(0), 12), (HookPoint.MlpOut(1), 8) })
        {
            var values = cache[point].ToArray();
            int keep = (int)(0.5f * width);
            for (int p = 0; p < 6; p++) Assert.True(values.Skip(p * width).Take(width).Count(v => v != 0) <= keep, $"{point} position {p}");
        }
        // A hook that returns what it got changes nothing; the pattern leaves mass on the sink (rows sum below 1).
        Assert.Equal(m.Forward(tokens, 1, 6).Value.ToArray(), logits.Value.ToArray());
        var pattern = cache[HookPoint.Pattern(0)];
        for (int row = 0; row < 2 * 6; row++) Assert.InRange(pattern.Row(row).ToArray().Sum(), 0.01f, 0.9999f);
        // Ablating every channel the MLP of layer 0 reads leaves only its biases' effect: the same as zeroing its input weights.
        var ablated = m.Forward(tokens, 1, 6, new Hooks<float>().Ablate(HookPoint.Normalized(0, 2), Enumerable.Range(0, 8).ToArray())).Value.ToArray();
        m.Blocks[0].MlpInWeight!.Value.Clear();
        Assert.Equal(m.Forward(tokens, 1, 6).Value.ToArray(), ablated);
    }

    [Fact]
    public void Loss_equals_the_cross_entropy_of_the_logits_with_the_bigram_row_added()
    {
        var m = Randomised<float>(Small(), 6);
        int[] windows = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];
        var (inputs, targets) = Transformer<float>.SplitWindows(windows, 2, 6);
        var logits = m.Forward(inputs, 2, 6);
        float expected = Ops.CrossEntropy(logits, targets, -1).Value[0];
        Assert.Equal(expected, m.Loss(windows, 2).Value[0], 4);
        // And the bigram really is in the logits: zeroing it changes them by exactly the table's rows.
        var table = m.Bigram!.Value.Clone();
        m.Bigram.Value.Clear();
        var without = m.Forward(inputs, 2, 6).Value;
        for (int r = 0; r < inputs.Length; r++)
            for (int v = 0; v < 11; v++)
                Assert.Equal(logits.Value[r * 11 + v] - without[r * 11 + v], table[inputs[r] * 11 + v], 4);
    }

    [Fact]
    public void Cached_generation_gives_the_logits_of_the_full_pass()
    {
        var m = Randomised<float>(Small(), 7);
        int[] tokens = [1, 7, 3, 9, 2, 4];
        var full = m.Forward(tokens, 1, 6).Value;
        var cache = new KvCache<float>(m.Config);
        m.Forward(tokens[..4], 1, 4, cache: cache);
        var next = m.Forward(tokens[4..], 1, 2, cache: cache, lastPositionOnly: true).Value;
        for (int v = 0; v < 11; v++) Assert.Equal(full[5 * 11 + v], next[v], 4);
    }
}
