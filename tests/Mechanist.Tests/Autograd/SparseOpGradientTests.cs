using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// The ops of the weight-sparse family (docs/METHODS.md §6.1) against central finite differences in float64, and their
/// forward values against direct computations: AbsTopK, the attention sink, the bigram table in the fused loss.
/// (RMSNorm's check is in <see cref="OpGradientTests"/>.)
/// </summary>
public class SparseOpGradientTests
{
    const double Tolerance = 1e-6;
    readonly Random _rng = new(17);

    Tensor<double> R(params int[] shape) => GradCheck.Random(_rng, shape);

    static void CheckEverySubset(Func<Var<double>[], Var<double>> f, params Tensor<double>[] inputs)
    {
        for (int mask = 1; mask < 1 << inputs.Length; mask++)
        {
            var trainable = Enumerable.Range(0, inputs.Length).Select(i => (mask >> i & 1) == 1).ToArray();
            double error = GradCheck.MaxError(f, trainable, inputs);
            Assert.True(error <= Tolerance, $"trainable [{string.Join(", ", trainable)}]: max relative error {error:E2} > {Tolerance:E0}");
        }
    }

    [Fact]
    public void AbsTopK_keeps_the_largest_magnitudes_and_passes_gradient_only_to_them()
    {
        CheckEverySubset(v => Ops.AbsTopK(v[0], 3), R(5, 11));
        var x = Ops.Leaf(Tensor<double>.FromArray([0.1, -0.9, -0.5, 0.7, 0.2, 0.0], 1, 6));
        Var<double> y;
        using (var tape = Tape.Start())
        {
            y = Ops.AbsTopK(x, 3);
            tape.Backward(Ops.Sum(y));
        }
        Assert.Equal(new double[] { 0, -0.9, -0.5, 0.7, 0, 0 }, y.Value.ToArray());
        Assert.Equal(new double[] { 0, 1, 1, 1, 0, 0 }, x.Grad!.ToArray());
    }

    [Fact]
    public void AbsTopK_keeps_exactly_k_per_row_when_magnitudes_tie()
    {
        // Many exact zeros (a weight-sparse model makes them) and a tie at the threshold: lower columns win.
        var x = Tensor<float>.FromArray([0f, 0, 0.5f, -0.5f, 0, 0.5f, 0, 0, /* row 2: all zero */ 0, 0, 0, 0, 0, 0, 0, 0], 2, 8);
        var y = new Tensor<float>(2, 8);
        var kept = new byte[16];
        AbsTopK.Forward(x, 2, y, kept);
        Assert.Equal(new float[] { 0, 0, 0.5f, -0.5f, 0, 0, 0, 0 }, y.Row(0).ToArray());
        Assert.Equal(new byte[] { 0, 0, 1, 1, 0, 0, 0, 0 }, kept[..8]);
        Assert.Equal(new byte[] { 1, 1, 0, 0, 0, 0, 0, 0 }, kept[8..]); // exactly k kept even among zeros
    }

    [Theory]
    [InlineData(9, 5)]   // the row-by-row kernel path
    [InlineData(16, 11)] // d_head 16 in float64: the register-tiled path (where AVX-512 runs it)
    public void Attention_with_a_sink_matches_finite_differences(int dHead, int seq)
    {
        int batch = 2, heads = 2, d = heads * dHead;
        double scale = 1 / Math.Sqrt(dHead);
        CheckEverySubset(v => Ops.Attention(v[0], v[1], v[2], heads, true, scale, v[3]),
            R(batch, seq, d), R(batch, seq, d), R(batch, seq, d), R(heads));
    }

    [Fact]
    public void Attention_with_a_sink_is_softmax_over_a_dummy_key_of_value_zero()
    {
        int batch = 1, seq = 4, heads = 2, dHead = 3, d = heads * dHead;
        double scale = 0.7;
        Tensor<double> q = R(batch, seq, d), k = R(batch, seq, d), v = R(batch, seq, d), sink = Tensor<double>.FromArray([0.4, -1.3], 2);
        var z = Ops.Attention(Ops.Constant(q), Ops.Constant(k), Ops.Constant(v), heads, true, scale, Ops.Constant(sink));
        var pattern = Ops.PatternOf(z);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < seq; i++)
            {
                // Direct: logits [sink, s_0 … s_i], softmax, value 0 for the sink.
                var logits = new List<double> { sink[h] };
                for (int j = 0; j <= i; j++)
                    logits.Add(scale * Enumerable.Range(0, dHead).Sum(c => q[i * d + h * dHead + c] * k[j * d + h * dHead + c]));
                double max = logits.Max(), total = logits.Sum(l => Math.Exp(l - max));
                for (int j = 0; j <= i; j++)
                    Assert.Equal(Math.Exp(logits[j + 1] - max) / total, pattern[(h * seq + i) * seq + j], 12);
                for (int c = 0; c < dHead; c++)
                {
                    double expected = Enumerable.Range(0, i + 1).Sum(j => Math.Exp(logits[j + 1] - max) / total * v[j * d + h * dHead + c]);
                    Assert.Equal(expected, z.Value[i * d + h * dHead + c], 12);
                }
            }
    }

    [Fact]
    public void Cached_attention_applies_the_sink_as_the_full_pass_does()
    {
        int seq = 6, heads = 2, dHead = 4, d = heads * dHead;
        Tensor<double> q = R(1, seq, d), k = R(1, seq, d), v = R(1, seq, d), sink = Tensor<double>.FromArray([0.9, -0.2], 2);
        var full = Ops.Attention(Ops.Constant(q), Ops.Constant(k), Ops.Constant(v), heads, true, 0.5, Ops.Constant(sink)).Value;
        var lastQuery = Ops.Constant(Tensor<double>.FromArray(q.ToArray()[((seq - 1) * d)..], 1, 1, d));
        var cached = Ops.Attention(lastQuery, k, v, seq, heads, 0.5, sink).Value;
        for (int c = 0; c < d; c++) Assert.Equal(full[(seq - 1) * d + c], cached[c], 12);
    }

    [Fact]
    public void Bigram_rows_in_the_fused_loss_match_finite_differences_and_the_unfused_sum()
    {
        int rows = UnembeddingCrossEntropy.BlockRows + 5, d = 3, vocab = 6; // two row blocks
        var targets = Enumerable.Range(0, rows).Select(i => i % 9 == 4 ? -100 : i * 5 % vocab).ToArray();
        var current = Enumerable.Range(0, rows).Select(i => (i * 7 + 1) % vocab).ToArray();
        CheckEverySubset(v => Ops.Scale(Ops.UnembedCrossEntropy(v[0], v[1], targets, -100, default, v[2], current), 3.0),
            R(rows, d), R(vocab, d), R(vocab, vocab));

        Tensor<double> x = R(rows, d), w = R(vocab, d), table = R(vocab, vocab);
        var fused = Ops.UnembedCrossEntropy(Ops.Constant(x), Ops.Constant(w), targets, -100, default, Ops.Constant(table), current).Value[0];
        var logits = Ops.Add(Ops.MatMul(Ops.Constant(x), Ops.Constant(w), transB: true), Ops.Embedding(Ops.Constant(table), current));
        Assert.Equal(Ops.CrossEntropy(logits, targets, -100).Value[0], fused, 12);
    }
}
