using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Tests.Autograd;

/// <summary>Every op's backward against central finite differences in float64 (relative error ≤ 1e-6).</summary>
public class OpGradientTests
{
    const double Tolerance = 1e-6;
    readonly Random _rng = new(7);

    Tensor<double> R(params int[] shape) => GradCheck.Random(_rng, shape);

    static void Check(Func<Var<double>[], Var<double>> f, params Tensor<double>[] inputs)
    {
        double error = GradCheck.MaxError(f, inputs);
        Assert.True(error <= Tolerance, $"max relative error {error:E2} > {Tolerance:E0}");
    }

    /// <summary>Checks <paramref name="f"/> with every non-empty subset of its inputs trainable (the rest constants).</summary>
    static void CheckEverySubset(Func<Var<double>[], Var<double>> f, params Tensor<double>[] inputs)
    {
        for (int mask = 1; mask < 1 << inputs.Length; mask++)
        {
            var trainable = Enumerable.Range(0, inputs.Length).Select(i => (mask >> i & 1) == 1).ToArray();
            double error = GradCheck.MaxError(f, trainable, inputs);
            Assert.True(error <= Tolerance, $"trainable [{string.Join(", ", trainable)}]: max relative error {error:E2} > {Tolerance:E0}");
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul_with_only_some_inputs_trainable(bool transA, bool transB)
    {
        int m = 3, k = 4, n = 5;
        CheckEverySubset(v => Ops.MatMul(v[0], v[1], transA, transB), transA ? R(k, m) : R(m, k), transB ? R(n, k) : R(k, n));
    }

    [Fact]
    public void Linear_without_bias() => Check(v => Ops.Linear(v[0], v[1], null), R(2, 3, 4), R(4, 5));

    [Fact]
    public void Linear_with_only_some_inputs_trainable()
    {
        CheckEverySubset(v => Ops.Linear(v[0], v[1], v[2]), R(2, 3, 4), R(4, 5), R(5));
        CheckEverySubset(v => Ops.Linear(v[0], v[1], null), R(3, 4), R(4, 5));
    }

    [Fact]
    public void Elementwise_and_norms_with_only_some_inputs_trainable()
    {
        CheckEverySubset(v => Ops.Add(v[0], v[1]), R(2, 3, 4), R(4));
        CheckEverySubset(v => Ops.Mul(v[0], v[1]), R(2, 3, 4), R(4));
        CheckEverySubset(v => Ops.Mul(v[0], v[1]), R(3, 4), R(3, 4));
        CheckEverySubset(v => Ops.LayerNorm(v[0], v[1], v[2], 1e-5), R(2, 3, 8), R(8), R(8));
        CheckEverySubset(v => Ops.RmsNorm(v[0], v[1], 1e-6), R(3, 7), R(7));
    }

    [Fact]
    public void Attention_with_only_some_inputs_trainable()
    {
        int dHead = 9;
        CheckEverySubset(v => Ops.Attention(v[0], v[1], v[2], 2, true, 1 / Math.Sqrt(dHead)), R(1, 4, 2 * dHead), R(1, 4, 2 * dHead), R(1, 4, 2 * dHead));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul_all_transpose_forms(bool transA, bool transB)
    {
        int m = 3, k = 4, n = 5;
        var a = transA ? R(k, m) : R(m, k);
        var b = transB ? R(n, k) : R(k, n);
        Check(v => Ops.MatMul(v[0], v[1], transA, transB), a, b);
    }

    [Fact]
    public void MatMul_keeps_leading_axes() => Check(v => Ops.MatMul(v[0], v[1]), R(2, 3, 4), R(4, 2));

    [Fact]
    public void Linear_with_bias() => Check(v => Ops.Linear(v[0], v[1], v[2]), R(2, 3, 4), R(4, 5), R(5));

    [Fact]
    public void Add_same_shape_and_broadcast()
    {
        Check(v => Ops.Add(v[0], v[1]), R(3, 4), R(3, 4));
        Check(v => Ops.Add(v[0], v[1]), R(2, 3, 4), R(3, 4));
        Check(v => Ops.Add(v[0], v[1]), R(2, 3, 4), R(4));
    }

    [Fact]
    public void Mul_same_shape_and_broadcast()
    {
        Check(v => Ops.Mul(v[0], v[1]), R(3, 4), R(3, 4));
        Check(v => Ops.Mul(v[0], v[1]), R(2, 3, 4), R(4));
    }

    [Fact]
    public void Scale_sum_mean_reshape_columns()
    {
        Check(v => Ops.Scale(v[0], 2.5), R(3, 4));
        Check(v => Ops.Sum(v[0]), R(3, 4));
        Check(v => Ops.Mean(v[0]), R(3, 4));
        Check(v => Ops.Reshape(v[0], 4, 3), R(3, 4));
        Check(v => Ops.Columns(v[0], 1, 2), R(3, 4));
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluNew)]
    [InlineData(Activation.Sigmoid)]
    public void Activations_including_the_vector_path(Activation kind)
    {
        // 45 elements, not a multiple of any vector width (8 doubles in a Vector512, 4 in a Vector256): the
        // vector loop and the scalar tail both run. Values spread to ±4 to reach GELU's tails; ReLU inputs kept
        // away from the kink at 0.
        var x = R(5, 9);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= 4;
            if (kind == Activation.Relu && Math.Abs(x[i]) < 1e-3) x[i] = 0.5;
        }
        Check(v => Ops.Activate(v[0], kind), x);
    }

    [Fact]
    public void LayerNorm_with_and_without_bias()
    {
        Check(v => Ops.LayerNorm(v[0], v[1], v[2], 1e-5), R(2, 3, 8), R(8), R(8));
        Check(v => Ops.LayerNorm(v[0], v[1], null, 1e-5), R(4, 6), R(6));
    }

    [Fact]
    public void RmsNorm() => Check(v => Ops.RmsNorm(v[0], v[1], 1e-6), R(3, 7), R(7));

    [Fact]
    public void Softmax() => Check(v => Ops.Softmax(v[0]), R(3, 20));

    [Theory]
    [InlineData(true, 1.0)]
    [InlineData(false, 1.0)]
    [InlineData(true, 1.0 / 3)] // CRFM: extra 1/(layer+1) on the scores
    public void Attention(bool causal, double extraScale)
    {
        int batch = 2, seq = 5, heads = 2, dHead = 17; // 17: SIMD chunk plus scalar tail in double
        double scale = extraScale / Math.Sqrt(dHead);
        Check(v => Ops.Attention(v[0], v[1], v[2], heads, causal, scale),
            R(batch, seq, heads * dHead), R(batch, seq, heads * dHead), R(batch, seq, heads * dHead));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Attention_in_register_tiles(bool causal)
    {
        // d_head 16 in double is two Vector512s: the tiled path. 37 positions: four full tiles of 8 rows and a
        // partial one, two full chunks of 16 keys and a tail.
        int batch = 1, seq = 37, heads = 2, dHead = 16;
        Check(v => Ops.Attention(v[0], v[1], v[2], heads, causal, 0.7 / Math.Sqrt(dHead)),
            R(batch, seq, heads * dHead), R(batch, seq, heads * dHead), R(batch, seq, heads * dHead));
    }

    [Fact]
    public void Attention_causal_mask_hides_the_future()
    {
        var q = R(1, 4, 8); var k = R(1, 4, 8); var v = R(1, 4, 8);
        var z = Ops.Attention(Ops.Constant(q), Ops.Constant(k), Ops.Constant(v), 2);
        var pattern = Ops.PatternOf(z);
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 4; i++)
            {
                double rowSum = 0;
                for (int j = 0; j < 4; j++)
                {
                    double p = pattern[((h * 4) + i) * 4 + j];
                    if (j > i) Assert.Equal(0.0, p);
                    rowSum += p;
                }
                Assert.Equal(1.0, rowSum, 12);
            }
        // Changing the last position's key and value leaves earlier outputs unchanged.
        var k2 = k.Clone(); var v2 = v.Clone();
        for (int c = 0; c < 8; c++) { k2[3 * 8 + c] += 1; v2[3 * 8 + c] -= 1; }
        var z2 = Ops.Attention(Ops.Constant(q), Ops.Constant(k2), Ops.Constant(v2), 2);
        for (int i = 0; i < 3 * 8; i++) Assert.Equal(z.Value[i], z2.Value[i], 14);
    }

    [Fact]
    public void Embedding_with_repeated_ids()
        => Check(v => Ops.Embedding(v[0], [3, 1, 3, 0, 1, 3], 2, 3), R(5, 4));

    [Fact]
    public void CrossEntropy_with_ignored_positions()
    {
        int[] targets = [2, -100, 0, 6, -100, 1];
        Check(v => Ops.CrossEntropy(v[0], targets, -100), R(6, 7));
        // Ignored rows get no gradient at all, and the mean is over the kept rows only.
        var logits = Ops.Leaf(R(6, 7));
        var perToken = new double[6];
        using var tape = Tape.Start();
        var loss = Ops.CrossEntropy(logits, targets, -100, perToken);
        tape.Backward(loss);
        Assert.Equal(0.0, perToken[1]);
        Assert.Equal(perToken.Sum() / 4, loss.Value[0], 12);
        for (int c = 0; c < 7; c++) { Assert.Equal(0.0, logits.Grad![1 * 7 + c]); Assert.Equal(0.0, logits.Grad![4 * 7 + c]); }
    }

    [Fact]
    public void CrossEntropy_over_a_wide_vocabulary_matches_a_direct_log_softmax()
    {
        var logits = R(3, 300);
        for (int i = 0; i < logits.Length; i++) logits[i] *= 30; // large logits: needs the max shift
        int[] targets = [5, 299, 0];
        var perToken = new double[3];
        Ops.CrossEntropy(Ops.Constant(logits), targets, -1, perToken);
        for (int r = 0; r < 3; r++)
        {
            double max = double.MinValue, sum = 0;
            for (int c = 0; c < 300; c++) max = Math.Max(max, logits[r * 300 + c]);
            for (int c = 0; c < 300; c++) sum += Math.Exp(logits[r * 300 + c] - max);
            Assert.Equal(max + Math.Log(sum) - logits[r * 300 + targets[r]], perToken[r], 9);
        }
    }

    [Fact]
    public void UnembedCrossEntropy_over_several_row_blocks_with_ignored_rows()
    {
        int rows = UnembeddingCrossEntropy.BlockRows + 44, d = 3, vocab = 5; // two blocks, the second partial
        var targets = Enumerable.Range(0, rows).Select(i => i % 7 == 3 ? -100 : i * 5 % vocab).ToArray();
        // Scaled, so the upstream gradient is not 1 and backward must apply it.
        CheckEverySubset(v => Ops.Scale(Ops.UnembedCrossEntropy(v[0], v[1], targets, -100), 3.0), R(rows, d), R(vocab, d));
    }

    [Fact]
    public void UnembedCrossEntropy_matches_the_unfused_product_and_loss_in_float()
    {
        var rng = new Random(5);
        int rows = 2 * UnembeddingCrossEntropy.BlockRows + 9, d = 16, vocab = 300;
        Tensor<float> Rand(params int[] shape) { var t = new Tensor<float>(shape); for (int i = 0; i < t.Length; i++) t[i] = (float)(rng.NextDouble() * 4 - 2); return t; }
        var x = Rand(rows, d);
        var w = Rand(vocab, d);
        var targets = Enumerable.Range(0, rows).Select(i => i % 11 == 0 ? -1 : rng.Next(vocab)).ToArray();
        (float Loss, float[] PerToken, float[] Dx, float[] Dw) Run(bool fused)
        {
            var xv = Ops.Leaf(x.Clone());
            var wv = Ops.Leaf(w.Clone());
            var perToken = new float[rows];
            using var tape = Tape.Start();
            var loss = fused ? Ops.UnembedCrossEntropy(xv, wv, targets, -1, perToken)
                : Ops.CrossEntropy(Ops.MatMul(xv, wv, transB: true), targets, -1, perToken);
            tape.Backward(loss);
            return (loss.Value[0], perToken, xv.Grad!.ToArray(), wv.Grad!.ToArray());
        }
        var fusedRun = Run(true);
        var plain = Run(false);
        static void Close(float expected, float actual) => Assert.True(Math.Abs(expected - actual) <= 1e-5f * Math.Abs(expected) + 1e-7f, $"{actual} ≠ {expected}");
        Close(plain.Loss, fusedRun.Loss);
        Assert.Equal(0f, fusedRun.PerToken[0]);
        for (int i = 0; i < rows; i++) Close(plain.PerToken[i], fusedRun.PerToken[i]);
        for (int i = 0; i < plain.Dx.Length; i++) Close(plain.Dx[i], fusedRun.Dx[i]);
        for (int i = 0; i < plain.Dw.Length; i++) Close(plain.Dw[i], fusedRun.Dw[i]);
    }

    [Fact]
    public void TopKMask_passes_gradient_only_to_kept_entries()
    {
        Check(v => Ops.TopKMask(v[0], 3), R(4, 9));
        var x = Ops.Leaf(Tensor<double>.FromArray([0.1, 0.9, -0.5, 0.7, 0.2], 1, 5));
        using var tape = Tape.Start();
        var y = Ops.TopKMask(x, 2);
        Assert.Equal([0.0, 0.9, 0.0, 0.7, 0.0], y.Value.ToArray());
        tape.Backward(Ops.Sum(y));
        Assert.Equal([0.0, 1.0, 0.0, 1.0, 0.0], x.Grad!.ToArray());
    }
}
