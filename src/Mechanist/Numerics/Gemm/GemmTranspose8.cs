using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mechanist.Numerics;

/// <summary>
/// 8×8 register transposes, 24 shuffles per 64 floats instead of 64 strided stores: GEMM packs B stored
/// transposed (element (p, j) at b[j·ldb + p]) with them, 8 source rows × 8 K steps becoming 8 packed rows of
/// 8 columns, and the sparse kernels turn token tiles around (<see cref="Sparse.SparseTiles"/>).
/// </summary>
static unsafe class GemmTranspose8
{
    public static bool Supported => Avx.IsSupported;

    /// <summary>Columns j..j+8 (8 source rows) for kc steps into dst[p·nr + 0..7].</summary>
    public static void EightColumns(float* b, nint ldb, int kc, float* dst, int nr)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8) Block(b + p, ldb, dst + (nint)p * nr, nr, add: false);
        for (; p < kc; p++)
        {
            float* d = dst + (nint)p * nr;
            for (int c = 0; c < 8; c++) d[c] = b[c * ldb + p];
        }
    }

    /// <summary>
    /// The 8×8 block at s (rows lds apart) transposed into d (rows ldd apart): d[c·ldd + r] = s[r·lds + c],
    /// or added to what d holds when <paramref name="add"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block(float* s, nint lds, float* d, nint ldd, bool add)
    {
        var t0 = Avx.UnpackLow(Vector256.Load(s), Vector256.Load(s + lds));
        var t1 = Avx.UnpackHigh(Vector256.Load(s), Vector256.Load(s + lds));
        var t2 = Avx.UnpackLow(Vector256.Load(s + 2 * lds), Vector256.Load(s + 3 * lds));
        var t3 = Avx.UnpackHigh(Vector256.Load(s + 2 * lds), Vector256.Load(s + 3 * lds));
        var t4 = Avx.UnpackLow(Vector256.Load(s + 4 * lds), Vector256.Load(s + 5 * lds));
        var t5 = Avx.UnpackHigh(Vector256.Load(s + 4 * lds), Vector256.Load(s + 5 * lds));
        var t6 = Avx.UnpackLow(Vector256.Load(s + 6 * lds), Vector256.Load(s + 7 * lds));
        var t7 = Avx.UnpackHigh(Vector256.Load(s + 6 * lds), Vector256.Load(s + 7 * lds));
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Put(Avx.Permute2x128(s0, s4, 0x20), d, add);
        Put(Avx.Permute2x128(s1, s5, 0x20), d + ldd, add);
        Put(Avx.Permute2x128(s2, s6, 0x20), d + 2 * ldd, add);
        Put(Avx.Permute2x128(s3, s7, 0x20), d + 3 * ldd, add);
        Put(Avx.Permute2x128(s0, s4, 0x31), d + 4 * ldd, add);
        Put(Avx.Permute2x128(s1, s5, 0x31), d + 5 * ldd, add);
        Put(Avx.Permute2x128(s2, s6, 0x31), d + 6 * ldd, add);
        Put(Avx.Permute2x128(s3, s7, 0x31), d + 7 * ldd, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(Vector256<float> v, float* d, bool add) => Vector256.Store(add ? v + Vector256.Load(d) : v, d);
}
