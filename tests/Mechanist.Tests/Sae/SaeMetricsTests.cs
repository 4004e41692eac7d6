using System.Text.Json.Nodes;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The model-free evaluation (docs/METHODS.md §2.7) against a float64 evaluation written from the formulas: a ReLU
/// SAE encodes and decodes each row by hand, and every metric, density count and the JSON record are compared.
/// </summary>
public class SaeMetricsTests
{
    const int D = 6, M = 10;

    static (SparseAutoencoder sae, Tensor[] batches) Setup()
    {
        var sae = new SparseAutoencoder(SaeArchitecture.Relu, D, M);
        var rng = new Random(21);
        foreach (var p in sae.Parameters) for (int i = 0; i < p.Value.Length; i++) p.Value[i] = (float)(rng.NextDouble() - 0.5);
        // Latent 0 never fires, latent 1 almost never, latents 8 and 9 nearly always: every density count is exercised.
        sae.BEnc.Value[0] = -100; sae.BEnc.Value[1] = -1.6f; sae.BEnc.Value[8] = 3; sae.BEnc.Value[9] = 3;
        var batches = new[] { new Tensor(300, D), new Tensor(157, D) };
        foreach (var b in batches) for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1 + (i % D) * 0.25);
        return (sae, batches);
    }

    [Fact]
    public void Every_metric_matches_a_float64_evaluation()
    {
        var (sae, batches) = Setup();
        var m = SaeMetrics.Evaluate(sae, batches);

        long tokens = 0;
        double sqErr = 0, xSq = 0, cos = 0, l1 = 0, l2 = 0, hatSq = 0, hatDot = 0;
        long active = 0;
        var fired = new long[M];
        var sum = new double[D];
        foreach (var batch in batches)
            for (int t = 0; t < batch.RowCount; t++, tokens++)
            {
                var x = new double[D];
                for (int j = 0; j < D; j++) { x[j] = batch[t * D + j]; sum[j] += x[j]; }
                var xhat = new double[D];
                for (int j = 0; j < D; j++) xhat[j] = sae.BDec.Value[j];
                for (int i = 0; i < M; i++)
                {
                    double z = sae.BEnc.Value[i];
                    for (int j = 0; j < D; j++) z += sae.WEnc.Value[i * D + j] * (x[j] - sae.BDec.Value[j]);
                    if (z <= 0) continue;
                    fired[i]++; active++; l1 += z;
                    for (int j = 0; j < D; j++) xhat[j] += z * sae.WDec.Value[i * D + j];
                }
                double e2 = 0, xx = 0, rr = 0, rx = 0;
                for (int j = 0; j < D; j++) { e2 += (xhat[j] - x[j]) * (xhat[j] - x[j]); xx += x[j] * x[j]; rr += xhat[j] * xhat[j]; rx += xhat[j] * x[j]; }
                sqErr += e2; xSq += xx; hatSq += rr; hatDot += rx;
                cos += rx / Math.Sqrt(xx * rr); l2 += Math.Sqrt(rr / xx);
            }
        double variance = xSq - sum.Sum(s => s * s) / tokens;
        var density = fired.Select(f => (double)f / tokens).ToArray();

        Assert.Equal(457, m.Tokens);
        static void Near(double expected, double actual, string name) =>
            Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{name}: {actual}, reference {expected}");
        Near(sqErr / tokens / D, m.Mse, "mse");
        Near(1 - sqErr / variance, m.ExplainedVariance, "explained variance");
        Near(cos / tokens, m.Cosine, "cosine");
        Near((double)active / tokens, m.L0, "L0");
        Near(l1 / tokens, m.L1, "L1");
        Near(l2 / tokens, m.L2Ratio, "L2 ratio");
        Near(hatSq / hatDot, m.ShrinkageGamma, "shrinkage gamma");
        Assert.Equal(density, m.Density);
        Assert.Equal(1, m.Dead);
        Assert.True(density[1] is > 0 and < 0.01, $"latent 1's density {density[1]} should be rare for this test");
        Assert.Equal(density.Count(p => p < 1e-6), m.Ultralow);
        Assert.Equal(density.Count(p => p < 1e-5), m.Below1e5);
        Assert.Equal(density.Count(p => p > 0.01), m.DenseAbove1Percent);
        Assert.Equal(density.Count(p => p > 0.1), m.DenseAbove10Percent);

        var json = m.ToJson();
        Assert.Equal(457, (long)json["tokens"]!);
        Assert.Equal(m.Mse, (double)json["mse"]!);
        Assert.Equal(m.ExplainedVariance, (double)json["explained_variance"]!);
        Assert.Equal(1 - m.ExplainedVariance, (double)json["fvu"]!);
        Assert.Equal(m.Cosine, (double)json["cosine"]!);
        Assert.Equal(m.L0, (double)json["l0"]!);
        Assert.Equal(m.L1, (double)json["l1"]!);
        Assert.Equal(m.L2Ratio, (double)json["l2_ratio"]!);
        Assert.Equal(m.ShrinkageGamma, (double)json["shrinkage_gamma"]!);
        Assert.Equal(m.Dead, (int)json["dead"]!);
        Assert.Equal(m.Ultralow, (int)json["ultralow"]!);
        Assert.Equal(m.Below1e5, (int)json["below_1e-5"]!);
        Assert.Equal(m.DenseAbove1Percent, (int)json["dense_above_1pct"]!);
        Assert.Equal(m.DenseAbove10Percent, (int)json["dense_above_10pct"]!);
        Assert.Null(json["ce_loss_score_zero"]);
        Assert.Equal(density.Select(p => (float)Math.Log10(p + 1e-10)), m.Log10Density());
    }

    [Fact]
    public void Splice_scores_are_the_fraction_of_the_ablations_loss_gap_recovered()
    {
        var (sae, batches) = Setup();
        var m = SaeMetrics.Evaluate(sae, batches).WithSpliceScores(ceClean: 2, ceSae: 2.5, ceZero: 6, ceMean: 4, klScore: 0.7);
        Assert.Equal((6 - 2.5) / (6 - 2), m.CeLossScoreZero);
        Assert.Equal((4 - 2.5) / (4 - 2), m.CeLossScoreMean);
        var json = m.ToJson();
        Assert.Equal(0.875, (double)json["ce_loss_score_zero"]!);
        Assert.Equal(0.75, (double)json["ce_loss_score_mean"]!);
        Assert.Equal(0.7, (double)json["kl_score"]!);
        Assert.Equal(2, (double)json["ce_clean"]!);
        Assert.Equal(2.5, (double)json["ce_sae"]!);
    }

    [Fact]
    public void No_tokens_is_a_user_error() =>
        Assert.Contains("no tokens", Assert.Throws<UserError>(() => SaeMetrics.Evaluate(new SparseAutoencoder(SaeArchitecture.Relu, D, M), [])).Message);

    [Fact]
    public void The_density_histogram_bins_log10_density_in_quarters_from_minus_10_to_0()
    {
        var (edges, counts) = DensityHistogram.Compute([0, 1e-3, 0.0999, 0.5, 1]);
        Assert.Equal(41, edges.Length);
        Assert.Equal(-10, edges[0]);
        Assert.Equal(-9.75, edges[1]);
        Assert.Equal(0, edges[40]);
        Assert.Equal(40, counts.Length);
        Assert.Equal(1, counts[0]);   // 0 → log10(1e-10) = −10
        Assert.Equal(1, counts[28]);  // 1e-3 → −3
        Assert.Equal(1, counts[35]);  // 0.0999 → −1.0004, in [−1.25, −1)
        Assert.Equal(1, counts[38]);  // 0.5 → −0.30
        Assert.Equal(1, counts[39]);  // 1 → 0: the last bin takes its upper edge
        Assert.Equal(5, counts.Sum());

        string dir = TestPaths.NewTempDir("mechanist-density");
        try
        {
            DensityHistogram.Save(Path.Combine(dir, "density"), [0, 1e-3, 0.5], "feature density");
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "density.json")))!;
            Assert.Equal(3, (int)json["latents"]!);
            Assert.Equal(41, json["bin_edges"]!.AsArray().Count);
            Assert.Equal(3, json["counts"]!.AsArray().Sum(c => (int)c!));
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "density.svg")));
            Assert.Equal(["density.json", "density.svg"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, true); }
    }
}
