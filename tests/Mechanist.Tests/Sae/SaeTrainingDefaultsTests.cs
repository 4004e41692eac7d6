using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>Defaults that must fit the run they are used in (issue 13, "SAE defaults on short runs").</summary>
public class SaeTrainingDefaultsTests
{
    [Theory]
    [InlineData(5_000_000, 500_000)]     // the 5 M-token run: a 10 M window never counted a latent dead
    [InlineData(1_000_000_000, 10_000_000)] // long runs keep Gao et al.'s 10 M
    [InlineData(10_000, 4096)]           // at least one batch
    public void The_dead_window_is_a_tenth_of_the_run_at_most_10M(long runTokens, long window) =>
        Assert.Equal(window, new SaeTrainingOptions { BatchSize = 4096 }.DeadWindow(runTokens));

    [Fact]
    public void A_given_dead_window_is_kept() =>
        Assert.Equal(123_456, new SaeTrainingOptions { DeadWindowTokens = 123_456 }.DeadWindow(5_000_000));

    [Fact]
    public void AuxK_is_on_by_default_for_topk_and_batchtopk_with_half_the_input_width()
    {
        var o = new SaeTrainingOptions();
        Assert.Equal(1.0 / 32, o.AuxAlpha);
        foreach (var arch in new[] { SaeArchitecture.TopK, SaeArchitecture.BatchTopK })
        {
            var run = new SaeTrainingRun("r", new SparseAutoencoder(arch, 64, 256, 8), o with { Architecture = arch }, 0, 1e-3);
            Assert.Equal(32, run.Settings.KAux);
        }
    }

    [Theory]
    [InlineData(16384, 10_000, 2e-4)]   // long runs: sparsify's 2e-4/√(m/2¹⁴)
    [InlineData(4096, 5_000, 4e-4)]     // from 5,000 steps on the run length no longer counts
    [InlineData(1024, 1_000_000, 8e-4)]
    [InlineData(1024, 1_000, 4e-3)]     // shorter: ∝ 1/steps
    [InlineData(1024, 500, 8e-3)]
    [InlineData(4096, 500, 4e-3)]       // four times the width: half the rate
    [InlineData(1024, 100, 0.016)]      // capped
    [InlineData(64, 64, 0.016)]
    public void The_default_learning_rate_falls_with_the_square_root_of_the_width_and_with_the_run_length(int width, long steps, double lr)
    {
        Assert.Equal(lr, SaeTrainingOptions.DefaultLearningRate(width, steps), 1e-12);
        Assert.Equal(lr, new SaeTrainingOptions().LearningRateFor(width, steps), 1e-12);
        Assert.Equal(3e-3, new SaeTrainingOptions { LearningRate = 3e-3 }.LearningRateFor(width, steps));
    }

    [Fact]
    public void The_default_rate_is_resolved_for_each_SAE_and_saved_and_logged()
    {
        string dir = TestPaths.NewTempDir(), data = Path.Combine(dir, "x.npy");
        SyntheticData.Write(new SyntheticOptions { D = 16, Features = 40, L0 = 3, Rows = 1200, Seed = 4 }, data, false);
        var o = new SaeTrainingOptions { Widths = [32, 128], Ks = [4], BatchSize = 100, Tokens = 1000, HoldoutRows = 200, WarmupSteps = 1, DecayFraction = 0, LogEverySteps = 1 };
        IReadOnlyList<SaeTrainingResult> results;
        using (var source = ActivationSource.Open(data)) results = SaeTrainer.Train(source, o, Path.Combine(dir, "run"), IProgressReporter.None);
        var log = JsonNode.Parse(File.ReadLines(Path.Combine(dir, "run", SaeTrainer.LogFile)).Last())!;
        foreach (var (r, width) in results.Zip(new[] { 32, 128 }))
        {
            double expected = SaeTrainingOptions.DefaultLearningRate(width, 10);
            Assert.Equal(expected, r.LearningRate);
            var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(r.Directory, "cfg.json")))!["mechanist"]!;
            Assert.Equal(expected, cfg["lr"]!.GetValue<double>());
            Assert.Equal(0, cfg["training"]!["lr"]!.GetValue<double>()); // what was asked: the default
            Assert.Equal((float)expected, log["saes"]![r.Name]!["lr"]!.GetValue<float>());
        }
    }
}
