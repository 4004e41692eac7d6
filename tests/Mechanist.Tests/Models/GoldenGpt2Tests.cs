using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Xunit.Abstractions;

namespace Mechanist.Tests.Models;

/// <summary>
/// Golden files from an independent implementation: tests/fixtures/gpt2-tiny/ holds tiny random GPT-2s in
/// Hugging Face's GPT2LMHeadModel layout and the logits, losses, hook values, gradients and AdamW updates that
/// a float64 PyTorch transcription of HF's GPT-2 computes for them (scripts/crosscheck/make_gpt2_golden.py).
/// standard: F32, transformer.-prefixed keys, F32 mask buffers. crfm-f16: F16 storage, keys without the
/// prefix (as the hub's gpt2 file), BOOL mask buffers, scale_attn_by_inverse_layer_idx (Stanford CRFM).
/// Both: 2 layers, d_model 24, 4 heads, n_inner null (→ 96), context 32, vocab 64, gelu_new, non-trivial LN.
/// </summary>
public class GoldenGpt2Tests(ITestOutputHelper output)
{
    // Tolerances. Mechanist runs in float32 against a float64 reference. Logits reach |10|; the measured max
    // |Δlogit| is 3.5e-6 (standard) and 3.0e-6 (crfm-f16). Logits and losses must agree within 1e-5 × the
    // largest |logit| (≈ 1e-4): ~30× the measured error, yet below what a plausible slip produces in this model
    // (erf GELU instead of gelu_new: 1.9e-3; LayerNorm ε 1e-6 instead of 1e-5: 2.9e-4; CRFM layer scaling: 1.5).
    const double LogitTolerance = 1e-5;
    // Gradients (float32 backward of a loss ≈ 7): norms and ±1 projections within 1e-4 of the tensor's norm
    // (measured 1.4e-6).
    const double GradientTolerance = 1e-4;
    // AdamW updates are ~lr = 1e-3 per entry and after − before in float32 loses ~1e-7 of |w|, ~1e-4 of the
    // update (measured 7.7e-5 of the update's norm): 1e-3.
    const double UpdateTolerance = 1e-3;

    static string Fixture(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "gpt2-tiny", name);

    static JsonObject Expected(string name) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(name), "expected.json")))!;

    static double[] Doubles(JsonNode? node) => Flatten(node).ToArray();

    static IEnumerable<double> Flatten(JsonNode? node) => node switch
    {
        JsonArray a => a.SelectMany(Flatten),
        JsonValue v => [v.GetValue<double>()],
        _ => throw new InvalidDataException("expected numbers"),
    };

    static int[] Ints(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<int>()).ToArray();

    static double MaxAbsDiff(ReadOnlySpan<float> actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        return max;
    }

    [Theory]
    [InlineData("standard", false)]
    [InlineData("crfm-f16", true)]
    public void Imported_model_gives_the_reference_logits_losses_and_hooks(string fixture, bool crfm)
    {
        var model = ModelFiles.Load(Fixture(fixture));
        var c = model.Config;
        Assert.Equal((2, 24, 4, 96, 32, 64), (c.Layers, c.DModel, c.Heads, c.DMlp, c.Context, c.Vocab));
        Assert.Equal(Activation.GeluNew, c.Activation);
        Assert.True(c.TiedEmbeddings);
        Assert.Equal(crfm, c.ScaleAttnByInverseLayerIdx);
        Assert.Equal(1e-5f, c.LayerNormEps);

        var expected = Expected(fixture);
        var sequences = expected["sequences"]!.AsArray();
        double worstLogit = 0, worstLoss = 0;
        for (int s = 0; s < sequences.Count; s++)
        {
            int[] tokens = Ints(sequences[s]);
            double[] want = Doubles(expected["logits"]![s]);
            double scale = want.Max(Math.Abs);
            var logits = model.Forward(tokens, 1, tokens.Length).Value;
            Assert.Equal([1, tokens.Length, 64], logits.Shape);
            double diff = MaxAbsDiff(logits.Span, want);
            worstLogit = Math.Max(worstLogit, diff);
            Assert.True(diff <= LogitTolerance * scale, $"sequence {s} (length {tokens.Length}): max |Δlogit| {diff:E2} > {LogitTolerance * scale:E2}");
            if (tokens.Length < 2) continue;

            var perToken = new float[tokens.Length - 1];
            float mean = model.Loss(tokens, 1, perToken: perToken).Value[0];
            double lossDiff = MaxAbsDiff(perToken, Doubles(expected["loss_per_position"]![s]));
            lossDiff = Math.Max(lossDiff, Math.Abs(mean - expected["mean_loss"]![s]!.GetValue<double>()));
            worstLoss = Math.Max(worstLoss, lossDiff);
            Assert.True(lossDiff <= LogitTolerance * scale, $"sequence {s}: max |Δloss| {lossDiff:E2}");
        }

        var hooks = expected["hooks"]!;
        int[] hooked = Ints(sequences[hooks["sequence"]!.GetValue<int>()]);
        var (_, cache) = model.RunWithCache(hooked, 1, hooked.Length, [HookPoint.MlpPost(0), HookPoint.Pattern(1)]);
        var post = cache[HookPoint.MlpPost(0)];
        Assert.Equal([1, hooked.Length, 96], post.Shape);
        double postMean = post.ToArray().Average(x => (double)x);
        double postDiff = Math.Max(Math.Abs(postMean - hooks["blocks.0.mlp.hook_post.mean"]!.GetValue<double>()),
            MaxAbsDiff(post.Row(hooked.Length - 1), Doubles(hooks["blocks.0.mlp.hook_post.row_last"])));
        var pattern = cache[HookPoint.Pattern(1)];
        Assert.Equal([1, 4, hooked.Length, hooked.Length], pattern.Shape); // [batch, head, query, key]
        double patternDiff = MaxAbsDiff(pattern.Span, Doubles(hooks["blocks.1.attn.hook_pattern"]));
        Assert.True(postDiff <= 1e-5, $"blocks.0.mlp.hook_post: max |Δ| {postDiff:E2}");
        Assert.True(patternDiff <= 1e-6, $"blocks.1.attn.hook_pattern: max |Δ| {patternDiff:E2}");
        output.WriteLine($"{fixture}: max |Δlogit| {worstLogit:E2}, |Δloss| {worstLoss:E2}, hook_post {postDiff:E2}, pattern {patternDiff:E2}");
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("crfm-f16")]
    public void Exporting_the_imported_model_writes_the_fixture_tensors_bit_for_bit(string fixture)
    {
        string source = Fixture(fixture);
        var model = ModelFiles.Load(source);
        string dir = TestPaths.NewTempDir();
        ModelFiles.ExportHuggingFace(model, dir);

        using var original = SafeTensorsFile.Open(Path.Combine(source, ModelFiles.WeightsFile));
        using var exported = SafeTensorsFile.Open(Path.Combine(dir, ModelFiles.WeightsFile));
        static bool Buffer(string name) => name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias");
        static string Canonical(string name) => name.StartsWith("transformer.") ? name : "transformer." + name;
        var weights = original.Names.Where(n => !Buffer(n)).ToList();
        // Same tensor set under GPT2LMHeadModel names; mask buffers dropped; tied lm_head not written.
        Assert.Equal(weights.Select(Canonical).Order(StringComparer.Ordinal), exported.Names.Order(StringComparer.Ordinal));
        Assert.False(exported.Contains("lm_head.weight"));
        foreach (string name in weights)
        {
            var want = original.Info(name);
            var got = exported.Info(Canonical(name));
            Assert.Equal(want.Shape, got.Shape);
            Assert.Equal(DType.F32, got.DType);
            if (want.DType == DType.F32)
                Assert.True(original.RawSpan(name).SequenceEqual(exported.RawSpan(got.Name)), $"{name}: bytes differ");
            else
            {
                // F16 is widened exactly: every exported float equals its half, bit for bit.
                Assert.Equal(DType.F16, want.DType);
                var halves = original.ReadArray<Half>(name);
                var floats = exported.ReadArray<float>(got.Name);
                for (int i = 0; i < halves.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits((float)halves[i]) == BitConverter.SingleToInt32Bits(floats[i]), $"{name}[{i}]");
            }
        }

        var cfgIn = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(source, ModelFiles.ConfigFile)))!;
        var cfgOut = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFiles.ConfigFile)))!;
        foreach (string key in new[] { "model_type", "n_layer", "n_embd", "n_head", "n_positions", "vocab_size", "activation_function", "scale_attn_by_inverse_layer_idx" })
            Assert.True(JsonNode.DeepEquals(cfgIn[key], cfgOut[key]), $"config.json {key}: {cfgIn[key]?.ToJsonString()} → {cfgOut[key]?.ToJsonString()}");
        Assert.Equal(96, cfgOut["n_inner"]!.GetValue<int>()); // null in the fixture means 4·n_embd
        Assert.Equal(1e-5, cfgOut["layer_norm_epsilon"]!.GetValue<double>(), 1e-12);
        Assert.True(cfgOut["tie_word_embeddings"]?.GetValue<bool>() ?? true);
        Assert.Equal(model.Forward([1, 2, 3], 1, 3).Value.ToArray(), ModelFiles.Load(dir).Forward([1, 2, 3], 1, 3).Value.ToArray());
    }

    /// <summary>A copy of a fixture folder with config.json keys changed.</summary>
    static string WithConfig(string fixture, Action<JsonObject> change)
    {
        string dir = TestPaths.NewTempDir();
        foreach (string file in Directory.GetFiles(Fixture(fixture))) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        string path = Path.Combine(dir, ModelFiles.ConfigFile);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        change(json);
        File.WriteAllText(path, json.ToJsonString());
        return dir;
    }

    [Fact]
    public void The_logit_tolerance_tells_gelu_new_from_erf_gelu()
    {
        // The check has teeth: the same weights with the exact (erf) GELU miss the gelu_new reference by far more.
        var model = ModelFiles.Load(WithConfig("standard", c => c["activation_function"] = "gelu"));
        var expected = Expected("standard");
        int[] tokens = Ints(expected["sequences"]![2]);
        double[] want = Doubles(expected["logits"]![2]);
        double diff = MaxAbsDiff(model.Forward(tokens, 1, tokens.Length).Value.Span, want);
        Assert.True(diff > 10 * LogitTolerance * want.Max(Math.Abs), $"erf GELU differs by only {diff:E2}");
    }

    [Fact]
    public void A_config_without_attention_scaling_is_rejected_not_silently_scaled()
    {
        // HF GPT2Attention divides scores by √d_head only when scale_attn_weights (default true). Mechanist always
        // divides, so such a checkpoint must be refused (or supported), never run with the wrong scores.
        string dir = WithConfig("standard", c => c["scale_attn_weights"] = false);
        var error = Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir));
        Assert.Equal("scale_attn_weights", error.Field);
    }

    /// <summary>Fixed ±1 vectors the generator uses to summarise whole tensors in two numbers (bit 7 of a hash).</summary>
    static double Projection(ReadOnlySpan<float> x, int r)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += ((((long)i * 2654435761L + r * 40503L) >> 7) & 1) == 1 ? x[i] : -x[i];
        return sum;
    }

    static double L2(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>Largest deviation of a tensor's norm and projections from the reference summary, relative to its norm.</summary>
    static double SummaryDiff(ReadOnlySpan<float> x, JsonNode summary)
    {
        double l2 = summary["l2"]!.GetValue<double>();
        double[] proj = Doubles(summary["proj"]);
        double diff = Math.Abs(L2(x) - l2);
        for (int r = 0; r < proj.Length; r++) diff = Math.Max(diff, Math.Abs(Projection(x, r) - proj[r]));
        return l2 == 0 ? diff : diff / l2;
    }

    [Fact]
    public void Backward_pass_and_two_AdamW_steps_match_torch()
    {
        var model = ModelFiles.Load(Fixture("standard"));
        var t = Expected("standard")["training"]!;
        int batch = t["batch"]!.GetValue<int>();
        var windows = t["windows"]!.AsArray().Select(Ints).ToArray();
        var parameters = model.Parameters;
        var before = parameters.ToDictionary(p => p.Name, p => p.Value.ToArray());

        // Gradients of the first batch's mean loss, before clipping.
        foreach (var p in parameters) p.ZeroGrad();
        using (var tape = Tape.Start()) tape.Backward(model.Loss(windows[0], batch));
        double worstGrad = 0;
        foreach (var p in parameters)
        {
            double d = SummaryDiff(p.Grad.Span, t["gradients"]![p.Name]!);
            worstGrad = Math.Max(worstGrad, d);
            Assert.True(d <= GradientTolerance, $"∂loss/∂{p.Name}: relative deviation {d:E2}");
        }
        // The key bias's gradient is zero in exact arithmetic (q·b_k shifts every score of a row alike).
        foreach (var block in model.Blocks)
        {
            var g = block.AttnBias.Parameter!.Grad.Span;
            double keyBias = 0;
            for (int i = 24; i < 48; i++) keyBias = Math.Max(keyBias, Math.Abs(g[i]));
            Assert.True(keyBias <= 1e-6 * L2(g), $"key-bias gradient {keyBias:E2} should be rounding noise");
        }
        foreach (var (name, want) in t["gradients_full"]!.AsObject())
        {
            var g = parameters.Single(p => p.Name == name).Grad.Span;
            double d = MaxAbsDiff(g, Doubles(want)) / Math.Max(1e-12, Doubles(want).Max(Math.Abs));
            Assert.True(d <= GradientTolerance, $"∂loss/∂{name}: max relative deviation {d:E2}");
        }

        // Two AdamW steps (torch defaults, decay on matrices and embeddings only) with global-norm clipping.
        var optimizer = new AdamW(parameters, t["lr"]!.GetValue<float>(), 0.9f, 0.999f, 1e-8f, t["weight_decay"]!.GetValue<float>());
        var step = new TrainingStep(model, optimizer, new LearningRateSchedule(0, windows.Length, DecayShape.Constant),
            t["lr"]!.GetValue<float>(), t["clip_norm"]!.GetValue<float>());
        for (int s = 0; s < windows.Length; s++)
        {
            var (loss, norm, _) = step.Run(windows[s], batch, s);
            Assert.Equal(t["losses"]![s]!.GetValue<double>(), loss, 1e-4);
            Assert.Equal(t["grad_norms"]![s]!.GetValue<double>(), norm, 1e-4);
        }
        double worstUpdate = 0;
        foreach (var p in parameters)
        {
            var update = p.Value.ToArray();
            var old = before[p.Name];
            for (int i = 0; i < update.Length; i++) update[i] -= old[i];
            // Adam turns the key bias's zero-in-exact-arithmetic gradient into ±lr noise; the generator zeroes it too.
            if (p.Name.EndsWith("attn.c_attn.bias")) update.AsSpan(24, 24).Clear();
            double d = SummaryDiff(update, t["updates"]![p.Name]!);
            worstUpdate = Math.Max(worstUpdate, d);
            Assert.True(d <= UpdateTolerance, $"update of {p.Name}: relative deviation {d:E2}");
            if (t["updates_full"]![p.Name] is { } full)
            {
                double e = MaxAbsDiff(update, Doubles(full));
                Assert.True(e <= 1e-6, $"update of {p.Name}: max |Δ| {e:E2} (updates are ~1e-3)");
            }
        }
        output.WriteLine($"training: gradients {worstGrad:E2}, updates {worstUpdate:E2} (relative to the tensor's norm)");
    }
}

/// <summary>`mechanist model import-hf` on the golden F16 checkpoint: the imported folder gives the reference logits.</summary>
[Collection("console-alone")]
public class GoldenGpt2CommandTests
{
    [Fact]
    public void Import_hf_from_the_command_line_gives_the_reference_logits()
    {
        string source = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "gpt2-tiny", "crfm-f16");
        string imported = Path.Combine(TestPaths.NewTempDir(), "model");
        var root = new System.CommandLine.RootCommand();
        root.Subcommands.Add(Mechanist.Cli.Commands.ModelCommands.Create());
        var saved = Console.Out;
        Console.SetOut(new StringWriter());
        int code;
        try { code = Mechanist.Cli.CommandLine.Run(root, ["model", "import-hf", "--from", source, "--out", imported], new StringWriter()); }
        finally { Console.SetOut(saved); }
        Assert.Equal(0, code);

        var expected = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(source, "expected.json")))!;
        int[] tokens = expected["sequences"]![2]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        double[] want = expected["logits"]![2]!.AsArray().SelectMany(r => r!.AsArray().Select(v => v!.GetValue<double>())).ToArray();
        var model = ModelFiles.Load(imported);
        Assert.True(model.Config.ScaleAttnByInverseLayerIdx);
        var logits = model.Forward(tokens, 1, tokens.Length).Value.ToArray();
        double diff = want.Select((w, i) => Math.Abs(w - logits[i])).Max();
        Assert.True(diff <= 1e-5 * want.Max(Math.Abs), $"max |Δlogit| {diff:E2}");
    }
}
