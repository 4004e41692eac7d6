using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// Copies blocks of A and B into the contiguous panel layouts the micro-kernels read. The transpose is
/// folded in here, so A·B, A·Bᵀ and Aᵀ·B all run the same kernel on the same layouts. Panels at the right
/// or bottom edge are padded with zeros; the padded rows and columns of C are computed and discarded.
/// </summary>
static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] as ⌈mc/mr⌉ panels, each kc steps of mr values (row-interleaved).
    /// </summary>
    public static void PackA(float* a, nint lda, bool transA, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        if (transA && mr == 6 && GemmPackingA6.Supported)
        {
            // Each source row (one K step) is read once, contiguously, and dealt out 6 floats per panel.
            int full = mc / 6 * 6;
            GemmPackingA6.ColumnsToPanels(a + (nint)p0 * lda + i0, lda, kc, full, dst);
            dst += (nint)full * kc;
            i0 += full;
            mc -= full;
        }
        for (int r0 = 0; r0 < mc; r0 += mr, dst += (nint)mr * kc)
        {
            int rows = Math.Min(mr, mc - r0);
            if (rows == 6 && mr == 6 && !transA && GemmPackingA6.Supported)
                GemmPackingA6.RowsToPanel(a + (nint)(i0 + r0) * lda + p0, lda, kc, dst);
            else if (transA)
            {
                // op(A)[i, p] = A[p, i]: each k step is a contiguous run of rows.
                float* src = a + (nint)p0 * lda + i0 + r0;
                for (int p = 0; p < kc; p++, src += lda)
                {
                    float* d = dst + (nint)p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = 0;
                }
            }
            else
            {
                // op(A)[i, p] = A[i, p]: interleave mr rows, walking each row contiguously.
                for (int r = 0; r < mr; r++)
                {
                    float* d = dst + r;
                    if (r >= rows)
                    {
                        for (int p = 0; p < kc; p++) d[(nint)p * mr] = 0;
                        continue;
                    }
                    float* src = a + (nint)(i0 + r0 + r) * lda + p0;
                    for (int p = 0; p < kc; p++) d[(nint)p * mr] = src[p];
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] as ⌈nc/nr⌉ panels, each kc steps of nr contiguous values.
    /// </summary>
    public static void PackB(float* b, nint ldb, bool transB, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        for (int c0 = 0; c0 < nc; c0 += nr, dst += (nint)nr * kc)
        {
            int cols = Math.Min(nr, nc - c0);
            if (!transB)
            {
                float* src = b + (nint)p0 * ldb + j0 + c0;
                for (int p = 0; p < kc; p++, src += ldb)
                    CopyRow(src, dst + (nint)p * nr, cols, nr);
            }
            else
            {
                // op(B)[p, j] = B[j, p]: a transpose, 8 columns at a time through registers where possible.
                int c = 0;
                if (GemmTranspose8.Supported)
                    for (; c + 8 <= cols; c += 8)
                        GemmTranspose8.EightColumns(b + (nint)(j0 + c0 + c) * ldb + p0, ldb, kc, dst + c, nr);
                for (; c < nr; c++)
                {
                    float* d = dst + c;
                    if (c >= cols)
                    {
                        for (int p = 0; p < kc; p++) d[(nint)p * nr] = 0;
                        continue;
                    }
                    float* src = b + (nint)(j0 + c0 + c) * ldb + p0;
                    for (int p = 0; p < kc; p++) d[(nint)p * nr] = src[p];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyRow(float* src, float* dst, int cols, int nr)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; c + 16 <= cols; c += 16) Vector512.Store(Vector512.Load(src + c), dst + c);
        else
            for (; c + 8 <= cols; c += 8) Vector256.Store(Vector256.Load(src + c), dst + c);
        for (; c < cols; c++) dst[c] = src[c];
        for (; c < nr; c++) dst[c] = 0;
    }
}
