using Mechanist.Autograd;
using Mechanist.Bench;
using Mechanist.Models;

namespace Mechanist.Tests.Bench;

/// <summary>
/// Every benchmark runs end to end at a tiny size and reports what it promises (the fields, their signs, the
/// contenders). Never a speed: these check that a bench works, not how fast anything is.
/// </summary>
[Collection("threads-alone")] // the benches set Parallelism.Threads
public class BenchSmokeTests
{
    static bool Finite(double x) => double.IsFinite(x) && x > 0;

    [Fact]
    public void Gemm_reports_every_form_with_its_ceiling_and_per_round_fraction()
    {
        var results = GemmBench.Run(threads: 1, repeats: 3, shapes: [(24, 16, 40)], sampleSeconds: 0.002);
        Assert.Equal(["A·B", "A·Bᵀ", "Aᵀ·B"], results.Select(r => r.Op));
        Assert.All(results, r =>
        {
            Assert.Equal("24x16x40", r.Shape);
            Assert.Equal(1, r.Threads);
            Assert.True(Finite(r.Gflops) && Finite(r.CeilingGflops) && Finite(r.Fraction), r.ToString());
            Assert.Null(r.PeerGflops);
            Assert.Null(r.RatioToPeer);
        });
    }

    [Fact]
    public void Gemm_samples_the_OpenBLAS_peer_in_its_rounds_when_numpy_is_there()
    {
        string script = Path.Combine(TestPaths.RepoRoot, "bench", "peers", "numpy_gemm.py");
        using var peer = NumpyGemmPeer.Start(script, 1, null);
        if (peer == null) return; // no numpy here: the plain run above still checks the bench
        var results = GemmBench.Run(threads: 1, repeats: 2, shapes: [(24, 16, 40)], peer: peer, sampleSeconds: 0.002);
        Assert.All(results, r => Assert.True(r.PeerGflops is double p && Finite(p) && r.RatioToPeer is double q && Finite(q), r.ToString()));
    }

    [Mechanist.Tests.Numerics.BFloat16Fact]
    public void Gemm_bf16_reports_every_form_against_fp32_with_and_without_rounding()
    {
        var results = BFloat16GemmBench.Run(threads: 1, repeats: 2, shapes: [(24, 16, 40)], sampleSeconds: 0.002);
        Assert.Equal(["A·B", "A·Bᵀ", "Aᵀ·B"], results.Select(r => r.Op));
        Assert.All(results, r => Assert.True(r.Shape == "24x16x40" && Finite(r.Fp32Gflops) && Finite(r.Bf16Gflops) &&
            Finite(r.Bf16RoundingGflops) && Finite(r.Ratio) && Finite(r.RatioWithRounding), r.ToString()));
    }

    [Mechanist.Tests.Numerics.BFloat16Fact]
    public void Precision_times_model_training_in_fp32_and_bf16()
    {
        var r = PrecisionBench.Model("micro", vocab: 64, batch: 2, steps: 1, rounds: 1);
        Assert.True(Finite(r.Fp32TokensPerSecond) && Finite(r.Bf16TokensPerSecond) && Finite(r.Ratio) && r.Rounds == 1, r.ToString());
    }

    [Fact]
    public void Curves_compare_runs_at_shared_steps_and_plot_them_all()
    {
        string a = TestPaths.NewTempDir("curves-a"), b = TestPaths.NewTempDir("curves-b");
        File.WriteAllLines(Path.Combine(a, Trainer.MetricsFile), ["{\"step\":1,\"loss\":4.0}", "{\"step\":2,\"loss\":3.0}", "{\"step\":2,\"val_loss\":2.0}"]);
        File.WriteAllLines(Path.Combine(b, Trainer.MetricsFile), ["{\"step\":1,\"loss\":4.0}", "{\"step\":2,\"loss\":3.0}", "{\"step\":2,\"val_loss\":2.1}"]);
        var runs = new[] { LossCurveComparison.Read("fp32", a), LossCurveComparison.Read("bf16", b) };
        var ratio = Assert.Single(LossCurveComparison.Ratios(runs));
        Assert.Equal(("bf16", "fp32"), (ratio.Label, ratio.Reference));
        Assert.Equal(1.05, ratio.FinalValidRatio, 1e-12);
        Assert.Equal(0.05, ratio.MaxValidDeviation, 1e-12);
        Assert.Equal(0, ratio.MaxSmoothedTrainDeviation, 1e-12);
        string svg = LossCurveComparison.Plot(runs, "t");
        Assert.Contains("fp32 validation", svg);
        Assert.Contains("bf16 train (smoothed)", svg);
        Assert.Contains("no metrics.jsonl", Assert.Throws<UserError>(() => LossCurveComparison.Read("x", TestPaths.NewTempDir("curves-none"))).Message);
    }

    [Fact]
    public void Tokenizer_contenders_give_the_same_ids_and_the_dotnet_peer_runs()
    {
        string dir = TestPaths.NewTempDir("bench-tokenizer");
        string text = Path.Combine(dir, "text.txt");
        File.WriteAllText(text, "Hello world, it's 2024! 👍 ünïcödé   spaces\n\nA second document: code(); x += 1;");
        var log = new StringWriter();
        var report = TokenizerBench.Run(new TokenizerBenchOptions
        {
            Tokenizer = TestPaths.Fixture("gpt2"), Text = [text], Repeats = 1, PeersDir = null,
        }, log, IProgressReporter.None);
        Assert.Equal(["mechanist, 1 thread", $"mechanist, {Mechanist.Numerics.Parallelism.Threads} threads", TokenizerBench.MlTokenizersName],
            report.Encoding.Select(r => r.Name).Distinct().ToArray());
        Assert.Single(report.Encoding.Select(r => (r.Tokens, r.IdsHash)).Distinct());
        Assert.All(report.Encoding, r => Assert.True(r.Tokens > 10 && r.Bytes > 50 && Finite(r.MegabytesPerSecond) && r.IdsHash.Length == 64, r.ToString()));
        Assert.Contains("the same", log.ToString());
        Assert.Null(report.Training);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Tokenizer_bench_fails_when_contenders_differ_in_count_or_ids()
    {
        var a = new TokenizerBenchResult("a", 1, 3, 10, TokenizerBench.HashIds([1, 2, 3]));
        TokenizerBench.RequireSameTokens([a, a with { Name = "b" }]);
        var fewer = new TokenizerBenchResult("fewer", 1, 2, 10, TokenizerBench.HashIds([1, 2]));
        var other = new TokenizerBenchResult("other ids", 1, 3, 10, TokenizerBench.HashIds([1, 2, 4]));
        Assert.Contains("fewer: 2 ids", Assert.Throws<InvalidOperationException>(() => TokenizerBench.RequireSameTokens([a, fewer])).Message);
        Assert.Contains("other ids: 3 ids", Assert.Throws<InvalidOperationException>(() => TokenizerBench.RequireSameTokens([a, other])).Message);
    }

    [Fact]
    public void Sae_bench_times_the_sparse_and_the_dense_phase_on_rotated_heavy_tailed_batches()
    {
        var results = SaeBench.Run(["relu", "relu-dense", "topk"], repeats: 1, seconds: 0.05, peerScript: null, dIn: 16, dSae: 64, batch: 32, reluL0: 4);
        Assert.Equal(["relu", "relu-dense", "topk"], results.Select(r => r.Kind));
        Assert.All(results, r =>
        {
            Assert.Equal((16, 64, 32), (r.DIn, r.DSae, r.Batch));
            Assert.True(Finite(r.TokensPerSecond) && Finite(r.GemmGflops) && Finite(r.FractionOfGemmLimit), r.ToString());
            Assert.Null(r.RatioToPeer);
        });
        Assert.InRange(results[0].L0, 1, 12);    // set to 4 per token
        Assert.InRange(results[1].L0, 20, 44);   // half of 64
        Assert.InRange(results[2].L0, 16, 32.001);  // top-32 (a kept latent below 0 counts as silent)
    }

    [Fact]
    public void Heavy_tailed_inputs_fire_a_few_features_often_and_most_rarely()
    {
        var inputs = HeavyTailedInputs.Make(dIn: 32, features: 4096, rows: 200, activePerRow: 32, seed: 1);
        Assert.Equal(32, inputs.Frequencies.Sum(), 1e-6);
        Assert.True(inputs.Frequencies[0] / inputs.Frequencies[^1] > 100, "Zipf: the most common feature is far more frequent than the rarest");
        Assert.Equal(1, Mechanist.Numerics.VectorMath.Dot<float>(inputs.Features.Row(7), inputs.Features.Row(7)), 1e-4);
        Assert.Contains(inputs.X.Span.ToArray(), v => v != 0);
    }

    [Fact]
    public void Model_bench_measures_training_tokens_per_second()
    {
        var config = ModelBench.Config("micro", vocab: 64, context: 8, matchPeer: true);
        Assert.Equal(Mechanist.Numerics.Kernels.Activation.Gelu, config.Activation);
        Assert.False(config.TiedEmbeddings);
        Assert.True(Finite(ModelBench.Measure(config, batch: 2, warmup: 1, steps: 2)));
    }

    [Fact]
    public void Model_bench_counts_the_flops_of_toy_1l_as_the_docs_do()
    {
        // 6 × (1.05 M head + 0.20 M block weights in products) + 6·d·(context + 1) for causal attention ≈ 7.67 M.
        var c = ModelBench.Config("toy-1l", vocab: 8192, context: null, matchPeer: true);
        Assert.Equal(6.0 * (8192 * 128 + 128 * 384 + 128 * 128 + 2 * 128 * 512) + 6.0 * 128 * 257, ModelBench.FlopsPerToken(c));
    }

    [Fact]
    public void Model_profile_charges_every_part_forward_and_backward_and_adds_up_to_the_steps()
    {
        var config = ModelBench.Config("micro", vocab: 64, context: 8, matchPeer: true);
        var profile = ModelBench.Profile(config, batch: 2, warmup: 1, steps: 2);
        foreach (var part in new[] { StepPart.Embedding, StepPart.LayerNorm, StepPart.Attention, StepPart.AttentionKernel, StepPart.Mlp, StepPart.UnembeddingLoss })
        {
            Assert.True(profile.Wall(part, backward: false) > 0, $"{part} forward");
            Assert.True(profile.Wall(part, backward: true) > 0, $"{part} backward");
        }
        Assert.True(profile.Wall(StepPart.Optimizer, backward: false) > 0);
        double sum = Enum.GetValues<StepPart>().Sum(p => profile.Wall(p, false) + profile.Wall(p, true));
        Assert.Equal(profile.TotalWall, sum, 9);
        Assert.Contains("unembedding + loss", StepProfileReport.Text(profile, 2, 2));
    }

    [Fact]
    public void Without_a_started_profiler_marks_and_tags_do_nothing()
    {
        Action backward = () => { };
        Assert.Same(backward, StepProfiler.Tag(backward));
        using (StepProfiler.Enter(StepPart.Attention)) { }
    }

    [Fact]
    public void Correlation_bench_times_both_paths_and_checks_them_against_the_definition()
    {
        var r = CorrelationBench.Run(latents: 64, tokens: 300, l0: 4, rounds: 2);
        Assert.Equal(64, r.Latents);
        Assert.Equal(2, r.Rounds);
        Assert.True(r.L0 is > 2 and < 6, $"L0 {r.L0}");
        Assert.True(Finite(r.SparseTokensPerSecond) && Finite(r.DenseTokensPerSecond) && Finite(r.Ratio));
        Assert.True(r.SparseError < 1e-9, $"sparse error {r.SparseError}");
        Assert.True(r.DenseError < 1e-4, $"dense error {r.DenseError}");
    }

    [Fact]
    public void Sparse_sweeps_densities_with_every_product_timed_both_ways()
    {
        var report = SparseBench.Run([(24, 40)], [1.0 / 2, 1.0 / 8], tokens: 70, rounds: 2, threads: 1, sampleSeconds: 0.001);
        var shape = Assert.Single(report.Shapes);
        Assert.Equal(("24x40", 70, 1), (shape.Shape, shape.Tokens, report.Threads));
        Assert.Equal([0.5, 0.125], shape.Rows.Select(r => r.Density));
        Assert.Equal([480, 120], shape.Rows.Select(r => r.NonZeros)); // exactly round(density · out · in) kept
        Assert.All(shape.Rows, r => Assert.True(new[] { r.DenseForwardMs, r.SparseForwardMs, r.DenseDxMs, r.SparseDxMs, r.DenseDwMs, r.SparseDwMs,
            r.ForwardRatio, r.DxRatio, r.DwRatio, r.StepRatioExact, r.StepRatioKeptOnly, r.DenseFractionOfCeiling, r.SparseForwardGflops }.All(Finite), r.ToString()));
        Assert.True(Finite(report.CeilingGflops) && report.LoadBefore.Length > 0);
    }

    [Fact]
    public void Sparse_crossover_is_interpolated_in_log_log_between_the_rows_that_straddle_one()
    {
        static SparseBenchRow Row(double density, double ratio) => new(density, 1, 1, 1, 1, 1, 1, 1, ratio, 1, 1, 1, 1, 1, 1);
        // ratio 2 at 1/8 and 1/2 at 1/4: the crossing is halfway in log density, 1/(4√2).
        Assert.Equal(1 / (4 * Math.Sqrt(2)), SparseBench.Crossover([Row(0.5, 0.3), Row(0.25, 0.5), Row(0.125, 2), Row(1.0 / 16, 4)], r => r.ForwardRatio)!.Value, 1e-12);
        Assert.Null(SparseBench.Crossover([Row(0.5, 0.3), Row(0.125, 0.9)], r => r.ForwardRatio));      // never wins
        Assert.Equal(0.5, SparseBench.Crossover([Row(0.5, 1.3), Row(0.125, 3)], r => r.ForwardRatio)); // wins at every swept density
    }

    [Fact]
    public void Sparse_training_times_dense_training_and_sparse_training_on_both_kernels()
    {
        var r = SparseTrainingBench.Run("sparse-micro", vocab: 64, density: 1.0 / 32, batch: 2, steps: 1, rounds: 2);
        Assert.Equal(("sparse-micro", 2, 2), (r.Preset, r.Batch, r.Rounds));
        Assert.True(new[] { r.DenseTokensPerSecond, r.SparseGemmTokensPerSecond, r.SparseKernelTokensPerSecond, r.GemmRatio, r.KernelRatio, r.KernelOverGemm }.All(Finite), r.ToString());
        Assert.True(r.LoadBefore.Length > 0 && r.LoadAfter.Length > 0);
    }
}
