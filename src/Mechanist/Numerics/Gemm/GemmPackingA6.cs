using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mechanist.Numerics;

/// <summary>
/// Fast packing of full 6-row A panels, 8 K steps at a time. Packing A is paid once per (M block, K block)
/// and amortised only over N columns, so for N = 512 a scalar packer cost ≈15% of the GEMM.
/// </summary>
static unsafe class GemmPackingA6
{
    // Output vector o of 8 K steps holds elements e = 16·o + lane, meaning (step e/6, row e%6). With rows
    // r0|r1 in zmm X, r2|r3 in Y, r4|r5 in Z (8 steps each), element (p, r) sits at lane 8·(r%2) + p of
    // source r/2. Rows 0–3 come from a two-source permute of X and Y, rows 4–5 from a permute of Z.
    static readonly Vector512<int>[] FromXY = new Vector512<int>[3], FromZ = new Vector512<int>[3];
    static readonly Vector512<float>[] UseZ = new Vector512<float>[3];

    static GemmPackingA6()
    {
        for (int o = 0; o < 3; o++)
        {
            int[] xy = new int[16], z = new int[16];
            float[] useZ = new float[16];
            for (int lane = 0; lane < 16; lane++)
            {
                int e = 16 * o + lane, p = e / 6, r = e % 6;
                int within = 8 * (r % 2) + p;
                xy[lane] = r < 2 ? within : r < 4 ? 16 + within : 0;
                z[lane] = r >= 4 ? within : 0;
                useZ[lane] = r >= 4 ? BitConverter.Int32BitsToSingle(-1) : 0;
            }
            FromXY[o] = Vector512.Create(xy);
            FromZ[o] = Vector512.Create(z);
            UseZ[o] = Vector512.Create(useZ);
        }
    }

    public static bool Supported => Avx512F.IsSupported;

    /// <summary>Six rows of row-major A (element (r, p) at a[r·lda + p]) for kc steps into dst[p·6 + r].</summary>
    public static void RowsToPanel(float* a, nint lda, int kc, float* dst)
    {
        float* r0 = a, r1 = a + lda, r2 = a + 2 * lda, r3 = a + 3 * lda, r4 = a + 4 * lda, r5 = a + 5 * lda;
        Vector512<int> xy0 = FromXY[0], xy1 = FromXY[1], xy2 = FromXY[2], z0 = FromZ[0], z1 = FromZ[1], z2 = FromZ[2];
        Vector512<float> u0 = UseZ[0], u1 = UseZ[1], u2 = UseZ[2];
        int p = 0;
        for (; p + 8 <= kc; p += 8, dst += 48)
        {
            var x = Vector512.Create(Vector256.Load(r0 + p), Vector256.Load(r1 + p));
            var y = Vector512.Create(Vector256.Load(r2 + p), Vector256.Load(r3 + p));
            var z = Vector512.Create(Vector256.Load(r4 + p), Vector256.Load(r5 + p));
            Vector512.Store(Vector512.ConditionalSelect(u0, Avx512F.PermuteVar16x32(z, z0), Avx512F.PermuteVar16x32x2(x, xy0, y)), dst);
            Vector512.Store(Vector512.ConditionalSelect(u1, Avx512F.PermuteVar16x32(z, z1), Avx512F.PermuteVar16x32x2(x, xy1, y)), dst + 16);
            Vector512.Store(Vector512.ConditionalSelect(u2, Avx512F.PermuteVar16x32(z, z2), Avx512F.PermuteVar16x32x2(x, xy2, y)), dst + 32);
        }
        for (; p < kc; p++, dst += 6)
        {
            dst[0] = r0[p]; dst[1] = r1[p]; dst[2] = r2[p]; dst[3] = r3[p]; dst[4] = r4[p]; dst[5] = r5[p];
        }
    }

    /// <summary>
    /// Column-stored A (element (r, p) at a[p·lda + r]), rows 0..rows (a multiple of 6) for kc steps, into
    /// rows/6 consecutive panels. Source rows are read 8 K steps at a time so that each panel receives 48
    /// contiguous floats (whole cache lines): the panels lie 12 KiB apart, all in one L1 set, and a step at
    /// a time the half-written lines were evicted before their other half arrived.
    /// Each panel step moves 8 floats: a plain load (a masked one for the last panel, never reading past
    /// the block) and an 8-wide store whose last 2 the next step overwrites (a masked store at the last step).
    /// </summary>
    public static void ColumnsToPanels(float* a, nint lda, int kc, int rows, float* dst)
    {
        var six = Vector256.Create(-1, -1, -1, -1, -1, -1, 0, 0).AsSingle();
        nint panel = (nint)6 * kc;
        for (int p0 = 0; p0 < kc; p0 += 8)
        {
            int steps = Math.Min(8, kc - p0);
            bool last = p0 + steps == kc;
            float* src = a + (nint)p0 * lda;
            float* d = dst + (nint)p0 * 6;
            for (int r = 0; r < rows; r += 6, d += panel)
            {
                bool inside = r + 8 <= rows;
                for (int q = 0; q < steps; q++)
                {
                    float* s = src + q * lda + r;
                    var v = inside ? Vector256.Load(s) : Avx.MaskLoad(s, six);
                    if (last && q == steps - 1) Avx.MaskStore(d + q * 6, six, v);
                    else Vector256.Store(v, d + q * 6);
                }
            }
        }
    }
}
