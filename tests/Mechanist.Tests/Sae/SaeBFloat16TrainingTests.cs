using Mechanist.Activations;
using Mechanist.Sae;
using Mechanist.Tests.Numerics;

namespace Mechanist.Tests.Sae;

/// <summary>sae train --precision bf16 (bf16 matmul inputs in the SAE step) learns what fp32 learns, on planted features.</summary>
public class SaeBFloat16TrainingTests
{
    [BFloat16Fact]
    public void Bf16_topk_sae_reconstructs_and_recovers_as_fp32_does()
    {
        string dir = TestPaths.NewTempDir();
        string data = Path.Combine(dir, "synth.npy");
        SyntheticData.Write(new SyntheticOptions { D = 64, Features = 256, L0 = 5, Rows = 20_000, Seed = 7 }, data, overwrite: false);
        var truth = SyntheticData.LoadDictionary(SyntheticData.TruthDirFor(data));
        // 256 × 64 × 512 per encoder product: above the size where bf16 is used.
        var options = new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.TopK, Widths = [512], Ks = [5], BatchSize = 256, Tokens = 150_000,
            LearningRate = 3e-3, WarmupSteps = 50, Seed = 1, DeadWindowTokens = 20_000, CheckpointEverySteps = 0,
        };
        (SaeMetrics Metrics, double Recovered, float[] Decoder) Train(string precision)
        {
            using var source = ActivationSource.Open(data);
            var result = SaeTrainer.Train(source, options with { Precision = precision }, Path.Combine(dir, precision), IProgressReporter.None)[0];
            var sae = SaeLensFormat.Load(result.Directory);
            return (result.Metrics, SyntheticData.Compare(truth, sae.WDec.Value).Recovered, sae.WDec.Value.Span.ToArray());
        }
        var fp32 = Train("fp32");
        var bf16 = Train("bf16");
        Assert.NotEqual(fp32.Decoder, bf16.Decoder);
        Assert.True(Math.Abs(bf16.Metrics.ExplainedVariance - fp32.Metrics.ExplainedVariance) <= 0.01,
            $"explained variance bf16 {bf16.Metrics.ExplainedVariance:F4} vs fp32 {fp32.Metrics.ExplainedVariance:F4}");
        Assert.True(bf16.Recovered >= fp32.Recovered - 0.03, $"recovered bf16 {bf16.Recovered:P1} vs fp32 {fp32.Recovered:P1}");
    }
}
