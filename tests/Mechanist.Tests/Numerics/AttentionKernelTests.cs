using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The fused attention kernel against attention written out in float64: the register-tiled path (heads two vectors
/// wide, 37 positions so tiles of 8 end in a partial one and key spans in a tail) and the row-by-row path, causal
/// or not, with a key/value cache longer than the queries, and the attention sink. Q, K and V sit side by side in one
/// [rows, 3d] tensor and z has a padded row stride, so a stride mixed up between them shows.
/// </summary>
public unsafe class AttentionKernelTests
{
    const int Batch = 2, Heads = 2;

    /// <summary>Inputs at given strides: element (row, column) of q is q[row·ldq + column] and so on.</summary>
    sealed record Layout(double[] Q, int Ldq, double[] K, int Ldk, double[] V, int Ldv);

    /// <summary>pattern [batch, heads, seq, keySeq] and z [batch·seq, d] (dense) by the definition.</summary>
    static (double[] Pattern, double[] Z, double[] SinkShare) ReferenceForward(AttentionKernel.Shape s, double scale, Layout l, double[]? sink)
    {
        int d = s.Heads * s.DHead;
        var pattern = new double[s.Slices * s.Seq * s.KeySeq];
        var z = new double[s.Batch * s.Seq * d];
        var share = new double[s.Slices * s.Seq];
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.Heads; h++)
                for (int i = 0; i < s.Seq; i++)
                {
                    int qRow = b * s.Seq + i, visible = s.Causal ? s.QueryOffset + i + 1 : s.KeySeq;
                    var e = new double[visible];
                    for (int j = 0; j < visible; j++)
                    {
                        double score = 0;
                        for (int c = 0; c < s.DHead; c++)
                            score += l.Q[qRow * l.Ldq + h * s.DHead + c] * l.K[(b * s.KeyRows + j) * l.Ldk + h * s.DHead + c];
                        e[j] = Math.Exp(score * scale);
                    }
                    double sinkWeight = sink == null ? 0 : Math.Exp(sink[h]), total = e.Sum() + sinkWeight;
                    int slice = b * s.Heads + h;
                    share[slice * s.Seq + i] = sinkWeight / total;
                    for (int j = 0; j < visible; j++)
                    {
                        double p = e[j] / total;
                        pattern[(slice * s.Seq + i) * s.KeySeq + j] = p;
                        for (int c = 0; c < s.DHead; c++)
                            z[qRow * d + h * s.DHead + c] += p * l.V[(b * s.KeyRows + j) * l.Ldv + h * s.DHead + c];
                    }
                }
        return (pattern, z, share);
    }

    /// <summary>dq, dk, dv [batch·seq, d] each (dense) of Σ z∘dz, from the reference pattern (no cache).</summary>
    static (double[] Dq, double[] Dk, double[] Dv) ReferenceBackward(AttentionKernel.Shape s, double scale, Layout l, double[] pattern, double[] dz)
    {
        int d = s.Heads * s.DHead, n = s.Seq;
        var dq = new double[s.Batch * n * d]; var dk = new double[dq.Length]; var dv = new double[dq.Length];
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.Heads; h++)
            {
                int slice = b * s.Heads + h, col = h * s.DHead;
                double P(int i, int j) => pattern[(slice * n + i) * n + j];
                for (int i = 0; i < n; i++)
                {
                    var dp = new double[n];
                    for (int j = 0; j < n; j++)
                        for (int c = 0; c < s.DHead; c++) dp[j] += dz[(b * n + i) * d + col + c] * l.V[(b * n + j) * l.Ldv + col + c];
                    double dot = Enumerable.Range(0, n).Sum(j => P(i, j) * dp[j]);
                    for (int j = 0; j < n; j++)
                    {
                        double ds = P(i, j) * (dp[j] - dot) * scale;
                        for (int c = 0; c < s.DHead; c++)
                        {
                            dq[(b * n + i) * d + col + c] += ds * l.K[(b * n + j) * l.Ldk + col + c];
                            dk[(b * n + j) * d + col + c] += ds * l.Q[(b * n + i) * l.Ldq + col + c];
                            dv[(b * n + j) * d + col + c] += P(i, j) * dz[(b * n + i) * d + col + c];
                        }
                    }
                }
            }
        return (dq, dk, dv);
    }

    static void ForwardAndBackward<T>(int dHead, int seq, bool causal, bool wantDq, bool wantDk, bool wantDv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = new AttentionKernel.Shape(Batch, seq, Heads, dHead, causal);
        int d = Heads * dHead, rows = Batch * seq, ldz = d + 3;
        double scale = 1 / Math.Sqrt(dHead);
        var rng = new Random(dHead * 100 + seq + (causal ? 1 : 0));
        var qkv = Random<T>(rng, 2, rows, 3 * d);
        var qkvd = ToDouble(qkv);
        var layout = new Layout(qkvd, 3 * d, qkvd.Skip(d).ToArray(), 3 * d, qkvd.Skip(2 * d).ToArray(), 3 * d);
        var (pattern, z, _) = ReferenceForward(s, scale, layout, null);

        var zT = new Tensor<T>(rows, ldz);
        var patternT = Random<T>(rng, 1, s.Slices * seq * seq); // masked entries must be written as 0
        T* p = qkv.Pointer;
        AttentionKernel.Forward(s, T.CreateTruncating(scale), p, 3 * d, p + d, 3 * d, p + 2 * d, 3 * d, zT.Pointer, ldz, patternT.Pointer);
        Close(pattern, patternT, "pattern");
        Close(Dense(z, rows, d, ldz), zT, "z");

        var dzT = Random<T>(rng, 1, rows, ldz);
        var dzd = ToDouble(dzT);
        var dzDense = Enumerable.Range(0, rows * d).Select(i => dzd[i / d * ldz + i % d]).ToArray();
        var grads = Random<T>(rng, 1, rows, 3 * d); // dq, dk, dv side by side, added into
        var before = ToDouble(grads);
        var (dq, dk, dv) = ReferenceBackward(s, scale, layout, pattern, dzDense);
        T* g = grads.Pointer;
        AttentionKernel.Backward(s, T.CreateTruncating(scale), p, 3 * d, p + d, 3 * d, p + 2 * d, 3 * d, patternT.Pointer, dzT.Pointer, ldz,
            wantDq ? g : null, 3 * d, wantDk ? g + d : null, 3 * d, wantDv ? g + 2 * d : null, 3 * d);
        var expected = (double[])before.Clone();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < d; c++)
            {
                if (wantDq) expected[r * 3 * d + c] += dq[r * d + c];
                if (wantDk) expected[r * 3 * d + d + c] += dk[r * d + c];
                if (wantDv) expected[r * 3 * d + 2 * d + c] += dv[r * d + c];
            }
        Close(expected, grads, "dq, dk, dv", Tolerance<T>() * 3);
    }

    /// <summary>A dense [rows, d] array laid out at row stride ld (zeros in the padding).</summary>
    static double[] Dense(double[] x, int rows, int d, int ld)
    {
        var o = new double[rows * ld];
        for (int r = 0; r < rows; r++) Array.Copy(x, r * d, o, r * ld, d);
        return o;
    }

    [Theory]
    [InlineData(32, 37, true)]
    [InlineData(32, 37, false)]
    [InlineData(32, 8, true)]
    [InlineData(9, 11, true)]
    [InlineData(9, 11, false)]
    [InlineData(32, 5, true)]
    [InlineData(32, 16, false)] // whole tiles only: a loop running one tile too far would reach the next batch's rows
    public void Float_attention_matches_the_definition(int dHead, int seq, bool causal)
        => ForwardAndBackward<float>(dHead, seq, causal, true, true, true);

    [Theory]
    [InlineData(16, 37, true)]
    [InlineData(16, 37, false)]
    [InlineData(9, 11, true)]
    [InlineData(9, 11, false)]
    [InlineData(16, 8, false)]
    public void Double_attention_matches_the_definition(int dHead, int seq, bool causal)
        => ForwardAndBackward<double>(dHead, seq, causal, true, true, true);

    [Theory]
    [InlineData(16, true, false, false)]
    [InlineData(16, false, true, false)]
    [InlineData(16, false, false, true)]
    [InlineData(9, true, false, false)]
    [InlineData(9, false, true, false)]
    [InlineData(9, false, false, true)]
    public void Backward_leaves_a_gradient_nobody_asked_for_untouched(int dHead, bool dq, bool dk, bool dv)
        => ForwardAndBackward<double>(dHead, 13, true, dq, dk, dv);

    /// <summary>Queries at the end of a longer key sequence, keys and values in their own [batch, keyRows, d] buffers.</summary>
    static void Cached<T>(int dHead, int seq, int keySeq, int keyRows, bool causal, bool withSink) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = new AttentionKernel.Shape(Batch, seq, Heads, dHead, causal) { KeySeq = keySeq, KeyRows = keyRows };
        int d = Heads * dHead, rows = Batch * seq;
        double scale = 1 / Math.Sqrt(dHead);
        var rng = new Random(dHead + seq * 7 + keySeq * 31);
        var q = Random<T>(rng, 2, rows, d);
        var k = Random<T>(rng, 2, Batch * keyRows, d);
        var v = Random<T>(rng, 2, Batch * keyRows, d);
        var sink = Random<T>(rng, 2, Heads);
        var layout = new Layout(ToDouble(q), d, ToDouble(k), d, ToDouble(v), d);
        var (pattern, z, share) = ReferenceForward(s, scale, layout, withSink ? ToDouble(sink) : null);

        var zT = new Tensor<T>(rows, d);
        var patternT = new Tensor<T>(s.Slices * seq * keySeq);
        T tScale = T.CreateTruncating(scale);
        AttentionKernel.Forward(s, tScale, q.Pointer, d, k.Pointer, d, v.Pointer, d, zT.Pointer, d, patternT.Pointer);
        if (withSink)
        {
            var shareT = AttentionSink.Apply(s, tScale, q, k, sink, zT, patternT);
            Close(share, shareT, "sink share");
        }
        Close(pattern, patternT, "pattern", Tolerance<T>() * 3);
        Close(z, zT, "z", Tolerance<T>() * 3);
    }

    [Theory]
    [InlineData(32, 9, 20, 24, true, false)]
    [InlineData(32, 9, 20, 24, false, false)]
    [InlineData(9, 3, 7, 8, true, false)]
    [InlineData(32, 9, 20, 24, true, true)]
    [InlineData(9, 3, 7, 8, false, true)]
    public void Queries_after_a_key_value_cache_match_the_definition(int dHead, int seq, int keySeq, int keyRows, bool causal, bool sink)
        => Cached<float>(dHead, seq, keySeq, keyRows, causal, sink);

    [Theory]
    [InlineData(9, 5, 5, 5, true)]
    [InlineData(9, 5, 5, 5, false)]
    [InlineData(16, 4, 11, 12, true)]
    public void The_sink_takes_its_share_of_every_row(int dHead, int seq, int keySeq, int keyRows, bool causal)
        => Cached<double>(dHead, seq, keySeq, keyRows, causal, withSink: true);

    [Fact]
    public void The_sink_recovers_log_sum_exp_from_the_rows_largest_entry_even_where_others_underflow()
    {
        // Key 0 scores −200 below key 1: its float pattern entry is exactly 0, so log-sum-exp must come from key 1's.
        // With the sink's logit equal to that log-sum-exp (0), the sink takes half of the row.
        var s = new AttentionKernel.Shape(1, 1, 1, 4, false) { KeySeq = 3, KeyRows = 3 };
        var q = Tensor<float>.FromArray(new float[] { 1, 0, 0, 0 }, 1, 4);
        var k = Tensor<float>.FromArray(new float[] { -200, 0, 0, 0, 0, 0, 0, 0, -150, 0, 0, 0 }, 3, 4);
        var v = Tensor<float>.FromArray(new float[] { 0, 0, 0, 0, 2, 4, 6, 8, 0, 0, 0, 0 }, 3, 4);
        var z = new Tensor<float>(1, 4);
        var pattern = new Tensor<float>(3);
        AttentionKernel.Forward(s, 1f, q.Pointer, 4, k.Pointer, 4, v.Pointer, 4, z.Pointer, 4, pattern.Pointer);
        Assert.Equal(new float[] { 0, 1, 0 }, pattern.ToArray());
        var share = AttentionSink.Apply(s, 1f, q, k, Tensor<float>.FromArray(new float[] { 0 }, 1), z, pattern);
        Assert.Equal(0.5f, share[0], 6);
        Assert.Equal(new float[] { 0, 0.5f, 0 }, pattern.ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 4 }, z.ToArray());
    }

    [Fact]
    public void The_sink_gradient_is_minus_the_share_times_dz_dot_z()
    {
        var s = new AttentionKernel.Shape(Batch, 3, Heads, 4, true);
        var rng = new Random(9);
        var z = Random<double>(rng, 1, Batch * 3, Heads * 4);
        var dz = Random<double>(rng, 1, Batch * 3, Heads * 4);
        var share = Enumerable.Range(0, s.Slices * 3).Select(i => 0.1 + i * 0.05).ToArray();
        var dSink = Tensor<double>.FromArray(new[] { 0.5, -0.25 }, Heads);
        var expected = new[] { 0.5, -0.25 };
        for (int b = 0; b < Batch; b++)
            for (int h = 0; h < Heads; h++)
                for (int i = 0; i < 3; i++)
                {
                    double dot = 0;
                    for (int c = 0; c < 4; c++) dot += z[(b * 3 + i) * 8 + h * 4 + c] * dz[(b * 3 + i) * 8 + h * 4 + c];
                    expected[h] -= share[(b * Heads + h) * 3 + i] * dot;
                }
        AttentionSink.Backward(s, share, z, dz, dSink);
        Close(expected, dSink, "d sink");
    }

    [Fact]
    public void Backward_and_the_sink_refuse_what_they_cannot_do()
    {
        var cached = new AttentionKernel.Shape(1, 2, 1, 4, true) { KeySeq = 3, KeyRows = 3 };
        Assert.Contains("without a key/value cache",
            Assert.Throws<ArgumentException>(() => AttentionKernel.Backward<float>(cached, 1, null, 4, null, 4, null, 4, null, null, 4, null, 4, null, 4, null, 4)).Message);
        var padded = new AttentionKernel.Shape(1, 2, 1, 4, true) { KeyRows = 3 };
        Assert.Throws<ArgumentException>(() => AttentionKernel.Backward<float>(padded, 1, null, 4, null, 4, null, 4, null, null, 4, null, 4, null, 4, null, 4));
        var t = new Tensor<float>(2, 4);
        var e = Assert.Throws<ArgumentException>(() => AttentionSink.Apply(new AttentionKernel.Shape(1, 2, 2, 2, true), 1f, t, t, new Tensor<float>(3), t, new Tensor<float>(8)));
        Assert.Contains("does not match 2 heads", e.Message);
    }
}
