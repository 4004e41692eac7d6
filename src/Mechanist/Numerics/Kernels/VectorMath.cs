using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>Transcendental functions on Vector512 of float or double, and an accurate scalar erf.</summary>
public static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector512.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>a·b + c with one rounding (float or double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }

    /// <summary>tanh(x) = 1 − 2/(e^{2x}+1): exact limits ±1 when e^{2x} overflows or underflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var one = Vector512<T>.One;
        var two = one + one;
        return one - two / (Exp(x + x) + one);
    }

    /// <summary>
    /// erf to double precision (relative error ≈1e-15): for |x| &lt; 2.5 the all-positive series
    /// erf(x) = 2/√π·e^{−x²}·Σ (2x²)ⁿ x / (1·3·…·(2n+1)); beyond, the continued fraction for erfc.
    /// </summary>
    public static double Erf(double x)
    {
        double a = Math.Abs(x), r;
        if (a < 2.5)
        {
            double term = a, sum = a, twoX2 = 2 * a * a;
            for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
            {
                term *= twoX2 / (2 * n + 1);
                sum += term;
            }
            r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum;
        }
        else
        {
            double f = a;
            for (int k = 60; k >= 1; k--) f = a + k * 0.5 / f;
            r = 1 - Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        }
        return x < 0 ? -r : r;
    }

    /// <summary>
    /// erf for float work: Abramowitz–Stegun 7.1.26, absolute error ≤ 1.5e-7 (float's own resolution).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ErfFast(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(0.3275911f) * a);
        var poly = Vector512.FusedMultiplyAdd(Vector512.Create(1.061405429f), t, Vector512.Create(-1.453152027f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(1.421413741f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(-0.284496736f));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(0.254829592f));
        var y = Vector512<float>.One - poly * t * Vector512.Exp(-(a * a));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -y, y);
    }

    public static float ErfFast(float x)
    {
        float a = MathF.Abs(x), t = 1f / (1f + 0.3275911f * a);
        float y = 1f - ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * MathF.Exp(-a * a);
        return x < 0 ? -y : y;
    }
}
