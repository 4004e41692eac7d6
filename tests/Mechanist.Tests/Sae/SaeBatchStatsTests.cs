using Mechanist.Numerics;
using Mechanist.Sae;
using Mechanist.Tests.Numerics;

namespace Mechanist.Tests.Sae;

/// <summary>
/// What a pass reports about its batch (reconstruction, the variance behind explained variance, L0, L1) against the
/// float64 reference of <see cref="SaeReferenceLoss"/>, on one thread and on two (each worker sums its own rows, and
/// the sums are added after), on the sparse and the dense path, with and without gradients. The latent counts run
/// past a vector's width so the top-k heap's vector scan is used.
/// </summary>
[Collection("threads-alone")]
public class SaeBatchStatsTests
{
    const int D = 8, B = 40;

    public static TheoryData<SaeArchitecture, int, int, bool> Cases()
    {
        var data = new TheoryData<SaeArchitecture, int, int, bool>();
        foreach (int threads in new[] { 1, 2 })
        {
            foreach (var arch in new[] { SaeArchitecture.Relu, SaeArchitecture.JumpRelu, SaeArchitecture.BatchTopK })
                foreach (bool dense in new[] { false, true })
                    data.Add(arch, 12, threads, dense);
            data.Add(SaeArchitecture.TopK, 12, threads, false);
            data.Add(SaeArchitecture.TopK, 100, threads, false);
            data.Add(SaeArchitecture.BatchTopK, 100, threads, false);
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Batch_statistics_match_the_reference(SaeArchitecture arch, int m, int threads, bool dense)
    {
        using var _ = TestThreads.Set(threads);
        var rng = new Random(11);
        var w = SaeReferenceLoss.RandomWeights(arch, D, m, rng, encBias: 0.1);
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1 + (i % D) * 0.3; // a mean per dimension that the variance must remove
        var s = new SaeLossSettings { Sparsity = 0.2, K = 3, Bandwidth = 1e-3 };

        var f = SaeReferenceLoss.Activations(arch, w, x, s);
        var r = SaeReferenceLoss.Residual(arch, w, x, s);
        double reconstruction = 0, l0 = 0, l1 = 0, variance = 0;
        for (int t = 0; t < B; t++)
        {
            for (int j = 0; j < D; j++) reconstruction += r[t, j] * r[t, j];
            for (int i = 0; i < m; i++) { l1 += f[t, i]; if (f[t, i] > 0) l0++; }
        }
        for (int j = 0; j < D; j++)
        {
            double mean = 0;
            for (int t = 0; t < B; t++) mean += x[t * D + j] / B;
            for (int t = 0; t < B; t++) variance += (x[t * D + j] - mean) * (x[t * D + j] - mean);
        }
        reconstruction /= B; l0 /= B; l1 /= B; variance /= B;

        foreach (bool backward in new[] { false, true })
        {
            var kernel = SaeKernel<double>.Create(arch, D, m, denseAbove: dense ? 0 : 2);
            var stats = kernel.Run(w, x, s, backward ? new SaeTensors<double>(D, m, arch == SaeArchitecture.JumpRelu) : null);
            string at = $"{arch} m={m} threads={threads} dense={dense} backward={backward}";
            Assert.True(dense == kernel.LastPassDense, at);
            Assert.Equal(B, stats.Batch);
            Assert.True(Math.Abs(stats.Variance - variance) <= 1e-12 * variance, $"{at}: variance {stats.Variance}, reference {variance}");
            Assert.True(Math.Abs(stats.Reconstruction - reconstruction) <= 1e-12 * reconstruction, $"{at}: reconstruction {stats.Reconstruction}, reference {reconstruction}");
            Assert.True(Math.Abs(stats.ExplainedVariance - (1 - reconstruction / variance)) <= 1e-12, $"{at}: explained variance {stats.ExplainedVariance}");
            Assert.True(Math.Abs(stats.L0 - l0) <= 1e-12 * l0, $"{at}: L0 {stats.L0}, reference {l0}");
            Assert.True(Math.Abs(stats.L1 - l1) <= 1e-12 * l1, $"{at}: L1 {stats.L1}, reference {l1}");
        }
    }

    [Fact]
    public void Explained_variance_is_zero_for_a_batch_without_variance_and_otherwise_one_minus_the_error_ratio()
    {
        Assert.Equal(0, new SaeBatchStats { Reconstruction = 0.5, Variance = 0 }.ExplainedVariance);
        Assert.Equal(0.75, new SaeBatchStats { Reconstruction = 0.5, Variance = 2 }.ExplainedVariance, 1e-15);

        // A batch of one repeated row has no variance: the kernel reports 0, not a negative rounding error.
        var w = SaeReferenceLoss.RandomWeights(SaeArchitecture.Relu, D, 12, new Random(3));
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 0.5 + (i % D); // sums and means exact in binary, so the variance is exactly 0
        var stats = SaeKernel<double>.Create(SaeArchitecture.Relu, D, 12).Run(w, x, new SaeLossSettings { Sparsity = 0.1 });
        Assert.Equal(0, stats.Variance);
        Assert.Equal(0, stats.ExplainedVariance);
        Assert.True(stats.Reconstruction > 0);
    }
}
