using System.Text.Json.Nodes;
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
    [InlineData(0.5f, false)] // AbsTopK at all 8 sites
    [InlineData(0.5f, true)]  // and at the two post-block residual sites
    [InlineData(0f, false)]   // RMSNorm, sink, bigram, untied, no positions: the dense baseline's ops
    public void Whole_model_backward_matches_finite_differences_in_float64(float afrac, bool residual)
    {
        var c = Small(afrac) with { Context = 4, Vocab = 7 };
        if (residual) c = c with { ActivationSites = SparsitySites.All | SparsitySites.Residual };
        var m = Randomised<double>(c, 3);
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
    public void Post_block_residual_sites_keep_the_top_values_of_the_residual_stream_that_the_next_readers_see()
    {
        var dense = Randomised<float>(Small(), 8);
        var sparse = Transformer<float>.Create(dense.Config with { ActivationSites = SparsitySites.All | SparsitySites.Residual }, 0);
        foreach (var (name, w) in dense.Weights) w.Value.Span.CopyTo(sparse.Weights.First(x => x.Name == name).Weight.Value.Span);
        int[] tokens = [1, 2, 3, 4, 5, 6];
        var (_, cache) = sparse.RunWithCache(tokens, 1, 6, sparse.Config.HookPoints());
        for (int layer = 0; layer < 2; layer++)
        {
            // resid_post_attn: AbsTopK(resid_pre + attn_out), seen by hook_resid_mid; resid_post_mlp: AbsTopK(resid_mid + mlp_out).
            var mid = cache[HookPoint.ResidMid(layer)].ToArray();
            var post = cache[HookPoint.ResidPost(layer)].ToArray();
            var pre = cache[HookPoint.ResidPre(layer)].ToArray();
            var attnOut = cache[HookPoint.AttnOut(layer)].ToArray();
            var mlpOut = cache[HookPoint.MlpOut(layer)].ToArray();
            for (int p = 0; p < 6; p++)
            {
                Assert.Equal(TopAbs(Enumerable.Range(0, 8).Select(i => pre[p * 8 + i] + attnOut[p * 8 + i]).ToArray(), 4), mid.Skip(p * 8).Take(8).ToArray());
                Assert.Equal(TopAbs(Enumerable.Range(0, 8).Select(i => mid[p * 8 + i] + mlpOut[p * 8 + i]).ToArray(), 4), post.Skip(p * 8).Take(8).ToArray());
            }
            if (layer == 0) Assert.Equal(post, cache[HookPoint.ResidPre(1)].ToArray());
        }
        // The option changes the model (and only it: the same weights without it give the eight-site model's logits).
        Assert.NotEqual(dense.Forward(tokens, 1, 6).Value.ToArray(), sparse.Forward(tokens, 1, 6).Value.ToArray());
        Assert.False(cache[HookPoint.ResidMid(0)].ToArray().All(v => v != 0));
    }

    /// <summary>Keeps the <paramref name="k"/> entries of largest |x| (ties to the lower index), zeroes the rest.</summary>
    static float[] TopAbs(float[] x, int k)
    {
        var keep = Enumerable.Range(0, x.Length).OrderByDescending(i => Math.Abs(x[i])).ThenBy(i => i).Take(k).ToHashSet();
        return x.Select((v, i) => keep.Contains(i) ? v : 0f).ToArray();
    }

    [Fact]
    public void Residual_sites_round_trip_through_config_json_and_configs_without_them_load_as_before()
    {
        var c = Small() with { ActivationSites = SparsitySites.All | SparsitySites.Residual };
        var json = c.ToJson();
        Assert.Equal(["attn_in", "attn_q", "attn_k", "attn_v", "attn_out", "mlp_in", "mlp_neuron", "mlp_out", "resid_post_attn", "resid_post_mlp"],
            json["mechanist_afrac_sites"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(c, TransformerConfig.FromJson(JsonNode.Parse(json.ToJsonString())!.AsObject(), "config.json"));
        // A sparse-micro config.json as written before the residual sites existed reads as it did: the eight sites.
        const string saved = """
            {"architectures":["MechanistSparseGPT"],"model_type":"gpt2","n_layer":1,"n_embd":32,"n_head":4,"n_inner":64,"n_positions":32,
             "n_ctx":32,"vocab_size":2048,"activation_function":"gelu","layer_norm_epsilon":1E-05,"scale_attn_by_inverse_layer_idx":false,
             "tie_word_embeddings":false,"resid_pdrop":0,"embd_pdrop":0,"attn_pdrop":0,"mechanist_attn_only":false,"mechanist_norm":"rmsnorm",
             "mechanist_bigram":true,"mechanist_attn_sink":true,"mechanist_positions":false,"mechanist_afrac":0.25,
             "mechanist_afrac_sites":["attn_in","attn_q","attn_k","attn_v","attn_out","mlp_in","mlp_neuron","mlp_out"]}
            """;
        Assert.Equal(TransformerConfig.Preset("sparse-micro", 2048), TransformerConfig.FromJson(JsonNode.Parse(saved)!.AsObject(), "config.json"));
        Assert.DoesNotContain("resid_post", TransformerConfig.Preset("sparse-2l", 2048).ToJson().ToJsonString());
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
