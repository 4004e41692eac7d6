using Mechanist.Sae;
using Mechanist.Numerics;

namespace Mechanist.Tests.Sae;

/// <summary>
/// Every architecture's fused backward pass against central finite differences of an independent float64 loss
/// (<see cref="SaeReferenceLoss"/>, written from METHODS.md §2), through both the per-entry loops (sparse) and the
/// dense GEMM path that batches with many active latents take. The kernel's own loss must equal the reference too.
/// </summary>
public class SaeKernelGradientTests
{
    const int D = 8, M = 12, B = 5;

    static (SaeTensors<double> w, Tensor<double> x) Setup(SaeArchitecture arch, int seed, double encBias = 0.1)
    {
        var rng = new Random(seed);
        var w = SaeReferenceLoss.RandomWeights(arch, D, M, rng, encBias);
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1;
        return (w, x);
    }

    static void CheckAgainstFiniteDifferences(SaeArchitecture arch, SaeLossSettings s, int seed,
        Func<string, int, bool>? include = null, double encBias = 0.1, Action<SaeTensors<double>>? adjust = null, bool dense = false)
    {
        var (w, x) = Setup(arch, seed, encBias);
        adjust?.Invoke(w);
        var kernel = SaeKernel<double>.Create(arch, D, M, denseAbove: dense ? 0 : 2);
        var grads = new SaeTensors<double>(D, M, arch == SaeArchitecture.JumpRelu);
        var stats = kernel.Run(w, x, s, grads);
        Assert.True(stats.L0 > 0);
        Assert.Equal(dense, kernel.LastPassDense);
        if (s.Dead != null) Assert.True(stats.Aux > 0, "AuxK must be active in this test");
        var residual = SaeReferenceLoss.Residual(arch, w, x, s); // AuxK's target, held constant
        Assert.Equal(SaeReferenceLoss.Loss(arch, w, x, s, residual), stats.Loss, 1e-12);
        var names = new[] { "W_enc", "b_enc", "W_dec", "b_dec" };
        var values = new[] { w.WEnc, w.BEnc, w.WDec, w.BDec };
        var gradients = new[] { grads.WEnc, grads.BEnc, grads.WDec, grads.BDec };
        int checkedCount = 0;
        for (int p = 0; p < 4; p++)
            for (int i = 0; i < values[p].Length; i++)
            {
                if (include != null && !include(names[p], i)) continue;
                const double h = 1e-6;
                double old = values[p][i];
                values[p][i] = old + h; double up = SaeReferenceLoss.Loss(arch, w, x, s, residual);
                values[p][i] = old - h; double down = SaeReferenceLoss.Loss(arch, w, x, s, residual);
                values[p][i] = old;
                double numeric = (up - down) / (2 * h);
                double analytic = gradients[p][i];
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                    $"{arch} {names[p]}[{i}]: finite difference {numeric:G9}, backward {analytic:G9}");
                checkedCount++;
            }
        Assert.True(checkedCount > 10);
    }

    [Theory, InlineData(false), InlineData(true)]
    public void Relu_with_L1(bool dense) => CheckAgainstFiniteDifferences(SaeArchitecture.Relu, new SaeLossSettings { Sparsity = 0.3 }, 1, dense: dense);

    [Fact]
    public void TopK() => CheckAgainstFiniteDifferences(SaeArchitecture.TopK, new SaeLossSettings { K = 3 }, 2);

    [Theory, InlineData(false), InlineData(true)]
    public void BatchTopK(bool dense) => CheckAgainstFiniteDifferences(SaeArchitecture.BatchTopK, new SaeLossSettings { K = 3 }, 3, dense: dense);

    [Theory, InlineData(false), InlineData(true)]
    public void JumpRelu_weights(bool dense) =>
        CheckAgainstFiniteDifferences(SaeArchitecture.JumpRelu, new SaeLossSettings { Sparsity = 0.2, Bandwidth = 1e-3 }, 4, dense: dense);

    [Theory, InlineData(SaeArchitecture.TopK), InlineData(SaeArchitecture.BatchTopK)]
    public void AuxK_on_dead_latents(SaeArchitecture arch)
    {
        // Latents 0–5 are alive with large pre-activations (they win every top-3 and the batch's top 3·B); 6–11 are
        // dead with small positive ones, so AuxK picks among them. Every parameter is checked: the reference holds
        // AuxK's target r = x − x̂ constant, as the kernel does.
        var dead = Enumerable.Range(0, M).Select(i => i >= 6).ToArray();
        var s = new SaeLossSettings { K = 3, KAux = 2, AuxAlpha = 0.5, Dead = dead };
        CheckAgainstFiniteDifferences(arch, s, 5,
            adjust: w =>
            {
                for (int i = 0; i < M; i++) w.BEnc[i] = dead[i] ? 0.8 : 5.0;
                for (int i = 0; i < M * D; i++) w.WEnc[i] *= 0.2;
            });
    }

    [Theory, InlineData(false), InlineData(true)]
    public void JumpRelu_threshold_gets_the_straight_through_estimate(bool dense)
    {
        var (w, x) = Setup(SaeArchitecture.JumpRelu, 6);
        const double eps = 0.05, lambda = 0.2;
        var s = new SaeLossSettings { Sparsity = lambda, Bandwidth = eps };
        var kernel = SaeKernel<double>.Create(SaeArchitecture.JumpRelu, D, M, denseAbove: dense ? 0 : 2);
        var grads = new SaeTensors<double>(D, M, true);
        kernel.Run(w, x, s, grads);
        // Independent evaluation of the estimator: ∂L/∂logθ_i = θ_i Σ_t [−(θ_i/ε)K·∂L/∂f_ti − (λ/B)(1/ε)K].
        var expected = new double[M];
        int windowHits = 0;
        for (int t = 0; t < B; t++)
        {
            var z = new double[M]; var xhat = new double[D];
            for (int i = 0; i < M; i++)
            {
                z[i] = w.BEnc[i];
                for (int j = 0; j < D; j++) z[i] += w.WEnc[i * D + j] * (x[t * D + j] - w.BDec[j]);
            }
            for (int j = 0; j < D; j++) xhat[j] = w.BDec[j];
            for (int i = 0; i < M; i++)
                if (z[i] > Math.Exp(w.LogThreshold![i]))
                    for (int j = 0; j < D; j++) xhat[j] += z[i] * w.WDec[i * D + j];
            for (int i = 0; i < M; i++)
            {
                double theta = Math.Exp(w.LogThreshold![i]);
                if (Math.Abs(z[i] - theta) >= eps / 2) continue;
                windowHits++;
                double gf = 0;
                for (int j = 0; j < D; j++) gf += 2 * (xhat[j] - x[t * D + j]) / B * w.WDec[i * D + j];
                expected[i] += theta * (-(theta / eps) * gf - lambda / B / eps);
            }
        }
        Assert.True(windowHits > 0, "the test needs pre-activations inside the window");
        for (int i = 0; i < M; i++) Assert.Equal(expected[i], grads.LogThreshold![i], 1e-9);
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void Dense_and_sparse_paths_agree_in_float32_at_realistic_sizes(SaeArchitecture arch)
    {
        // 64 → 1,024 latents, 200 tokens, about half the latents active: the size at which the two paths' different
        // summation orders (GEMM blocks vs entry loops) could drift apart if either dropped or doubled a term.
        const int d = 64, m = 1024, batch = 200;
        var rng = new Random(7);
        var w = new SaeTensors<float>(d, m, arch);
        foreach (var t in w.All()) for (int i = 0; i < t.Length; i++) t[i] = (float)(rng.NextDouble() - 0.5) * 0.25f;
        if (w.LogThreshold != null) for (int i = 0; i < m; i++) w.LogThreshold[i] = MathF.Log(0.01f + 0.05f * (float)rng.NextDouble());
        var x = new Tensor(batch, d);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(2 * rng.NextDouble() - 1);
        var s = new SaeLossSettings { Sparsity = 0.05, Bandwidth = 0.01 };
        SaeTensors<float> Gradients(bool dense, out SaeBatchStats stats)
        {
            var kernel = SaeKernel<float>.Create(arch, d, m, denseAbove: dense ? 0 : 2);
            var g = new SaeTensors<float>(d, m, arch);
            stats = kernel.Run(w, x, s, g, projectDecoder: true);
            Assert.Equal(dense, kernel.LastPassDense);
            return g;
        }
        var sparse = Gradients(false, out var a);
        var dense = Gradients(true, out var b);
        Assert.True(a.L0 > m / 8, $"the test needs many active latents (L0 {a.L0})");
        Assert.Equal(a.L0, b.L0);
        Assert.Equal(a.Reconstruction, b.Reconstruction, 1e-4 * a.Reconstruction);
        Assert.Equal(a.L1, b.L1, 1e-4 * a.L1);
        Assert.Equal(a.Sparsity, b.Sparsity, 1e-4 * a.Sparsity);
        Assert.Equal(a.Aux, b.Aux, 1e-4 * a.Aux);
        var sa = sparse.All().ToArray(); var sb = dense.All().ToArray();
        for (int p = 0; p < sa.Length; p++)
        {
            double scale = 0;
            for (int i = 0; i < sa[p].Length; i++) scale = Math.Max(scale, Math.Abs(sa[p][i]));
            for (int i = 0; i < sa[p].Length; i++)
                Assert.True(Math.Abs(sa[p][i] - sb[p][i]) <= 1e-4 * scale + 1e-9, $"tensor {p}[{i}]: sparse {sa[p][i]}, dense {sb[p][i]}");
        }
    }
}

/// <summary>
/// The gated SAE's loss and gradients (docs/METHODS.md §2.5) against an independent float64 evaluation of
///   L = (1/B)Σ‖x̂ − x‖² + λ(1/B)Σ ReLU(π_gate) + (1/B)Σ‖W_dec′ᵀReLU(π_gate) + b_dec′ − x‖²,
/// where W_dec′, b_dec′ are frozen copies: central differences perturb every parameter everywhere except in
/// the frozen copies, which is what stop-gradient means.
/// </summary>
public class GatedSaeGradientTests
{
    const int D = 8, M = 12, B = 5;

    static (SaeTensors<double> w, Tensor<double> x) Setup(int seed)
    {
        var rng = new Random(seed);
        var w = SaeReferenceLoss.RandomWeights(SaeArchitecture.Gated, D, M, rng, encBias: 0.1);
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1;
        return (w, x);
    }

    /// <summary>The loss straight from the definition (π_mag from exp(r_mag)⊙W_gate, not the kernel's reuse of π_gate).</summary>
    static double ReferenceLoss(SaeTensors<double> w, Tensor<double> x, double lambda, double[] frozenWDec, double[] frozenBDec,
        out int active, out int gateOnly, out int blocked)
    {
        double main = 0, l1 = 0, aux = 0;
        active = gateOnly = blocked = 0;
        for (int t = 0; t < B; t++)
        {
            var xbar = new double[D];
            for (int j = 0; j < D; j++) xbar[j] = x[t * D + j] - w.BDec[j];
            var xhat = new double[D]; var xgate = new double[D];
            for (int j = 0; j < D; j++) { xhat[j] = w.BDec[j]; xgate[j] = frozenBDec[j]; }
            for (int i = 0; i < M; i++)
            {
                double gate = w.BEnc[i], mag = w.BMag![i];
                for (int j = 0; j < D; j++)
                {
                    gate += w.WEnc[i * D + j] * xbar[j];
                    mag += Math.Exp(w.RMag![i]) * w.WEnc[i * D + j] * xbar[j];
                }
                double f = gate > 0 ? Math.Max(mag, 0) : 0, g = Math.Max(gate, 0);
                if (gate > 0 && mag > 0) active++;
                else if (gate > 0) gateOnly++;
                else if (mag > 0) blocked++;
                l1 += g;
                for (int j = 0; j < D; j++) { xhat[j] += f * w.WDec[i * D + j]; xgate[j] += g * frozenWDec[i * D + j]; }
            }
            for (int j = 0; j < D; j++)
            {
                main += Math.Pow(xhat[j] - x[t * D + j], 2);
                aux += Math.Pow(xgate[j] - x[t * D + j], 2);
            }
        }
        return main / B + lambda * l1 / B + aux / B;
    }

    [Theory]
    [InlineData(11, false)]
    [InlineData(12, false)]
    [InlineData(11, true)]
    [InlineData(12, true)]
    public void Every_parameter_matches_central_differences_with_the_decoder_frozen_in_the_auxiliary_term(int seed, bool dense)
    {
        const double lambda = 0.3;
        var (w, x) = Setup(seed);
        var kernel = SaeKernel<double>.Create(SaeArchitecture.Gated, D, M, denseAbove: dense ? 0 : 2);
        var grads = new SaeTensors<double>(D, M, SaeArchitecture.Gated);
        var s = new SaeLossSettings { Sparsity = lambda };
        var stats = kernel.Run(w, x, s, grads);
        Assert.Equal(dense, kernel.LastPassDense);
        var frozenWDec = w.WDec.ToArray(); var frozenBDec = w.BDec.ToArray();
        double reference = ReferenceLoss(w, x, lambda, frozenWDec, frozenBDec, out int active, out int gateOnly, out int blocked);
        // The point must exercise every case: active latents, open gates with π_mag ≤ 0, closed gates with π_mag > 0.
        Assert.True(active > 0 && gateOnly > 0 && blocked > 0, $"active {active}, gate-only {gateOnly}, blocked {blocked}");
        Assert.Equal(reference, stats.Loss, 1e-12);
        Assert.Equal((double)active / B, stats.L0, 1e-12);
        Assert.True(stats.Aux > 0 && stats.Sparsity > 0);

        var names = new[] { "W_enc", "b_gate", "W_dec", "b_dec", "r_mag", "b_mag" };
        var values = w.All().ToArray();
        var gradients = grads.All().ToArray();
        Assert.Equal(names.Length, values.Length);
        double largestAuxDecoderGradient = 0;
        for (int p = 0; p < values.Length; p++)
            for (int i = 0; i < values[p].Length; i++)
            {
                const double h = 1e-6;
                double old = values[p][i];
                values[p][i] = old + h; double up = ReferenceLoss(w, x, lambda, frozenWDec, frozenBDec, out _, out _, out _);
                values[p][i] = old - h; double down = ReferenceLoss(w, x, lambda, frozenWDec, frozenBDec, out _, out _, out _);
                double numeric = (up - down) / (2 * h);
                if (names[p] == "W_dec")
                {
                    // Without the stop-gradient the auxiliary term would add this much to ∂L/∂W_dec.
                    values[p][i] = old + h; double upLive = ReferenceLoss(w, x, lambda, w.WDec.ToArray(), frozenBDec, out _, out _, out _);
                    values[p][i] = old - h; double downLive = ReferenceLoss(w, x, lambda, w.WDec.ToArray(), frozenBDec, out _, out _, out _);
                    largestAuxDecoderGradient = Math.Max(largestAuxDecoderGradient, Math.Abs((upLive - downLive) / (2 * h) - numeric));
                }
                values[p][i] = old;
                double analytic = gradients[p][i];
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                    $"gated {names[p]}[{i}]: finite difference {numeric:G9}, backward {analytic:G9}");
            }
        Assert.True(largestAuxDecoderGradient > 1e-3, "the test point must be one where the stop-gradient matters");
    }

    [Theory, InlineData(false), InlineData(true)]
    public void Closed_gates_pass_no_gradient_to_the_magnitude_path(bool dense)
    {
        // Every gate shut (b_gate ≪ 0) but π_mag > 0: f = 0, nothing is active, and r_mag, b_mag get nothing.
        var (w, x) = Setup(13);
        for (int i = 0; i < M; i++) { w.BEnc[i] = -100; w.BMag![i] = 5; }
        var kernel = SaeKernel<double>.Create(SaeArchitecture.Gated, D, M, denseAbove: dense ? -1 : 2);
        var grads = new SaeTensors<double>(D, M, SaeArchitecture.Gated);
        var stats = kernel.Run(w, x, new SaeLossSettings { Sparsity = 0.3 }, grads);
        Assert.Equal(dense, kernel.LastPassDense);
        Assert.Equal(0, stats.L0);
        Assert.Equal(0, stats.Sparsity);
        Assert.All(grads.RMag!.ToArray(), v => Assert.Equal(0, v));
        Assert.All(grads.BMag!.ToArray(), v => Assert.Equal(0, v));
        Assert.All(grads.WEnc.ToArray(), v => Assert.Equal(0, v));
    }
}

/// <summary>
/// The unit-norm decoder under Adam (METHODS §2.1): with projection on, each fired latent's W_dec gradient row is
/// g − (g·d)d of the unprojected one, so it is orthogonal to its unit decoder row d; latents that did not fire keep a
/// zero gradient. Checked on both paths and every architecture against the kernel run without projection.
/// </summary>
public class DecoderGradientProjectionTests
{
    const int D = 8, M = 24, B = 12;

    public static TheoryData<SaeArchitecture, bool> Cases()
    {
        var data = new TheoryData<SaeArchitecture, bool>();
        foreach (var arch in Enum.GetValues<SaeArchitecture>())
        {
            data.Add(arch, false);
            if (arch != SaeArchitecture.TopK) data.Add(arch, true);
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Projected_decoder_gradients_are_the_tangent_part_and_orthogonal_to_the_rows(SaeArchitecture arch, bool dense)
    {
        var rng = new Random(41);
        var w = SaeReferenceLoss.RandomWeights(arch, D, M, rng, logThreshold: Math.Log(0.05));
        for (int i = 0; i < M; i++)
        {
            var row = w.WDec.Row(i);
            double norm = Math.Sqrt(row.ToArray().Sum(v => v * v));
            for (int j = 0; j < D; j++) row[j] /= norm;
        }
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1;
        var s = new SaeLossSettings { Sparsity = 0.1, K = 4, Bandwidth = 0.05 };
        SaeTensors<double> Gradients(bool project, out int[] counts)
        {
            var kernel = SaeKernel<double>.Create(arch, D, M, denseAbove: dense ? 0 : 2);
            var g = new SaeTensors<double>(D, M, arch);
            kernel.Run(w, x, s, g, projectDecoder: project);
            Assert.Equal(dense, kernel.LastPassDense);
            counts = kernel.LatentCounts.ToArray();
            return g;
        }
        var plain = Gradients(false, out var counts);
        var projected = Gradients(true, out _);
        int fired = 0, moved = 0;
        for (int i = 0; i < M; i++)
        {
            var g = plain.WDec.Row(i).ToArray(); var p = projected.WDec.Row(i).ToArray(); var d = w.WDec.Row(i).ToArray();
            double along = 0;
            for (int j = 0; j < D; j++) along += g[j] * d[j];
            if (counts[i] == 0 && arch != SaeArchitecture.Gated) Assert.All(p, v => Assert.Equal(0, v));
            if (counts[i] > 0) fired++;
            if (Math.Abs(along) > 1e-6) moved++;
            double dot = 0;
            for (int j = 0; j < D; j++)
            {
                Assert.Equal(g[j] - along * d[j], p[j], 1e-12);
                dot += p[j] * d[j];
            }
            Assert.True(Math.Abs(dot) < 1e-12, $"latent {i}: projected gradient · decoder row = {dot}");
        }
        Assert.True(fired > 2 && moved > 2, $"the test needs fired latents with a radial gradient component ({fired} fired, {moved} radial)");
        // The projection touches W_dec only.
        var a = plain.All().ToArray(); var b = projected.All().ToArray();
        for (int p = 0; p < a.Length; p++)
            if (!ReferenceEquals(a[p], plain.WDec)) Assert.Equal(a[p].ToArray(), b[p].ToArray());
    }
}
