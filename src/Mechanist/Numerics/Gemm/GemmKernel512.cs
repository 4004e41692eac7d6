using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mechanist.Numerics;

/// <summary>
/// The AVX-512 register block: 6 rows × 64 columns of C held in 24 zmm accumulators for a whole K block.
/// Per k step it loads 4 vectors of the packed B micro-panel and broadcasts 6 values of the packed
/// A micro-panel: 24 FMAs against 10 loads, which keeps both FMA pipes busy without spilling registers.
/// </summary>
static unsafe class GemmKernel512
{
    public const int MR = 6, NR = 64;

    /// <summary>
    /// C[6×64] = α·acc + β·C (or α·acc when <paramref name="readC"/> is false, C then not read).
    /// a: packed k×6, b: packed k×64 (64-byte aligned).
    /// </summary>
    // Never inlined: inside the driver's larger body the JIT's tier-1 (PGO) recompile spilled the 24
    // accumulators and ran at 30% of the ceiling, measured after warm-up.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta, bool readC)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        // Bring the C tile towards L1 while the K loop runs: its lines are stored (and maybe read) at the end.
        for (nint r = 0; r < MR; r++)
        {
            float* row = c + r * ldc;
            Sse.Prefetch0(row); Sse.Prefetch0(row + 16); Sse.Prefetch0(row + 32); Sse.Prefetch0(row + 48);
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            var b2 = Vector512.LoadAligned(b + 32);
            var b3 = Vector512.LoadAligned(b + 48);
            var x = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            c02 = Avx512F.FusedMultiplyAdd(x, b2, c02); c03 = Avx512F.FusedMultiplyAdd(x, b3, c03);
            x = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            c12 = Avx512F.FusedMultiplyAdd(x, b2, c12); c13 = Avx512F.FusedMultiplyAdd(x, b3, c13);
            x = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            c22 = Avx512F.FusedMultiplyAdd(x, b2, c22); c23 = Avx512F.FusedMultiplyAdd(x, b3, c23);
            x = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            c32 = Avx512F.FusedMultiplyAdd(x, b2, c32); c33 = Avx512F.FusedMultiplyAdd(x, b3, c33);
            x = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            c42 = Avx512F.FusedMultiplyAdd(x, b2, c42); c43 = Avx512F.FusedMultiplyAdd(x, b3, c43);
            x = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            c52 = Avx512F.FusedMultiplyAdd(x, b2, c52); c53 = Avx512F.FusedMultiplyAdd(x, b3, c53);
            a += MR;
            b += NR;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store(c, c00, c01, c02, c03, va, vb, readC); c += ldc;
        Store(c, c10, c11, c12, c13, va, vb, readC); c += ldc;
        Store(c, c20, c21, c22, c23, va, vb, readC); c += ldc;
        Store(c, c30, c31, c32, c33, va, vb, readC); c += ldc;
        Store(c, c40, c41, c42, c43, va, vb, readC); c += ldc;
        Store(c, c50, c51, c52, c53, va, vb, readC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3,
        Vector512<float> alpha, Vector512<float> beta, bool readC)
    {
        if (readC)
        {
            Vector512.Store(Avx512F.FusedMultiplyAdd(r0, alpha, Vector512.Load(c) * beta), c);
            Vector512.Store(Avx512F.FusedMultiplyAdd(r1, alpha, Vector512.Load(c + 16) * beta), c + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(r2, alpha, Vector512.Load(c + 32) * beta), c + 32);
            Vector512.Store(Avx512F.FusedMultiplyAdd(r3, alpha, Vector512.Load(c + 48) * beta), c + 48);
        }
        else
        {
            Vector512.Store(r0 * alpha, c);
            Vector512.Store(r1 * alpha, c + 16);
            Vector512.Store(r2 * alpha, c + 32);
            Vector512.Store(r3 * alpha, c + 48);
        }
    }
}
