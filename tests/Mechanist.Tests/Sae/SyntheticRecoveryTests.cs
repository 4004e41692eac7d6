using Mechanist.Activations;
using Mechanist.Sae;
using Xunit.Abstractions;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The bar from the issue: on d=64, 256 true features, L0=5, relu, topk and gated SAEs recover ≥ 90 % at cosine ≥ 0.9;
/// jumprelu and batchtopk, measured at 91–95 % over seeds 1–3, must recover ≥ 80 % and also get their sparsity right.
/// </summary>
public class SyntheticRecoveryTests(ITestOutputHelper output)
{
    static readonly SyntheticOptions Data = new() { D = 64, Features = 256, L0 = 5, Rows = 30_000, Seed = 7 };

    static string MakeData(string dir)
    {
        string path = Path.Combine(dir, "synth.npy");
        SyntheticData.Write(Data, path, overwrite: false);
        return path;
    }

    (double mmcs, double recovered, SaeMetrics metrics, SparseAutoencoder sae) TrainAndScore(SaeTrainingOptions o)
    {
        string dir = TestPaths.NewTempDir();
        string data = MakeData(dir);
        using var source = ActivationSource.Open(data);
        var results = SaeTrainer.Train(source, o, Path.Combine(dir, "out"), IProgressReporter.None);
        var sae = SaeLensFormat.Load(results[0].Directory);
        var (mmcs, recovered) = SyntheticData.Compare(SyntheticData.LoadDictionary(SyntheticData.TruthDirFor(data)), sae.WDec.Value);
        output.WriteLine($"{o.Architecture}: MMCS {mmcs:F3}, recovered {recovered:P1}, EV {results[0].Metrics.ExplainedVariance:F3}, L0 {results[0].Metrics.L0:F2}, dead {results[0].Metrics.Dead}");
        return (mmcs, recovered, results[0].Metrics, sae);
    }

    [Fact]
    public void TopK_recovers_the_true_features()
    {
        var (_, recovered, _, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.TopK, Widths = [512], Ks = [5], BatchSize = 256, Tokens = 300_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, DeadWindowTokens = 20_000, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.9, $"recovered {recovered:P1}");
    }

    [Fact]
    public void Relu_recovers_the_true_features()
    {
        var (_, recovered, _, _) = TrainAndScore(new SaeTrainingOptions
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
        var (_, recovered, _, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.Gated, Widths = [512], L1 = [0.4], BatchSize = 256, Tokens = 300_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.9, $"recovered {recovered:P1}");
    }

    [Fact]
    public void JumpRelu_recovers_the_true_features_and_learns_thresholds_that_give_their_sparsity()
    {
        // θ₀ 0.05 and ε 0.01, not the defaults (0.001, 0.001): the threshold is trained in log space, so Adam moves it by
        // about lr (0.3 %) per step, and from 0.001 it cannot climb to ≈ 0.17 (where it ends here) in 1,200 steps
        // (measured: θ stays ≈ 0.0013, L0 121, nothing recovered). Seeds 1–3: 95 / 91 / 95 %, held-out L0 4.4–4.5.
        // Without the threshold gradient (the straight-through estimate) nothing pulls θ up and the code stays dense.
        var (_, recovered, metrics, _) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.JumpRelu, Widths = [512], L1 = [0.03], ThresholdInit = 0.05, Bandwidth = 0.01,
            BatchSize = 256, Tokens = 300_000, LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.8, $"recovered {recovered:P1}");
        Assert.InRange(metrics.L0, 3.0, 7.0);
    }

    [Fact]
    public void BatchTopK_recovers_the_true_features_and_its_threshold_gives_each_token_its_own_L0()
    {
        // lr 1e-2: at topk's 3e-3 batchtopk needs twice the tokens (93 % at 600 k; 76 % at 300 k). Seeds 1–3: 93 / 93 / 92 %,
        // held-out L0 4.7–4.8 for k = 5, and the per-token L0 under the learned threshold follows the true number of
        // active features (Pearson 0.81; topk's fixed k gives 0.31). A budget of k per batch instead of k per token, or
        // a threshold average that never updates (inference would then keep every positive latent), fails here.
        var (_, recovered, metrics, sae) = TrainAndScore(new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.BatchTopK, Widths = [512], Ks = [5], BatchSize = 256, Tokens = 300_000,
            LearningRate = 1e-2, WarmupSteps = 50, Seed = 1, DeadWindowTokens = 20_000, CheckpointEverySteps = 0,
        });
        Assert.True(recovered >= 0.8, $"recovered {recovered:P1}");
        Assert.InRange(metrics.L0, 4.0, 6.0);
        var x = new Tensor((int)Data.Rows, Data.D);
        var truth = new SyntheticData(Data).Generate(x);
        const int rows = 5000;
        var codes = sae.Encode(x.Rows(0, rows));
        double[] ours = [.. Enumerable.Range(0, rows).Select(t => (double)(codes.Offsets[t + 1] - codes.Offsets[t]))];
        double[] actual = [.. Enumerable.Range(0, rows).Select(t => (double)(truth.Offsets[t + 1] - truth.Offsets[t]))];
        double r = Mechanist.Explain.Correlation.Pearson(ours, actual);
        output.WriteLine($"per-token L0 against the true count: Pearson {r:F3}");
        Assert.True(r >= 0.6, $"per-token L0 correlates {r:F3} with the true count of active features");
    }
}
