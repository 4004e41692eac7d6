using Mechanist.Activations;
using Mechanist.Sae;
using Xunit.Abstractions;

namespace Mechanist.Tests.Dictionary;

/// <summary>The bar from the issue: on d=64, 256 true features, L0=5, relu, topk and gated SAEs recover ≥ 90 % at cosine ≥ 0.9.</summary>
public class SyntheticRecoveryTests(ITestOutputHelper output)
{
    static string MakeData(string dir, long rows = 30_000)
    {
        string path = Path.Combine(dir, "synth.npy");
        SyntheticData.Write(new SyntheticOptions { D = 64, Features = 256, L0 = 5, Rows = rows, Seed = 7 }, path, overwrite: false);
        return path;
    }

    (double mmcs, double recovered, SaeMetrics metrics) TrainAndScore(SaeTrainingOptions o)
    {
        string dir = TestPaths.NewTempDir();
        string data = MakeData(dir);
        using var source = ActivationSource.Open(data);
        var results = SaeTrainer.Train(source, o, Path.Combine(dir, "out"), IProgressReporter.None);
        var sae = SaeLensFormat.Load(results[0].Directory);
        var (mmcs, recovered) = SyntheticData.Compare(SyntheticData.LoadDictionary(SyntheticData.TruthDirFor(data)), sae.WDec.Value);
        output.WriteLine($"{o.Architecture}: MMCS {mmcs:F3}, recovered {recovered:P1}, EV {results[0].Metrics.ExplainedVariance:F3}, L0 {results[0].Metrics.L0:F2}, dead {results[0].Metrics.Dead}");
        return (mmcs, recovered, results[0].Metrics);
    }

    [Fact]
    public void TopK_recovers_the_true_features()
    {
        var (_, recovered, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.TopK, Widths = [512], Ks = [5], BatchSize = 256, Tokens = 300_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, DeadWindowTokens = 20_000, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.9, $"recovered {recovered:P1}");
    }

    [Fact]
    public void Relu_recovers_the_true_features()
    {
        var (_, recovered, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.Relu, Widths = [512], L1 = [0.2], BatchSize = 256, Tokens = 300_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, ResampleSteps = [500, 1000], ResampleWindowSteps = 200,
            ResampleInputs = 20_000, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.9, $"recovered {recovered:P1}");
    }

    [Fact]
    public void Gated_recovers_the_true_features()
    {
        // λ = 0.4, twice relu's: the L1 acts on ReLU(π_gate), which the auxiliary loss also pulls up to reconstruct
        // x, so at relu's λ = 0.2 the code stays dense (L0 ≈ 27, 17 % recovered). Measured on this data: λ 0.3 → 96 %,
        // 0.4 → 99–100 % over seeds 1–3 (L0 ≈ 7, EV 0.84), 0.6 → 99 %, 0.8 → 96 % (L0 3.4).
        var (_, recovered, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.Gated, Widths = [512], L1 = [0.4], BatchSize = 256, Tokens = 300_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.9, $"recovered {recovered:P1}");
    }
}
