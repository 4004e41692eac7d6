using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// The fused ops beyond their finite-difference checks: attention's default scale, attention over a key/value cache
/// against the full pass (causal across several new queries, a cache filled to capacity or not) and what it refuses,
/// and the refusals and no-gradient cases of the embedding and the fused loss.
/// </summary>
public class FusedOpTests
{
    readonly Random _rng = new(31);

    Tensor<double> R(params int[] shape) => GradCheck.Random(_rng, shape);

    static Var<double> C(Tensor<double> t) => Ops.Constant(t);

    static void Refused(Action op, string words) => Assert.Contains(words, Assert.Throws<ArgumentException>(op).Message);

    [Fact]
    public void Attention_scales_by_one_over_root_head_width_by_default()
    {
        Tensor<double> q = R(2, 3, 12), k = R(2, 3, 12), v = R(2, 3, 12);
        var byDefault = Ops.Attention(C(q), C(k), C(v), heads: 3);
        var explicitly = Ops.Attention(C(q), C(k), C(v), 3, true, 1 / Math.Sqrt(4));
        Assert.Equal(explicitly.Value.ToArray(), byDefault.Value.ToArray());
        Assert.Equal(Ops.PatternOf(explicitly).ToArray(), Ops.PatternOf(byDefault).ToArray());
    }

    [Fact]
    public void Attention_refuses_mismatched_inputs_and_widths_that_do_not_split()
    {
        Refused(() => Ops.Attention(C(R(3, 6)), C(R(3, 6)), C(R(3, 6)), 2),
            "Attention: q, k, v must share one [batch, seq, d] shape; got [3, 6], [3, 6], [3, 6]");
        Refused(() => Ops.Attention(C(R(1, 3, 6)), C(R(1, 3, 6)), C(R(1, 4, 6)), 2), "got [1, 3, 6], [1, 3, 6], [1, 4, 6]");
        Refused(() => Ops.Attention(C(R(1, 3, 6)), C(R(1, 3, 6)), C(R(1, 3, 6)), 4), "Attention: width 6 does not split into 4 heads");
        Refused(() => Ops.Attention(C(R(1, 3, 6)), C(R(1, 3, 6)), C(R(1, 3, 6)), 0), "Attention: width 6 does not split into 0 heads");
        Refused(() => Ops.PatternOf(C(R(1, 3, 6))), "not the output of Ops.Attention");
    }

    /// <summary>A cache of <paramref name="capacity"/> rows: the sequence's keys or values, then rows that must never be read.</summary>
    static Tensor<double> Cache(Tensor<double> full, int seq, int d, int capacity)
    {
        var cache = new Tensor<double>(1, capacity, d);
        cache.Fill(1e3);
        full.Span[..(seq * d)].CopyTo(cache.Span);
        return cache;
    }

    [Theory]
    [InlineData(3, 5, 7)] // three new queries, the cache with room to spare
    [InlineData(3, 5, 5)] // the cache exactly full
    [InlineData(5, 5, 5)] // every position new
    public void Cached_attention_of_the_last_queries_matches_the_full_causal_pass(int n, int seq, int capacity)
    {
        int heads = 2, dHead = 3, d = heads * dHead;
        Tensor<double> q = R(1, seq, d), k = R(1, seq, d), v = R(1, seq, d);
        var full = Ops.Attention(C(q), C(k), C(v), heads, true, 0.6);
        var newQueries = C(Tensor<double>.FromArray(q.Span[((seq - n) * d)..], 1, n, d));
        var cached = Ops.Attention(newQueries, Cache(k, seq, d, capacity), Cache(v, seq, d, capacity), seq, heads, 0.6);
        Assert.False(cached.RequiresGrad);
        for (int i = 0; i < n * d; i++) Assert.Equal(full.Value[(seq - n) * d + i], cached.Value[i], 12);
        var pattern = Ops.PatternOf(cached);
        Assert.Equal([1, heads, n, seq], pattern.Shape);
        var fullPattern = Ops.PatternOf(full);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < seq; j++)
                    Assert.Equal(fullPattern[(h * seq + seq - n + i) * seq + j], pattern[(h * n + i) * seq + j], 12);
    }

    [Fact]
    public void Cached_attention_refuses_a_cache_that_does_not_fit_and_a_recording_tape()
    {
        const string misfit = "does not fit queries [1, 2, 6]";
        var q = C(R(1, 2, 6));
        Tensor<double> kv = R(1, 7, 6);
        Refused(() => Ops.Attention(C(R(2, 6)), kv, kv, 4, 2, 1.0), "Attention: q must be [batch, n, d]; got [2, 6]");
        Refused(() => Ops.Attention(q, R(1, 7, 6, 1), R(1, 7, 6, 1), 4, 2, 1.0), misfit);
        Refused(() => Ops.Attention(q, kv, R(1, 8, 6), 4, 2, 1.0), misfit);
        Refused(() => Ops.Attention(q, R(2, 7, 6), R(2, 7, 6), 4, 2, 1.0), misfit);
        Refused(() => Ops.Attention(q, R(1, 7, 8), R(1, 7, 8), 4, 2, 1.0), misfit);
        Refused(() => Ops.Attention(q, kv, kv, 1, 2, 1.0), "a cache [1, 7, 6] holding 1 positions " + misfit);
        Refused(() => Ops.Attention(q, kv, kv, 8, 2, 1.0), "holding 8 positions");
        Refused(() => Ops.Attention(q, kv, kv, 4, 0, 1.0), "Attention: width 6 does not split into 0 heads");
        Refused(() => Ops.Attention(q, kv, kv, 4, 4, 1.0), "Attention: width 6 does not split into 4 heads");
        Assert.Equal([1, 1, 2, 2], Ops.PatternOf(Ops.Attention(q, kv, kv, 2, 1, 1.0)).Shape); // one head, length = n

        using var tape = Tape.Start();
        var e = Assert.Throws<InvalidOperationException>(() => Ops.Attention(Ops.Leaf(R(1, 2, 6)), kv, kv, 4, 2, 1.0));
        Assert.Contains("run cached passes under Tape.NoGrad()", e.Message);
        Ops.Attention(q, kv, kv, 4, 2, 1.0); // a constant query records nothing, so it is fine under a tape
    }

    [Fact]
    public void Embedding_refuses_ids_that_do_not_fill_their_shape()
        => Refused(() => Ops.Embedding(C(R(5, 4)), [0, 1, 2, 3, 4], 2, 3), "Embedding: 5 ids do not fill shape [2, 3]");

    [Fact]
    public void The_fused_loss_refuses_a_bigram_table_without_one_row_id_per_row()
    {
        Tensor<double> x = R(4, 3), w = R(6, 3), table = R(6, 6);
        const string words = "UnembedCrossEntropy: a bigram table needs one row id per row (4)";
        Refused(() => Ops.UnembedCrossEntropy(C(x), C(w), [0, 1, 2, 3], -100, default, C(table)), words);
        Refused(() => Ops.UnembedCrossEntropy(C(x), C(w), [0, 1, 2, 3], -100, default, C(table), [0, 1, 2]), words);
    }

    [Fact]
    public void A_fused_loss_with_every_target_ignored_is_zero_and_sends_no_gradient_anywhere()
    {
        var x = Ops.Leaf(R(4, 3));
        var w = Ops.Leaf(R(6, 3));
        var table = Ops.Leaf(R(6, 6));
        using var tape = Tape.Start();
        var loss = Ops.UnembedCrossEntropy(x, w, [-100, -100, -100, -100], -100, default, table, [0, 1, 2, 3]);
        Assert.Equal(0.0, loss.Value[0]);
        tape.Backward(loss);
        Assert.Null(x.Grad);
        Assert.Null(w.Grad);
        Assert.Null(table.Grad);
    }
}
