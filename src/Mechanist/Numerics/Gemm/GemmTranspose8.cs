using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mechanist.Numerics;

/// <summary>
/// Packs B stored transposed (element (p, j) at b[j·ldb + p]) by 8×8 register transposes: 8 source rows ×
/// 8 K steps become 8 packed rows of 8 columns, 24 shuffles per 64 floats instead of 64 strided stores.
/// </summary>
static unsafe class GemmTranspose8
{
    public static bool Supported => Avx.IsSupported;

    /// <summary>Columns j..j+8 (8 source rows) for kc steps into dst[p·nr + 0..7].</summary>
    public static void EightColumns(float* b, nint ldb, int kc, float* dst, int nr)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* s = b + p;
            var t0 = Avx.UnpackLow(Vector256.Load(s), Vector256.Load(s + ldb));
            var t1 = Avx.UnpackHigh(Vector256.Load(s), Vector256.Load(s + ldb));
            var t2 = Avx.UnpackLow(Vector256.Load(s + 2 * ldb), Vector256.Load(s + 3 * ldb));
            var t3 = Avx.UnpackHigh(Vector256.Load(s + 2 * ldb), Vector256.Load(s + 3 * ldb));
            var t4 = Avx.UnpackLow(Vector256.Load(s + 4 * ldb), Vector256.Load(s + 5 * ldb));
            var t5 = Avx.UnpackHigh(Vector256.Load(s + 4 * ldb), Vector256.Load(s + 5 * ldb));
            var t6 = Avx.UnpackLow(Vector256.Load(s + 6 * ldb), Vector256.Load(s + 7 * ldb));
            var t7 = Avx.UnpackHigh(Vector256.Load(s + 6 * ldb), Vector256.Load(s + 7 * ldb));
            var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
            var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
            var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
            var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
            float* d = dst + (nint)p * nr;
            Vector256.Store(Avx.Permute2x128(s0, s4, 0x20), d);
            Vector256.Store(Avx.Permute2x128(s1, s5, 0x20), d + nr);
            Vector256.Store(Avx.Permute2x128(s2, s6, 0x20), d + 2 * nr);
            Vector256.Store(Avx.Permute2x128(s3, s7, 0x20), d + 3 * nr);
            Vector256.Store(Avx.Permute2x128(s0, s4, 0x31), d + 4 * nr);
            Vector256.Store(Avx.Permute2x128(s1, s5, 0x31), d + 5 * nr);
            Vector256.Store(Avx.Permute2x128(s2, s6, 0x31), d + 6 * nr);
            Vector256.Store(Avx.Permute2x128(s3, s7, 0x31), d + 7 * nr);
        }
        for (; p < kc; p++)
        {
            float* d = dst + (nint)p * nr;
            for (int c = 0; c < 8; c++) d[c] = b[c * ldb + p];
        }
    }
}
