using Mechanist.Sae;
using Mechanist.Numerics;

namespace Mechanist.Tests.Sae;

/// <summary>
/// One kernel serves every batch of a run (and the inference passes between them): a pass must not depend on
/// what an earlier, larger batch or a pass through the other path (dense or per-entry) left in its buffers.
/// </summary>
public class SaeKernelReuseTests
{
    const int D = 16, M = 96;

    static (SaeTensors<double> w, Tensor<double> big, Tensor<double> small) Setup(SaeArchitecture arch, int seed)
    {
        var rng = new Random(seed);
        var w = SaeReferenceLoss.RandomWeights(arch, D, M, rng);
        var big = new Tensor<double>(40, D);
        for (int i = 0; i < big.Length; i++) big[i] = 2 * rng.NextDouble() - 1;
        var small = new Tensor<double>(7, D);
        for (int i = 0; i < small.Length; i++) small[i] = 2 * rng.NextDouble() - 1;
        return (w, big, small);
    }

    static SaeLossSettings Settings(SaeArchitecture arch, bool withDead) => new()
    {
        Sparsity = 0.2, K = 5, Bandwidth = 0.05, KAux = 4, AuxAlpha = 0.5,
        Dead = withDead ? Enumerable.Range(0, M).Select(i => i % 3 == 0).ToArray() : null,
    };

    static double[][] Snapshot(SaeTensors<double> g) => g.All().Select(t => t.ToArray()).ToArray();

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.BatchTopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void A_short_batch_after_a_larger_one_matches_a_fresh_kernel_on_either_path(SaeArchitecture arch)
    {
        var (w, big, small) = Setup(arch, 21);
        foreach (bool firstDense in new[] { false, true })
            foreach (bool secondDense in new[] { false, true })
                foreach (bool backward in new[] { false, true })
                {
                    var s = Settings(arch, withDead: arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK);
                    var used = SaeKernel<double>.Create(arch, D, M, denseAbove: firstDense ? 0 : 2);
                    used.Run(w, big, s, new SaeTensors<double>(D, M, arch), projectDecoder: true);
                    used.Run(w, big, s); // inference between steps, as resampling and evaluation do
                    used.DenseAbove = secondDense ? 0 : 2;
                    var fresh = SaeKernel<double>.Create(arch, D, M, denseAbove: secondDense ? 0 : 2);
                    var gUsed = backward ? new SaeTensors<double>(D, M, arch) : null;
                    var gFresh = backward ? new SaeTensors<double>(D, M, arch) : null;
                    var a = used.Run(w, small, s, gUsed, projectDecoder: true);
                    var b = fresh.Run(w, small, s, gFresh, projectDecoder: true);
                    string label = $"{arch} first {(firstDense ? "dense" : "sparse")}, then {(secondDense ? "dense" : "sparse")}, {(backward ? "backward" : "inference")}";
                    Assert.Equal(b.Loss, a.Loss);
                    Assert.Equal(b.L0, a.L0);
                    Assert.Equal(b.Aux, a.Aux);
                    Assert.Equal(b.Threshold, a.Threshold);
                    Assert.Equal(fresh.LastPassDense, used.LastPassDense);
                    Assert.Equal(fresh.LatentCounts.ToArray(), used.LatentCounts.ToArray());
                    for (int t = 0; t < small.RowCount; t++)
                    {
                        Assert.Equal(fresh.ActiveIndices(t).ToArray(), used.ActiveIndices(t).ToArray());
                        Assert.Equal(fresh.ActiveValues(t).ToArray(), used.ActiveValues(t).ToArray());
                        if (!backward) Assert.Equal(fresh.Reconstruction(t).ToArray(), used.Reconstruction(t).ToArray());
                    }
                    if (backward)
                    {
                        var ga = Snapshot(gUsed!); var gb = Snapshot(gFresh!);
                        for (int p = 0; p < ga.Length; p++) Assert.True(gb[p].SequenceEqual(ga[p]), $"{label}: gradient tensor {p} differs");
                    }
                }
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.BatchTopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void Inference_gives_the_same_active_sets_and_reconstructions_dense_or_sparse(SaeArchitecture arch)
    {
        var (w, big, _) = Setup(arch, 22);
        var s = new SaeLossSettings { K = 5, FixedThreshold = arch == SaeArchitecture.BatchTopK ? 0.3 : null };
        var sparse = SaeKernel<double>.Create(arch, D, M, denseAbove: 2);
        var dense = SaeKernel<double>.Create(arch, D, M, denseAbove: 0);
        var a = sparse.Run(w, big, s);
        var b = dense.Run(w, big, s);
        Assert.False(sparse.LastPassDense);
        Assert.True(dense.LastPassDense);
        Assert.True(a.L0 > 0);
        Assert.Equal(a.L0, b.L0);
        Assert.Equal(a.Reconstruction, b.Reconstruction, 1e-12);
        for (int t = 0; t < big.RowCount; t++)
        {
            Assert.Equal(sparse.ActiveIndices(t).ToArray(), dense.ActiveIndices(t).ToArray());
            Assert.Equal(sparse.ActiveValues(t).ToArray(), dense.ActiveValues(t).ToArray());
            var ra = sparse.Reconstruction(t).ToArray(); var rb = dense.Reconstruction(t).ToArray();
            for (int j = 0; j < D; j++) Assert.Equal(ra[j], rb[j], 1e-12);
        }
    }
}
