using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// The fallback register block for machines without AVX-512: 6 rows × 16 columns in 12 ymm accumulators
/// (AVX2 has 16 registers). Same packed layouts and epilogue as <see cref="GemmKernel512"/>.
/// </summary>
static unsafe class GemmKernel256
{
    public const int MR = 6, NR = 16;

    // Never inlined: inside the driver's larger body the JIT's tier-1 (PGO) recompile spilled the 24
    // accumulators and ran at 30% of the ceiling, measured after warm-up.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, bool readC)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            a += MR;
            b += NR;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Store(c, c00, c01, va, vb, readC); c += ldc;
        Store(c, c10, c11, va, vb, readC); c += ldc;
        Store(c, c20, c21, va, vb, readC); c += ldc;
        Store(c, c30, c31, va, vb, readC); c += ldc;
        Store(c, c40, c41, va, vb, readC); c += ldc;
        Store(c, c50, c51, va, vb, readC);
    }

    /// <summary>a·b + c with one rounding, as the AVX-512 kernel and the scalar edge path compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, Vector256<float> r0, Vector256<float> r1, Vector256<float> alpha, Vector256<float> beta, bool readC)
    {
        if (readC)
        {
            Vector256.Store(Fma(r0, alpha, Vector256.Load(c) * beta), c);
            Vector256.Store(Fma(r1, alpha, Vector256.Load(c + 8) * beta), c + 8);
        }
        else
        {
            Vector256.Store(r0 * alpha, c);
            Vector256.Store(r1 * alpha, c + 8);
        }
    }
}
