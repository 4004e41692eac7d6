using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// Helpers for the kernel tests: random tensors in either precision, and a comparison against a float64 reference
/// written as plainly as the formula. The kernels' shapes are chosen so that their vector bodies, scalar tails and
/// parallel splits all run (rows past each kernel's per-thread minimum, lengths that are not a multiple of 16).
/// </summary>
static class KernelReference
{
    public static Tensor<T> Random<T>(Random rng, double scale, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = new Tensor<T>(shape);
        for (int i = 0; i < t.Length; i++) t[i] = T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale);
        return t;
    }

    public static double[] ToDouble<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new double[values.Length];
        for (int i = 0; i < d.Length; i++) d[i] = double.CreateTruncating(values[i]);
        return d;
    }

    public static double[] ToDouble<T>(Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T> => ToDouble<T>(t.Span);

    /// <summary>Relative tolerance for a result computed in T from a float64 reference.</summary>
    public static double Tolerance<T>() => typeof(T) == typeof(float) ? 2e-5 : 1e-11;

    /// <summary>Fails naming the first element whose error exceeds tolerance·max(1, |expected|).</summary>
    public static void Close<T>(double[] expected, ReadOnlySpan<T> actual, string what, double? tolerance = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        double tol = tolerance ?? Tolerance<T>();
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            if (!(Math.Abs(a - expected[i]) <= tol * Math.Max(1, Math.Abs(expected[i]))))
                Assert.Fail($"{what} ({typeof(T).Name}): element {i} is {a}, expected {expected[i]}");
        }
    }

    public static void Close<T>(double[] expected, Tensor<T> actual, string what, double? tolerance = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Close<T>(expected, actual.Span, what, tolerance);

    /// <summary>erf to about 1e-15 by its Maclaurin series (|x| ≤ 3) or continued fraction (beyond): independent of the product's Erf.</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax <= 3)
        {
            double term = x, sum = x, x2 = x * x;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated from the tail.
        double f = ax;
        for (int n = 60; n >= 1; n--) f = ax + n / 2.0 / f;
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        return Math.Sign(x) * (1 - erfc);
    }
}
