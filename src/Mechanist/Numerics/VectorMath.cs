using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// The SIMD building blocks every kernel is made of, for float and double alike: dot products, y += α·x,
/// scaling, the register-blocked row combination inside attention, and the transcendental functions
/// (exp, tanh, erf) on Vector512. The one home of these loops: the tensor kernels (Numerics/Kernels), the
/// sparse SAE passes and generation all call here.
/// </summary>
public static unsafe class VectorMath
{
    /// <summary>Σ a_j·b_j over the shorter length of the two (two accumulators, so long rows keep two FMA ports busy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            var acc0 = Vector512<T>.Zero; var acc1 = Vector512<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                acc0 += Vector512.LoadUnsafe(ref ra, (nuint)i) * Vector512.LoadUnsafe(ref rb, (nuint)i);
                acc1 += Vector512.LoadUnsafe(ref ra, (nuint)(i + w)) * Vector512.LoadUnsafe(ref rb, (nuint)(i + w));
            }
            for (; i <= n - w; i += w) acc0 += Vector512.LoadUnsafe(ref ra, (nuint)i) * Vector512.LoadUnsafe(ref rb, (nuint)i);
            sum = Vector512.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
        return sum;
    }

    /// <summary>Σ x[i]·y[i] over n entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
        => Dot(new ReadOnlySpan<T>(x, n), new ReadOnlySpan<T>(y, n));

    /// <summary>y ← y + α·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Math.Min(x.Length, y.Length), i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            var va = Vector512.Create(alpha);
            for (; i <= n - w; i += w)
                (Vector512.LoadUnsafe(ref ry, (nuint)i) + va * Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) += alpha * Unsafe.Add(ref rx, i);
    }

    /// <summary>y ← α·x (overwrite).</summary>
    public static void Scale<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = alpha * x[i];
    }

    /// <summary>
    /// out[0..len) += Σ_r coeff[r·coeffStride] · rows[r·rowStride + 0..len), accumulating each output chunk
    /// in registers across all rows. This is the inner loop of attention: pattern·V, dS·K, dSᵀ·Q, q·Kᵀ.
    /// </summary>
    public static void Combine<T>(T* output, int len, T* coeff, int coeffStride, int count, T* rows, int rowStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int w = Vector512<T>.Count;
            for (; i + 2 * w <= len; i += 2 * w)
            {
                var acc0 = Vector512.Load(output + i);
                var acc1 = Vector512.Load(output + i + w);
                T* row = rows + i;
                for (int r = 0; r < count; r++, row += rowStride)
                {
                    var c = Vector512.Create(coeff[r * coeffStride]);
                    acc0 = Fma(c, Vector512.Load(row), acc0);
                    acc1 = Fma(c, Vector512.Load(row + w), acc1);
                }
                acc0.Store(output + i);
                acc1.Store(output + i + w);
            }
            for (; i + w <= len; i += w)
            {
                var acc = Vector512.Load(output + i);
                T* row = rows + i;
                for (int r = 0; r < count; r++, row += rowStride)
                    acc = Fma(Vector512.Create(coeff[r * coeffStride]), Vector512.Load(row), acc);
                acc.Store(output + i);
            }
        }
        for (; i < len; i++)
        {
            T acc = output[i];
            for (int r = 0; r < count; r++) acc += coeff[r * coeffStride] * rows[r * rowStride + i];
            output[i] = acc;
        }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector512.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
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

    /// <summary>Runs body(start, end, worker) over [0, n) split into contiguous ranges, one per worker.</summary>
    public static void ForRanges(int n, int workers, Action<int, int, int> body)
    {
        workers = Math.Max(1, Math.Min(workers, n));
        if (workers == 1) { body(0, n, 0); return; }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
            w => body((int)((long)n * w / workers), (int)((long)n * (w + 1) / workers), w));
    }
}
