using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Dictionary;

/// <summary>
/// The SAE kernel against a frozen copy of itself from before its split by concern (issue 13 item 4; SAELens did
/// the same for its v6 refactor): per architecture, through the per-entry (sparse) path and the dense path, with and
/// without gradients, on fixed seeds, the split code must give the same statistics, active sets, reconstructions
/// and gradients. Remove together with <see cref="FrozenSaeKernel{T}"/> once the split has landed.
/// </summary>
public class SaeKernelFrozenReferenceTests
{
    const int D = 16, M = 96, B = 40;

    static (SaeTensors<T> w, Tensor<T> x) Setup<T>(SaeArchitecture arch, int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var w = new SaeTensors<T>(D, M, arch);
        foreach (var t in w.All()) for (int i = 0; i < t.Length; i++) t[i] = T.CreateTruncating(rng.NextDouble() - 0.5);
        if (w.LogThreshold != null) for (int i = 0; i < M; i++) w.LogThreshold[i] = T.CreateTruncating(Math.Log(0.05 + 0.1 * rng.NextDouble()));
        var x = new Tensor<T>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = T.CreateTruncating(2 * rng.NextDouble() - 1);
        return (w, x);
    }

    /// <summary>AuxK (topk, batchtopk) on the sparse path; off on the dense one, which never runs with it.</summary>
    static SaeLossSettings Settings(SaeArchitecture arch, bool dense) => new()
    {
        Sparsity = 0.2, K = 5, Bandwidth = 0.05, KAux = 4, AuxAlpha = 0.5,
        Dead = !dense && arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK ? Enumerable.Range(0, M).Select(i => i % 3 == 0).ToArray() : null,
    };

    public static TheoryData<SaeArchitecture, bool, bool> Cases()
    {
        var data = new TheoryData<SaeArchitecture, bool, bool>();
        foreach (var arch in Enum.GetValues<SaeArchitecture>())
            foreach (bool dense in new[] { false, true })
                foreach (bool backward in new[] { false, true })
                    data.Add(arch, dense, backward);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Float64_matches_the_frozen_kernel(SaeArchitecture arch, bool dense, bool backward) => Compare<double>(arch, dense, backward, 1e-12);

    [Theory, MemberData(nameof(Cases))]
    public void Float32_matches_the_frozen_kernel(SaeArchitecture arch, bool dense, bool backward) => Compare<float>(arch, dense, backward, 1e-5);

    static void Compare<T>(SaeArchitecture arch, bool dense, bool backward, double tolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        foreach (int seed in new[] { 31, 32 })
        {
            var (w, x) = Setup<T>(arch, seed);
            var s = Settings(arch, dense);
            var frozen = new FrozenSaeKernel<T>(arch, D, M) { DenseAbove = dense ? 0 : 2 };
            var live = SaeKernel<T>.Create(arch, D, M, denseAbove: dense ? 0 : 2);
            var gFrozen = backward ? new SaeTensors<T>(D, M, arch) : null;
            var gLive = backward ? new SaeTensors<T>(D, M, arch) : null;
            // Two passes each: the second runs on buffers the first left behind, as in training.
            for (int pass = 0; pass < 2; pass++)
            {
                var a = frozen.Run(w, x, s, gFrozen, projectDecoder: true);
                var b = live.Run(w, x, s, gLive, projectDecoder: true);
                string label = $"{arch} {typeof(T).Name} seed {seed} {(dense ? "dense" : "sparse")} {(backward ? "backward" : "inference")} pass {pass}";
                Assert.Equal(frozen.LastPassDense, live.LastPassDense);
                Assert.Equal(dense && arch != SaeArchitecture.TopK, live.LastPassDense); // topk always runs per entry
                if (backward && !dense && s.Dead != null) Assert.True(b.Aux > 0, label + ": AuxK must be active");
                Assert.True(a.L0 > 0, label + ": nothing active");
                Close(a.Reconstruction, b.Reconstruction, tolerance, label + " reconstruction");
                Close(a.Sparsity, b.Sparsity, tolerance, label + " sparsity");
                Close(a.Aux, b.Aux, tolerance, label + " aux");
                Close(a.Variance, b.Variance, tolerance, label + " variance");
                Close(a.L1, b.L1, tolerance, label + " L1");
                Close(a.Threshold, b.Threshold, tolerance, label + " threshold");
                Assert.Equal(a.L0, b.L0);
                Assert.Equal(a.Batch, b.Batch);
                Assert.Equal(frozen.LatentCounts.ToArray(), live.LatentCounts.ToArray());
                for (int t = 0; t < B; t++)
                {
                    Assert.Equal(frozen.ActiveIndices(t).ToArray(), live.ActiveIndices(t).ToArray());
                    Near(frozen.ActiveValues(t).ToArray(), live.ActiveValues(t).ToArray(), tolerance, $"{label} values of token {t}");
                    if (!backward) Near(frozen.Reconstruction(t).ToArray(), live.Reconstruction(t).ToArray(), tolerance, $"{label} x̂ of token {t}");
                }
                if (!backward) continue;
                var ga = gFrozen!.All().ToArray(); var gb = gLive!.All().ToArray();
                Assert.Equal(ga.Length, gb.Length);
                for (int p = 0; p < ga.Length; p++) Near(ga[p].ToArray(), gb[p].ToArray(), tolerance, $"{label} gradient tensor {p}");
            }
        }
    }

    static void Close(double a, double b, double tolerance, string label) =>
        Assert.True(Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(a)), $"{label}: frozen {a:G17}, split {b:G17}");

    static void Near<T>(T[] a, T[] b, double tolerance, string label) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(a.Length, b.Length);
        double scale = 1;
        foreach (var v in a) scale = Math.Max(scale, Math.Abs(double.CreateTruncating(v)));
        for (int i = 0; i < a.Length; i++)
        {
            double u = double.CreateTruncating(a[i]), v = double.CreateTruncating(b[i]);
            Assert.True(Math.Abs(u - v) <= tolerance * scale, $"{label}[{i}]: frozen {u:G17}, split {v:G17}");
        }
    }
}
