using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>Small generic SIMD building blocks shared by the kernels (float and double alike).</summary>
public static unsafe class Simd
{
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
                    acc0 = VectorMath.Fma(c, Vector512.Load(row), acc0);
                    acc1 = VectorMath.Fma(c, Vector512.Load(row + w), acc1);
                }
                acc0.Store(output + i);
                acc1.Store(output + i + w);
            }
            for (; i + w <= len; i += w)
            {
                var acc = Vector512.Load(output + i);
                T* row = rows + i;
                for (int r = 0; r < count; r++, row += rowStride)
                    acc = VectorMath.Fma(Vector512.Create(coeff[r * coeffStride]), Vector512.Load(row), acc);
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

    /// <summary>Σ x[i]·y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512<T>.Zero;
            for (; i + Vector512<T>.Count <= n; i += Vector512<T>.Count)
                acc = VectorMath.Fma(Vector512.Load(x + i), Vector512.Load(y + i), acc);
            sum = Vector512.Sum(acc);
        }
        for (; i < n; i++) sum += x[i] * y[i];
        return sum;
    }
}
