using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// The cache-blocked attention of one batch×head slice when a head is exactly two vectors wide (d_head 32 in
/// float, 16 in double): every product (q·kᵀ, pattern·v, dz·vᵀ, dS·k, dSᵀ·q, patternᵀ·dz) runs
/// <see cref="Rows"/> rows at a time through one register tile of 8 × 2 vectors, so each vector loaded from k or v
/// feeds 8 FMAs instead of 1. Causal slices skip the masked upper triangle tile by tile (only the diagonal tiles
/// compute a few masked entries, which are then zeroed). Same mathematics as the row-by-row path in
/// <see cref="AttentionKernel"/>; the pattern it saves is the same [seq, keys] with masked entries 0.
/// </summary>
static unsafe class AttentionTiles
{
    /// <summary>Rows per register tile.</summary>
    public const int Rows = 8;

    /// <summary>Whether a head of this width runs tiled.</summary>
    public static bool Fits<T>(int dHead) where T : unmanaged => Vector512.IsHardwareAccelerated && dHead == 2 * Vector512<T>.Count;

    /// <summary>
    /// One slice's forward: pattern rows [seq, keys] (overwritten) and z (accumulated). kt is the slice's keys
    /// transposed [dHead, keys]; q rows start at the slice's first query, v rows at its first key.
    /// </summary>
    public static void Forward<T>(int seq, int keys, int queryOffset, bool causal, T scale, T* q, int ldq, T* kt, T* v, int ldv,
        T* z, int ldz, T* p, int dHead) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i0 = 0; i0 < seq; i0 += Rows)
        {
            int rr = Math.Min(Rows, seq - i0);
            int span = causal ? queryOffset + i0 + rr : keys; // keys any row of this tile can see
            T* prow = p + (long)i0 * keys;
            Product(prow, keys, rr, q + (long)i0 * ldq, ldq, dHead, kt, keys, span);
            for (int r = 0; r < rr; r++)
                SoftmaxRow(prow + (long)r * keys, causal ? queryOffset + i0 + r + 1 : keys, keys, scale);
            Tile(z + (long)i0 * ldz, ldz, rr, prow, keys, 1, span, v, ldv);
        }
    }

    /// <summary>
    /// One slice's backward (no cache: keys = seq). vt is v transposed [dHead, seq]; ds a [seq, seq] scratch.
    /// Accumulates dq, dk, dv (any may be null).
    /// </summary>
    public static void Backward<T>(int seq, bool causal, T scale, T* q, int ldq, T* k, int ldk, T* vt, T* p, T* dz, int lddz,
        T* ds, T* dq, int lddq, T* dk, int lddk, T* dv, int lddv, int dHead) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i0 = 0; i0 < seq; i0 += Rows)
        {
            int rr = Math.Min(Rows, seq - i0);
            int span = causal ? i0 + rr : seq;
            T* dsrow = ds + (long)i0 * seq;
            // dP = dz·vᵀ, then dS = P ∘ (dP − Σ_j P·dP)·scale, zero where masked.
            Product(dsrow, seq, rr, dz + (long)i0 * lddz, lddz, dHead, vt, seq, span);
            for (int r = 0; r < rr; r++)
            {
                int len = causal ? i0 + r + 1 : seq;
                T* prow = p + (long)(i0 + r) * seq, drow = dsrow + (long)r * seq;
                T dot = VectorMath.Dot(prow, drow, len);
                for (int j = 0; j < len; j++) drow[j] = prow[j] * (drow[j] - dot) * scale;
                new Span<T>(drow + len, seq - len).Clear();
            }
            if (dq != null) Tile(dq + (long)i0 * lddq, lddq, rr, dsrow, seq, 1, span, k, ldk);
        }
        // dk_j = Σ_i dS[i, j]·q_i and dv_j = Σ_i P[i, j]·dz_i over the rows that see key j (i ≥ j when causal).
        for (int j0 = 0; j0 < seq; j0 += Rows)
        {
            int rr = Math.Min(Rows, seq - j0), first = causal ? j0 : 0;
            if (dk != null) Tile(dk + (long)j0 * lddk, lddk, rr, ds + (long)first * seq + j0, 1, seq, seq - first, q + (long)first * ldq, ldq);
            if (dv != null) Tile(dv + (long)j0 * lddv, lddv, rr, p + (long)first * seq + j0, 1, seq, seq - first, dz + (long)first * lddz, lddz);
        }
    }

    /// <summary>
    /// out[r, 0..span) = Σ_t a[r, t]·bt[t, 0..span) for r &lt; rr, t &lt; depth (a rows at stride lda, bt rows at
    /// stride ldb): a tile of rows times a transposed block, in column chunks of two vectors and a row-by-row tail.
    /// </summary>
    static void Product<T>(T* output, int ldo, int rr, T* a, int lda, int depth, T* bt, int ldb, int span)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w2 = 2 * Vector512<T>.Count, j = 0;
        for (int r = 0; r < rr; r++) new Span<T>(output + (long)r * ldo, span).Clear();
        for (; j + w2 <= span; j += w2) Tile(output + j, ldo, rr, a, lda, 1, depth, bt + j, ldb);
        if (j < span)
            for (int r = 0; r < rr; r++)
                VectorMath.Combine(output + (long)r * ldo + j, span - j, a + (long)r * lda, 1, depth, bt + j, ldb);
    }

    /// <summary>
    /// out[r, 0..2w) += Σ_t coeff[r·rs + t·ts]·rows[t·ld + 0..2w) for r &lt; rr ≤ 8, t &lt; count: 16 accumulators,
    /// each loaded pair of row vectors used by all 8 rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile<T>(T* output, int ldo, int rr, T* coeff, int rs, int ts, int count, T* rows, int ld)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        // Rows past rr read row rr − 1's coefficients (valid memory) and are never stored.
        T* c0 = coeff, c1 = coeff + (long)Math.Min(1, rr - 1) * rs, c2 = coeff + (long)Math.Min(2, rr - 1) * rs,
            c3 = coeff + (long)Math.Min(3, rr - 1) * rs, c4 = coeff + (long)Math.Min(4, rr - 1) * rs,
            c5 = coeff + (long)Math.Min(5, rr - 1) * rs, c6 = coeff + (long)Math.Min(6, rr - 1) * rs,
            c7 = coeff + (long)Math.Min(7, rr - 1) * rs;
        Vector512<T> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<T> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        T* row = rows;
        long off = 0;
        for (int t = 0; t < count; t++, row += ld, off += ts)
        {
            var v0 = Vector512.Load(row);
            var v1 = Vector512.Load(row + w);
            var b = Vector512.Create(c0[off]); a00 = VectorMath.Fma(b, v0, a00); a01 = VectorMath.Fma(b, v1, a01);
            b = Vector512.Create(c1[off]); a10 = VectorMath.Fma(b, v0, a10); a11 = VectorMath.Fma(b, v1, a11);
            b = Vector512.Create(c2[off]); a20 = VectorMath.Fma(b, v0, a20); a21 = VectorMath.Fma(b, v1, a21);
            b = Vector512.Create(c3[off]); a30 = VectorMath.Fma(b, v0, a30); a31 = VectorMath.Fma(b, v1, a31);
            b = Vector512.Create(c4[off]); a40 = VectorMath.Fma(b, v0, a40); a41 = VectorMath.Fma(b, v1, a41);
            b = Vector512.Create(c5[off]); a50 = VectorMath.Fma(b, v0, a50); a51 = VectorMath.Fma(b, v1, a51);
            b = Vector512.Create(c6[off]); a60 = VectorMath.Fma(b, v0, a60); a61 = VectorMath.Fma(b, v1, a61);
            b = Vector512.Create(c7[off]); a70 = VectorMath.Fma(b, v0, a70); a71 = VectorMath.Fma(b, v1, a71);
        }
        Add(output, w, a00, a01);
        if (rr > 1) Add(output + ldo, w, a10, a11);
        if (rr > 2) Add(output + 2L * ldo, w, a20, a21);
        if (rr > 3) Add(output + 3L * ldo, w, a30, a31);
        if (rr > 4) Add(output + 4L * ldo, w, a40, a41);
        if (rr > 5) Add(output + 5L * ldo, w, a50, a51);
        if (rr > 6) Add(output + 6L * ldo, w, a60, a61);
        if (rr > 7) Add(output + 7L * ldo, w, a70, a71);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add<T>(T* o, int w, Vector512<T> x0, Vector512<T> x1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        (Vector512.Load(o) + x0).Store(o);
        (Vector512.Load(o + w) + x1).Store(o + w);
    }

    /// <summary>row[0..len) ← softmax(scale·row[0..len)); row[len..keys) ← 0.</summary>
    static void SoftmaxRow<T>(T* row, int len, int keys, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count, j = 0;
        var vs = Vector512.Create(scale);
        var vmax = Vector512.Create(T.NegativeInfinity);
        for (; j + w <= len; j += w)
        {
            var x = Vector512.Load(row + j) * vs;
            x.Store(row + j);
            vmax = Vector512.Max(vmax, x);
        }
        T max = T.NegativeInfinity;
        for (int i = 0; i < w; i++) max = T.Max(max, vmax.GetElement(i));
        for (; j < len; j++) { row[j] *= scale; max = T.Max(max, row[j]); }
        var m = Vector512.Create(max);
        var acc = Vector512<T>.Zero;
        for (j = 0; j + w <= len; j += w)
        {
            var e = VectorMath.Exp(Vector512.Load(row + j) - m);
            e.Store(row + j);
            acc += e;
        }
        T sum = Vector512.Sum(acc);
        for (; j < len; j++) { T e = T.Exp(row[j] - max); row[j] = e; sum += e; }
        var inv = Vector512.Create(T.One / sum);
        for (j = 0; j + w <= len; j += w) (Vector512.Load(row + j) * inv).Store(row + j);
        T invs = T.One / sum;
        for (; j < len; j++) row[j] *= invs;
        new Span<T>(row + len, keys - len).Clear();
    }
}
