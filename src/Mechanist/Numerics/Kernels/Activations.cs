using System.Numerics;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>Element-wise nonlinearities used by MLPs and gates.</summary>
public enum Activation { Relu, Gelu, GeluNew, Sigmoid }

/// <summary>
/// Forward and backward of the element-wise activations, vectorised over float and double.
/// Backward passes take the forward input x (and output y where cheaper) and accumulate dx += f'(x)·dy.
/// GELU is x·Φ(x) = ½x(1+erf(x/√2)); "gelu_new" is GPT-2's tanh form ½x(1+tanh(√(2/π)(x+0.044715x³))).
/// </summary>
public static unsafe class Activations
{
    const double GeluNewC = 0.7978845608028654; // √(2/π)
    const double GeluNewA = 0.044715;
    const double InvSqrt2 = 0.7071067811865476;
    const double InvSqrt2Pi = 0.3989422804014327; // 1/√(2π)

    public static void Forward<T>(Activation kind, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length) throw new ArgumentException("activation input and output lengths differ");
        fixed (T* px = x) fixed (T* py = y)
        {
            T* xp = px, yp = py;
            RowParallel.For(x.Length, 1 << 15, (s, e) => ForwardRange(kind, xp + s, yp + s, e - s));
        }
    }

    /// <summary>dx += f'(x)·dy, with y = f(x) the saved forward output.</summary>
    public static void Backward<T>(Activation kind, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* px = x) fixed (T* py = y) fixed (T* pdy = dy) fixed (T* pdx = dx)
        {
            T* xp = px, yp = py, dyp = pdy, dxp = pdx;
            RowParallel.For(x.Length, 1 << 15, (s, e) => BackwardRange(kind, xp + s, yp + s, dyp + s, dxp + s, e - s));
        }
    }

    static void ForwardRange<T>(Activation kind, T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        int w = Vector512<T>.Count;
        bool simd = Vector512.IsHardwareAccelerated;
        var half = Vector512.Create(T.CreateTruncating(0.5));
        var one = Vector512<T>.One;
        switch (kind)
        {
            case Activation.Relu:
                if (simd) for (; i + w <= n; i += w) Vector512.Max(Vector512.Load(x + i), Vector512<T>.Zero).Store(y + i);
                for (; i < n; i++) y[i] = x[i] > T.Zero ? x[i] : T.Zero;
                break;
            case Activation.Sigmoid:
                if (simd) for (; i + w <= n; i += w) (one / (one + VectorMath.Exp(-Vector512.Load(x + i)))).Store(y + i);
                for (; i < n; i++) y[i] = T.One / (T.One + T.Exp(-x[i]));
                break;
            case Activation.GeluNew:
                {
                    var c = Vector512.Create(T.CreateTruncating(GeluNewC));
                    var a = Vector512.Create(T.CreateTruncating(GeluNewA));
                    if (simd)
                        for (; i + w <= n; i += w)
                        {
                            var v = Vector512.Load(x + i);
                            var u = c * VectorMath.Fma(a * v, v * v, v);
                            (half * v * (one + VectorMath.Tanh(u))).Store(y + i);
                        }
                    for (; i < n; i++)
                    {
                        T v = x[i];
                        T u = T.CreateTruncating(GeluNewC) * (v + T.CreateTruncating(GeluNewA) * v * v * v);
                        y[i] = T.CreateTruncating(0.5) * v * (T.One + T.Tanh(u));
                    }
                    break;
                }
            case Activation.Gelu:
                if (typeof(T) == typeof(float))
                {
                    float* xf = (float*)x, yf = (float*)y;
                    var s2 = Vector512.Create((float)InvSqrt2);
                    if (simd)
                        for (; i + 16 <= n; i += 16)
                        {
                            var v = Vector512.Load(xf + i);
                            (0.5f * v * (Vector512<float>.One + VectorMath.ErfFast(v * s2))).Store(yf + i);
                        }
                    for (; i < n; i++) yf[i] = 0.5f * xf[i] * (1f + VectorMath.ErfFast(xf[i] * (float)InvSqrt2));
                }
                else
                    for (; i < n; i++)
                    {
                        double v = double.CreateTruncating(x[i]);
                        y[i] = T.CreateTruncating(0.5 * v * (1 + VectorMath.Erf(v * InvSqrt2)));
                    }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    static void BackwardRange<T>(Activation kind, T* x, T* y, T* dy, T* dx, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        int w = Vector512<T>.Count;
        bool simd = Vector512.IsHardwareAccelerated;
        var half = Vector512.Create(T.CreateTruncating(0.5));
        var one = Vector512<T>.One;
        switch (kind)
        {
            case Activation.Relu:
                if (simd)
                    for (; i + w <= n; i += w)
                    {
                        var keep = Vector512.GreaterThan(Vector512.Load(x + i), Vector512<T>.Zero);
                        (Vector512.Load(dx + i) + Vector512.ConditionalSelect(keep, Vector512.Load(dy + i), Vector512<T>.Zero)).Store(dx + i);
                    }
                for (; i < n; i++) if (x[i] > T.Zero) dx[i] += dy[i];
                break;
            case Activation.Sigmoid:
                if (simd)
                    for (; i + w <= n; i += w)
                    {
                        var s = Vector512.Load(y + i);
                        VectorMath.Fma(Vector512.Load(dy + i), s * (one - s), Vector512.Load(dx + i)).Store(dx + i);
                    }
                for (; i < n; i++) dx[i] += dy[i] * y[i] * (T.One - y[i]);
                break;
            case Activation.GeluNew:
                {
                    // d/dx ½x(1+t) = ½(1+t) + ½x(1−t²)·c(1+3a·x²), t = tanh(c(x+a·x³))
                    var c = Vector512.Create(T.CreateTruncating(GeluNewC));
                    var a = Vector512.Create(T.CreateTruncating(GeluNewA));
                    var a3 = Vector512.Create(T.CreateTruncating(3 * GeluNewA));
                    if (simd)
                        for (; i + w <= n; i += w)
                        {
                            var v = Vector512.Load(x + i);
                            var v2 = v * v;
                            var t = VectorMath.Tanh(c * VectorMath.Fma(a * v, v2, v));
                            var d = half * (one + t) + half * v * (one - t * t) * c * VectorMath.Fma(a3, v2, one);
                            VectorMath.Fma(Vector512.Load(dy + i), d, Vector512.Load(dx + i)).Store(dx + i);
                        }
                    for (; i < n; i++)
                    {
                        T v = x[i], cc = T.CreateTruncating(GeluNewC), aa = T.CreateTruncating(GeluNewA), h = T.CreateTruncating(0.5);
                        T t = T.Tanh(cc * (v + aa * v * v * v));
                        T d = h * (T.One + t) + h * v * (T.One - t * t) * cc * (T.One + T.CreateTruncating(3 * GeluNewA) * v * v);
                        dx[i] += dy[i] * d;
                    }
                    break;
                }
            case Activation.Gelu:
                // d/dx x·Φ(x) = Φ(x) + x·φ(x)
                if (typeof(T) == typeof(float))
                {
                    float* xf = (float*)x, dyf = (float*)dy, dxf = (float*)dx;
                    var s2 = Vector512.Create((float)InvSqrt2);
                    var ip = Vector512.Create((float)InvSqrt2Pi);
                    if (simd)
                        for (; i + 16 <= n; i += 16)
                        {
                            var v = Vector512.Load(xf + i);
                            var cdf = 0.5f * (Vector512<float>.One + VectorMath.ErfFast(v * s2));
                            var pdf = ip * Vector512.Exp(-0.5f * v * v);
                            VectorMath.Fma(Vector512.Load(dyf + i), VectorMath.Fma(v, pdf, cdf), Vector512.Load(dxf + i)).Store(dxf + i);
                        }
                    for (; i < n; i++)
                    {
                        float v = xf[i];
                        float d = 0.5f * (1f + VectorMath.ErfFast(v * (float)InvSqrt2)) + v * (float)InvSqrt2Pi * MathF.Exp(-0.5f * v * v);
                        dxf[i] += dyf[i] * d;
                    }
                }
                else
                    for (; i < n; i++)
                    {
                        double v = double.CreateTruncating(x[i]);
                        double d = 0.5 * (1 + VectorMath.Erf(v * InvSqrt2)) + v * InvSqrt2Pi * Math.Exp(-0.5 * v * v);
                        dx[i] += dy[i] * T.CreateTruncating(d);
                    }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }
}
