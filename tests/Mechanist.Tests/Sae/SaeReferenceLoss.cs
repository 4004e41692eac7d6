using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// Each architecture's loss in plain float64, written from METHODS.md §2 and not from the kernel: no GEMM, no
/// entry lists, no dense path, one token and one latent at a time. The project's reconstruction term sums the
/// squared error over dimensions and averages over tokens (inputs are scaled to E‖x‖² = 1, §2.6):
///   x̄ = x − b_dec,  z = W_enc·x̄ + b_enc,  x̂ = Σ_i f_i·W_dec[i] + b_dec,  L = (1/B)Σ_t ‖x̂_t − x_t‖² + terms:
///   relu      f = ReLU(z);                 + λ(1/B)Σ_t Σ_i f_ti
///   topk      f = ReLU(TopK_k(z)) per token; + AuxK
///   batchtopk f = z on the B·k largest positive z of the batch; + AuxK
///   jumprelu  f = z·H(z − θ), θ = exp(log θ); + λ(1/B)Σ_t Σ_i H(z_ti − θ_i)
/// AuxK (§2.2) = α Σ_t ‖ê_t − r_t‖² / Σ_t ‖r_t − r̄‖², ê_t = Σ of the token's k_aux largest positive z over the dead
/// latents times their decoder rows, r = x − x̂ a constant (<paramref name="residual"/>: computed once from the
/// unperturbed weights, so central differences do not differentiate through it). Gated has its own reference
/// (<see cref="GatedSaeGradientTests"/>).
/// </summary>
public static class SaeReferenceLoss
{
    public static double Loss(SaeArchitecture arch, SaeTensors<double> w, Tensor<double> x, SaeLossSettings s, double[,]? residual = null) =>
        Evaluate(arch, w, x, s, residual, out _);

    /// <summary>r = x − x̂ of every token at these weights (the AuxK target).</summary>
    public static double[,] Residual(SaeArchitecture arch, SaeTensors<double> w, Tensor<double> x, SaeLossSettings s)
    {
        Evaluate(arch, w, x, s, null, out var r);
        return r;
    }

    /// <summary>
    /// Weights for the kernel tests: every tensor uniform in [−0.5, 0.5), <paramref name="encBias"/> added to b_enc, and
    /// JumpReLU's log θ set to <paramref name="logThreshold"/> or, without one, to log of a value uniform in [0.05, 0.15).
    /// </summary>
    public static SaeTensors<double> RandomWeights(SaeArchitecture arch, int d, int m, Random rng, double encBias = 0, double? logThreshold = null)
    {
        var w = new SaeTensors<double>(d, m, arch);
        foreach (var t in w.All()) for (int i = 0; i < t.Length; i++) t[i] = rng.NextDouble() - 0.5;
        for (int i = 0; i < m; i++) w.BEnc[i] += encBias;
        if (w.LogThreshold != null) for (int i = 0; i < m; i++) w.LogThreshold[i] = logThreshold ?? Math.Log(0.05 + 0.1 * rng.NextDouble());
        return w;
    }

    /// <summary>The latent activations f[token, latent] (not gated).</summary>
    public static double[,] Activations(SaeArchitecture arch, SaeTensors<double> w, Tensor<double> x, SaeLossSettings s) =>
        Encode(arch, w, x, s, out _, out _);

    static double Evaluate(SaeArchitecture arch, SaeTensors<double> w, Tensor<double> x, SaeLossSettings s, double[,]? residual, out double[,] r)
    {
        int b = x.RowCount, d = w.DIn, m = w.DSae;
        var f = Encode(arch, w, x, s, out var z, out double penalty);
        double reconstruction = 0;
        r = new double[b, d];
        for (int t = 0; t < b; t++)
            for (int j = 0; j < d; j++)
            {
                double xhat = w.BDec[j];
                for (int i = 0; i < m; i++) xhat += f[t, i] * w.WDec[i * d + j];
                reconstruction += (xhat - x[t * d + j]) * (xhat - x[t * d + j]);
                r[t, j] = x[t * d + j] - xhat;
            }
        reconstruction /= b;
        double aux = 0;
        if (arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK && s.Dead != null && s.KAux > 0 && s.Dead.Any(dd => dd))
        {
            var target = residual ?? r;
            var mean = new double[d];
            for (int t = 0; t < b; t++) for (int j = 0; j < d; j++) mean[j] += target[t, j] / b;
            double norm = 0, error = 0;
            for (int t = 0; t < b; t++)
            {
                var chosen = Enumerable.Range(0, m).Where(i => s.Dead[i]).OrderByDescending(i => z[t, i]).Take(s.KAux).Where(i => z[t, i] > 0);
                for (int j = 0; j < d; j++)
                {
                    double ehat = chosen.Sum(i => z[t, i] * w.WDec[i * d + j]);
                    error += (ehat - target[t, j]) * (ehat - target[t, j]);
                    norm += (target[t, j] - mean[j]) * (target[t, j] - mean[j]);
                }
            }
            aux = s.AuxAlpha * error / norm;
        }
        return reconstruction + penalty + aux;
    }

    /// <summary>Pre-activations z, activations f (returned) and the sparsity penalty as it enters the loss.</summary>
    static double[,] Encode(SaeArchitecture arch, SaeTensors<double> w, Tensor<double> x, SaeLossSettings s, out double[,] preActivations, out double penalty)
    {
        int b = x.RowCount, d = w.DIn, m = w.DSae;
        var z = preActivations = new double[b, m];
        for (int t = 0; t < b; t++)
            for (int i = 0; i < m; i++)
            {
                double v = w.BEnc[i];
                for (int j = 0; j < d; j++) v += w.WEnc[i * d + j] * (x[t * d + j] - w.BDec[j]);
                z[t, i] = v;
            }
        var f = new double[b, m];
        penalty = 0;
        switch (arch)
        {
            case SaeArchitecture.Relu:
                for (int t = 0; t < b; t++) for (int i = 0; i < m; i++) { f[t, i] = Math.Max(0, z[t, i]); penalty += f[t, i]; }
                penalty *= s.Sparsity / b;
                break;
            case SaeArchitecture.TopK:
                for (int t = 0; t < b; t++)
                    foreach (int i in Enumerable.Range(0, m).OrderByDescending(i => z[t, i]).Take(s.K))
                        f[t, i] = Math.Max(0, z[t, i]);
                break;
            case SaeArchitecture.BatchTopK:
                var kept = Enumerable.Range(0, b * m).Where(q => z[q / m, q % m] > 0).OrderByDescending(q => z[q / m, q % m]).Take(s.K * b);
                foreach (int q in kept) f[q / m, q % m] = z[q / m, q % m];
                break;
            case SaeArchitecture.JumpRelu:
                for (int t = 0; t < b; t++)
                    for (int i = 0; i < m; i++)
                        if (z[t, i] > Math.Exp(w.LogThreshold![i])) { f[t, i] = z[t, i]; penalty += 1; }
                penalty *= s.Sparsity / b;
                break;
            default: throw new ArgumentException($"{arch}: see GatedSaeGradientTests for gated's reference");
        }
        return f;
    }
}
