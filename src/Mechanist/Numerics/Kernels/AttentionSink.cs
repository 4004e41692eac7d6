using System.Numerics;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// The attention sink (WS25, docs/METHODS.md §6.1): each head has a learnable logit b_h on a dummy key whose value is 0,
/// always visible. Softmax over [b_h, scores] equals the plain softmax P⁰ scaled by c = 1/(1 + exp(b_h − lse)), lse
/// being the log-sum-exp of the row's scores; so the fused kernel runs unchanged and this pass rescales its pattern and
/// output. lse is recovered from the row's largest pattern entry (lse = s_j* − log P⁰_j*, with P⁰_j* ≥ 1/keys, so the
/// logarithm is well conditioned). Backward: with the sink's value 0, the kernel's softmax backward on the rescaled
/// pattern is exact for q, k, v, and ∂L/∂b_h = −Σ_rows p_sink·(dz·z) over the head's columns.
/// </summary>
public static class AttentionSink
{
    /// <summary>
    /// Rescales pattern [batch, heads, seq, keySeq] and z [batch, seq, heads·dHead] in place for sink logits [heads];
    /// returns each row's sink share p_sink [batch·heads·seq] (for <see cref="Backward"/>). q rows are [batch·seq, d],
    /// keys [batch, keyRows, d].
    /// </summary>
    public static T[] Apply<T>(AttentionKernel.Shape s, T scale, Tensor<T> q, Tensor<T> keys, Tensor<T> sink, Tensor<T> z, Tensor<T> pattern)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (sink.Length != s.Heads) throw new ArgumentException($"attention sink {sink.ShapeString} does not match {s.Heads} heads");
        int d = s.Heads * s.DHead, keySeq = s.KeySeq;
        var share = new T[s.Slices * s.Seq];
        RowParallel.For(s.Slices, 1, (start, end) =>
        {
            var qs = q.Span; var ks = keys.Span; var zs = z.Span; var ps = pattern.Span;
            for (int slice = start; slice < end; slice++)
            {
                int b = slice / s.Heads, h = slice % s.Heads, col = h * s.DHead;
                for (int i = 0; i < s.Seq; i++)
                {
                    int len = s.Causal ? s.QueryOffset + i + 1 : keySeq;
                    var prow = ps.Slice((slice * s.Seq + i) * keySeq, len);
                    int best = 0;
                    for (int j = 1; j < len; j++) if (prow[j] > prow[best]) best = j;
                    var qi = qs.Slice((b * s.Seq + i) * d + col, s.DHead);
                    var kj = ks.Slice((b * s.KeyRows + best) * d + col, s.DHead);
                    T score = T.Zero;
                    for (int c = 0; c < s.DHead; c++) score += qi[c] * kj[c];
                    T lse = score * scale - T.Log(prow[best]);
                    T keep = T.One / (T.One + T.Exp(sink[h] - lse));
                    share[slice * s.Seq + i] = T.One / (T.One + T.Exp(lse - sink[h]));
                    for (int j = 0; j < len; j++) prow[j] *= keep;
                    var zi = zs.Slice((b * s.Seq + i) * d + col, s.DHead);
                    for (int c = 0; c < s.DHead; c++) zi[c] *= keep;
                }
            }
        });
        return share;
    }

    /// <summary>dSink[h] += −Σ_{b,i} p_sink[b,h,i]·(dz_i·z_i) over head h's columns.</summary>
    public static void Backward<T>(AttentionKernel.Shape s, T[] share, Tensor<T> z, Tensor<T> dz, Tensor<T> dSink)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = s.Heads * s.DHead;
        var zs = z.Span; var g = dz.Span; var ds = dSink.Span;
        for (int slice = 0; slice < s.Slices; slice++)
        {
            int b = slice / s.Heads, h = slice % s.Heads, col = h * s.DHead;
            T sum = T.Zero;
            for (int i = 0; i < s.Seq; i++)
            {
                int row = (b * s.Seq + i) * d + col;
                T dot = T.Zero;
                for (int c = 0; c < s.DHead; c++) dot += g[row + c] * zs[row + c];
                sum += share[slice * s.Seq + i] * dot;
            }
            ds[h] -= sum;
        }
    }
}
