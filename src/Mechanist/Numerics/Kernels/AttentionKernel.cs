using System.Numerics;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// Fused multi-head attention over [batch, seq, heads·dHead] rows: scores = scale·q·kᵀ, optional causal
/// mask, softmax, z = pattern·v. Work is split over batch×head slices; each slice keeps kᵀ (or vᵀ) for its
/// head in a small transposed buffer so every inner loop is a register-blocked multiply-add (<see cref="VectorMath.Combine"/>).
/// Q, K and V may live inside one fused [.., 3·d] tensor: each has its own pointer and row stride.
/// Heads two vectors wide (d_head 32 in float) run through the register-blocked tiles of <see cref="AttentionTiles"/>.
/// Keys and values may also be longer than the queries (a key/value cache): the Seq queries are then the last
/// Seq of KeySeq positions, and each batch's keys start KeyRows rows after the previous batch's.
/// </summary>
public static unsafe class AttentionKernel
{
    public readonly record struct Shape(int Batch, int Seq, int Heads, int DHead, bool Causal)
    {
        public int Slices => Batch * Heads;
        /// <summary>Key (and value) positions each batch holds: Seq, or more with a cache (queries sit at the end).</summary>
        public int KeySeq { get; init; } = Seq;
        /// <summary>Rows from one batch's first key to the next batch's (a cache's capacity); at least KeySeq.</summary>
        public int KeyRows { get; init; } = Seq;
        /// <summary>Position of query 0 among the keys.</summary>
        public int QueryOffset => KeySeq - Seq;
    }

    /// <summary>Writes z (row stride ldz, must be zeroed) and pattern [batch, heads, seq, keySeq] (masked entries 0).</summary>
    public static void Forward<T>(Shape s, T scale, T* q, int ldq, T* k, int ldk, T* v, int ldv, T* z, int ldz, T* pattern)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool tiled = AttentionTiles.Fits<T>(s.DHead) && s.Seq >= AttentionTiles.Rows;
        RowParallel.For(s.Slices, 1, (start, end) =>
        {
            int keys = s.KeySeq;
            var kt = new T[s.DHead * keys];
            fixed (T* ktp = kt)
                for (int slice = start; slice < end; slice++)
                {
                    int b = slice / s.Heads, h = slice % s.Heads;
                    long rowBase = (long)b * s.Seq, keyBase = (long)b * s.KeyRows;
                    int col = h * s.DHead;
                    Transpose(k + keyBase * ldk + col, ldk, keys, s.DHead, ktp);
                    T* p = pattern + (long)slice * s.Seq * keys;
                    if (tiled)
                    {
                        AttentionTiles.Forward(s.Seq, keys, s.QueryOffset, s.Causal, scale, q + rowBase * ldq + col, ldq, ktp,
                            v + keyBase * ldv + col, ldv, z + rowBase * ldz + col, ldz, p, s.DHead);
                        continue;
                    }
                    for (int i = 0; i < s.Seq; i++)
                    {
                        int len = s.Causal ? s.QueryOffset + i + 1 : keys;
                        T* prow = p + (long)i * keys;
                        new Span<T>(prow, keys).Clear();
                        VectorMath.Combine(prow, len, q + (rowBase + i) * ldq + col, 1, s.DHead, ktp, keys);
                        for (int j = 0; j < len; j++) prow[j] *= scale;
                        Softmax.Row(prow, prow, len);
                        VectorMath.Combine(z + (rowBase + i) * ldz + col, s.DHead, prow, 1, len, v + keyBase * ldv + col, ldv);
                    }
                }
        });
    }

    /// <summary>Accumulates dq, dk, dv (row strides as for q, k, v) from dz and the saved pattern (no cache: KeySeq = Seq).</summary>
    public static void Backward<T>(Shape s, T scale, T* q, int ldq, T* k, int ldk, T* v, int ldv, T* pattern,
        T* dz, int lddz, T* dq, int lddq, T* dk, int lddk, T* dv, int lddv) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (s.KeySeq != s.Seq || s.KeyRows != s.Seq) throw new ArgumentException("attention backward runs without a key/value cache");
        bool tiled = AttentionTiles.Fits<T>(s.DHead) && s.Seq >= AttentionTiles.Rows;
        RowParallel.For(s.Slices, 1, (start, end) =>
        {
            var vt = new T[s.DHead * s.Seq];
            var dsBuffer = new T[s.Seq * s.Seq];
            fixed (T* vtp = vt) fixed (T* ds = dsBuffer)
                for (int slice = start; slice < end; slice++)
                {
                    int b = slice / s.Heads, h = slice % s.Heads;
                    long rowBase = (long)b * s.Seq;
                    int col = h * s.DHead;
                    Transpose(v + rowBase * ldv + col, ldv, s.Seq, s.DHead, vtp);
                    T* p = pattern + (long)slice * s.Seq * s.Seq;
                    if (tiled)
                    {
                        AttentionTiles.Backward(s.Seq, s.Causal, scale, q + rowBase * ldq + col, ldq, k + rowBase * ldk + col, ldk, vtp, p,
                            dz + rowBase * lddz + col, lddz, ds, dq == null ? null : dq + rowBase * lddq + col, lddq,
                            dk == null ? null : dk + rowBase * lddk + col, lddk, dv == null ? null : dv + rowBase * lddv + col, lddv, s.DHead);
                        continue;
                    }
                    new Span<T>(ds, s.Seq * s.Seq).Clear();
                    for (int i = 0; i < s.Seq; i++)
                    {
                        int len = s.Causal ? i + 1 : s.Seq;
                        T* prow = p + (long)i * s.Seq, dsrow = ds + (long)i * s.Seq;
                        T* dzrow = dz + (rowBase + i) * lddz + col;
                        // dP[i, j] = dz_i · v_j, then dS = P ∘ (dP − Σ_j P·dP), times the score scale.
                        VectorMath.Combine(dsrow, len, dzrow, 1, s.DHead, vtp, s.Seq);
                        T dot = VectorMath.Dot(prow, dsrow, len);
                        for (int j = 0; j < len; j++) dsrow[j] = prow[j] * (dsrow[j] - dot) * scale;
                        if (dq != null)
                            VectorMath.Combine(dq + (rowBase + i) * lddq + col, s.DHead, dsrow, 1, len, k + rowBase * ldk + col, ldk);
                    }
                    for (int j = 0; j < s.Seq; j++)
                    {
                        int first = s.Causal ? j : 0, count = s.Seq - first;
                        if (dk != null)
                            VectorMath.Combine(dk + (rowBase + j) * lddk + col, s.DHead, ds + (long)first * s.Seq + j, s.Seq, count,
                                q + (rowBase + first) * ldq + col, ldq);
                        if (dv != null)
                            VectorMath.Combine(dv + (rowBase + j) * lddv + col, s.DHead, p + (long)first * s.Seq + j, s.Seq, count,
                                dz + (rowBase + first) * lddz + col, lddz);
                    }
                }
        });
    }

    /// <summary>dst[c·rows + r] = src[r·ld + c] for a rows × cols block.</summary>
    static void Transpose<T>(T* src, int ld, int rows, int cols, T* dst) where T : unmanaged
    {
        for (int r = 0; r < rows; r++)
        {
            T* srow = src + (long)r * ld;
            for (int c = 0; c < cols; c++) dst[(long)c * rows + r] = srow[c];
        }
    }
}
