using Mechanist.Numerics;
using Tensor = Mechanist.Numerics.Tensor<float>;

namespace Mechanist.Bench;

/// <summary>
/// Synthetic activations shaped like the ones SAEs are trained on: each row is a sparse sum of unit feature
/// directions, feature i active with a probability falling as a power of its rank (Zipf, exponent
/// <see cref="Exponent"/>: the most common fire on most rows, the rarest on a few in ten thousand), with
/// exponentially distributed magnitudes. A Gaussian input, by contrast, spreads firing evenly over latents,
/// the sparse kernel's best case.
/// </summary>
public sealed class HeavyTailedInputs
{
    public const double Exponent = 0.8;
    const double MostCommon = 0.9;

    /// <summary>Rows × d_in.</summary>
    public required Tensor X { get; init; }
    /// <summary>d_sae unit feature directions (rows).</summary>
    public required Tensor Features { get; init; }
    /// <summary>Probability of each feature being active in a row.</summary>
    public required double[] Frequencies { get; init; }

    /// <summary><paramref name="rows"/> rows with <paramref name="activePerRow"/> features active on average.</summary>
    public static HeavyTailedInputs Make(int dIn, int features, int rows, double activePerRow, ulong seed)
    {
        var rng = new Rng(seed);
        var f = new Tensor(features, dIn);
        rng.FillNormal(f.Span, 0, 1);
        for (int i = 0; i < features; i++)
        {
            var row = f.Row(i);
            float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(row));
            System.Numerics.Tensors.TensorPrimitives.Divide<float>(row, norm, row);
        }
        var p = Frequencies_(features, Math.Min(activePerRow, MostCommon * features));
        var x = new Tensor(rows, dIn);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Row(r);
            for (int i = 0; i < features; i++)
            {
                if (rng.NextDouble() >= p[i]) continue;
                float a = (float)-Math.Log(1 - rng.NextDouble());
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<float>(f.Row(i), a, xr, xr);
            }
        }
        return new HeavyTailedInputs { X = x, Features = f, Frequencies = p };
    }

    /// <summary>min(0.9, c / (i+1)^α) with c chosen (by bisection) so the frequencies sum to <paramref name="total"/>.</summary>
    static double[] Frequencies_(int n, double total)
    {
        double Sum(double c) { double s = 0; for (int i = 0; i < n; i++) s += Math.Min(MostCommon, c / Math.Pow(i + 1, Exponent)); return s; }
        double lo = 0, hi = total * 10 + 1;
        for (int it = 0; it < 100; it++) { double mid = (lo + hi) / 2; if (Sum(mid) < total) lo = mid; else hi = mid; }
        return [.. Enumerable.Range(0, n).Select(i => Math.Min(MostCommon, hi / Math.Pow(i + 1, Exponent)))];
    }

    /// <summary>The pre-activation level above which <paramref name="l0"/> of the encoder's latents fire per row of <paramref name="batch"/>, on average.</summary>
    public float Threshold(Tensor wEnc, Tensor batch, double l0)
    {
        int rows = Math.Min(batch.RowCount, 256), latents = wEnc.RowCount;
        var pre = new Tensor(rows, latents);
        Gemm.Multiply(batch.Rows(0, rows), false, wEnc, true, pre, 1f, 0f);
        var values = pre.Span.ToArray();
        Array.Sort(values);
        int index = (int)Math.Clamp(Math.Round(values.Length * (1 - l0 / latents)), 0, values.Length - 1);
        return values[index];
    }
}
