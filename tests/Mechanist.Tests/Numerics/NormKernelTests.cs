using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// Layer norm and RMS norm against float64 formulas over 800 rows (three workers at 256 rows or more each, so the
/// gain and bias gradients are summed from per-worker partials), with every gradient asked for or not.
/// </summary>
[Collection("threads-alone")]
public class NormKernelTests
{
    const int Rows = 800;

    sealed record Expected(double[] Y, double[] Mean, double[] Rstd, double[] Dx, double[] DGain, double[] DBias);

    /// <summary>The norm of x and the gradients of Σ y∘dy added to dx0, dGain0, dBias0 (centred: layer norm).</summary>
    static Expected Reference(int width, double[] x, double[] gain, double[]? bias, double eps, double[] dy, double[] dx0, double[] dGain0,
        double[] dBias0, bool center)
    {
        var y = new double[x.Length]; var mean = new double[Rows]; var rstd = new double[Rows];
        var dx = (double[])dx0.Clone(); var dGain = (double[])dGain0.Clone(); var dBias = (double[])dBias0.Clone();
        for (int r = 0; r < Rows; r++)
        {
            var row = x.AsSpan(r * width, width).ToArray();
            double mu = center ? row.Average() : 0;
            double inv = 1 / Math.Sqrt(row.Average(v => (v - mu) * (v - mu)) + eps);
            mean[r] = mu; rstd[r] = inv;
            var xhat = row.Select(v => (v - mu) * inv).ToArray();
            var dxhat = new double[width];
            for (int j = 0; j < width; j++)
            {
                int i = r * width + j;
                y[i] = xhat[j] * gain[j] + (bias?[j] ?? 0);
                dGain[j] += dy[i] * xhat[j];
                if (center) dBias[j] += dy[i];
                dxhat[j] = dy[i] * gain[j];
            }
            double meanDxhat = center ? dxhat.Average() : 0, meanDot = dxhat.Zip(xhat, (a, b) => a * b).Average();
            for (int j = 0; j < width; j++) dx[r * width + j] += inv * (dxhat[j] - meanDxhat - xhat[j] * meanDot);
        }
        return new Expected(y, mean, rstd, dx, dGain, dBias);
    }

    static void Check<T>(bool layerNorm, bool withBias, bool wantDx, bool wantDGain, bool wantDBias, int width = 21) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(3))
        {
            var rng = new Random(11);
            var x = Random<T>(rng, 3, Rows, width);
            for (int i = 0; i < x.Length; i++) x[i] += T.CreateTruncating(i % width * 0.25); // a mean far from 0
            var gain = Random<T>(rng, 2, width);
            var bias = withBias ? Random<T>(rng, 1, width) : null;
            var dy = Random<T>(rng, 1, Rows, width);
            var dx = Random<T>(rng, 1, Rows, width);
            var dGain = Random<T>(rng, 1, width);
            var dBias = Random<T>(rng, 1, width);
            var eps = T.CreateTruncating(1e-2); // large enough that a missing eps shows
            var expected = Reference(width, ToDouble(x), ToDouble(gain), bias == null ? null : ToDouble(bias), 1e-2, ToDouble(dy), ToDouble(dx),
                ToDouble(dGain), ToDouble(dBias), layerNorm);
            var before = (Dx: ToDouble(dx), DGain: ToDouble(dGain), DBias: ToDouble(dBias));

            var y = Random<T>(rng, 1, Rows, width); // the forward must overwrite, not add
            var mean = new T[Rows];
            var rstd = new T[Rows];
            if (layerNorm) Norms.LayerNormForward(x, gain, bias, eps, y, mean, rstd);
            else Norms.RmsNormForward(x, gain, eps, y, rstd);
            Close(expected.Y, y, "norm output");
            Close(expected.Rstd, rstd, "1/σ");
            if (layerNorm) Close(expected.Mean, mean, "mean");

            if (layerNorm)
                Norms.LayerNormBackward(x, gain, mean, rstd, dy, wantDx ? dx : null, wantDGain ? dGain : null, wantDBias ? dBias : null);
            else Norms.RmsNormBackward(x, gain, rstd, dy, wantDx ? dx : null, wantDGain ? dGain : null);
            Close(wantDx ? expected.Dx : before.Dx, dx, "dx");
            Close(wantDGain ? expected.DGain : before.DGain, dGain, "d gain", Tolerance<T>() * 30);
            Close(wantDBias && layerNorm ? expected.DBias : before.DBias, dBias, "d bias", Tolerance<T>() * 30);
        }
    }

    [Theory]
    [InlineData(true, true, true, true, true)]
    [InlineData(true, false, true, false, false)]
    [InlineData(true, true, false, true, false)]
    [InlineData(true, true, false, false, true)]
    [InlineData(false, false, true, true, false)]
    [InlineData(false, false, false, true, false)]
    public void Norms_match_the_formula_in_float(bool layerNorm, bool withBias, bool dx, bool dGain, bool dBias)
        => Check<float>(layerNorm, withBias, dx, dGain, dBias);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rows_of_two_keep_each_workers_gain_and_bias_partials_apart(bool layerNorm)
        => Check<float>(layerNorm, layerNorm, true, true, layerNorm, width: 2); // a partial offset off by a factor of d collides here

    [Theory]
    [InlineData(true, true, true, true, true)]
    [InlineData(true, false, true, true, true)]
    [InlineData(false, false, true, true, false)]
    [InlineData(false, false, true, false, false)]
    public void Norms_match_the_formula_in_double(bool layerNorm, bool withBias, bool dx, bool dGain, bool dBias)
        => Check<double>(layerNorm, withBias, dx, dGain, dBias);
}
