using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The fused unembedding + cross-entropy against the unfused formulas in float64: blocks smaller than the rows (a
/// partial last block), a vocabulary of 37 (vector body and tail), ignored rows, and the bigram logit bias.
/// </summary>
[Collection("threads-alone")]
public class UnembeddingKernelTests
{
    const int Ignore = -1;

    /// <summary><paramref name="grads"/> names the gradients asked for: x, w, b (the logit bias), any of them.</summary>
    static void Check<T>(int n, int d, int vocab, int blockRows, bool withBias, string grads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(2))
        {
            var rng = new Random(n * 13 + vocab);
            var x = Random<T>(rng, 2, n, d);
            var w = Random<T>(rng, 2, vocab, d);
            const int biasRowCount = 5;
            var bias = withBias ? Random<T>(rng, 1, biasRowCount, vocab) : null;
            var biasRows = withBias ? Enumerable.Range(0, n).Select(_ => rng.Next(biasRowCount)).ToArray() : Array.Empty<int>();
            var targets = Enumerable.Range(0, n).Select(r => r % 5 == 2 ? Ignore : rng.Next(vocab)).ToArray();
            const double g = 0.75;
            var xd = ToDouble(x); var wd = ToDouble(w); var bd = bias == null ? null : ToDouble(bias);

            var loss = new double[n];
            var grad = new double[n * vocab]; // g·(softmax − onehot), 0 on ignored rows
            for (int r = 0; r < n; r++)
            {
                var logits = new double[vocab];
                for (int v = 0; v < vocab; v++)
                {
                    for (int c = 0; c < d; c++) logits[v] += xd[r * d + c] * wd[v * d + c];
                    if (bd != null) logits[v] += bd[biasRows[r] * vocab + v];
                }
                if (targets[r] == Ignore) continue;
                double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
                loss[r] = max + Math.Log(sum) - logits[targets[r]];
                for (int v = 0; v < vocab; v++) grad[r * vocab + v] = g * (Math.Exp(logits[v] - max) / sum - (v == targets[r] ? 1 : 0));
            }

            var lossT = new T[n];
            var dx = grads.Contains('x') ? Random<T>(rng, 1, n, d) : null;      // overwritten
            var dw = grads.Contains('w') ? Random<T>(rng, 1, vocab, d) : null;  // overwritten
            var dBias = grads.Contains('b') && withBias ? Random<T>(rng, 1, biasRowCount, vocab) : null; // added into
            var dBiasBefore = dBias == null ? null : ToDouble(dBias);
            UnembeddingCrossEntropy.Run(x, w, targets, Ignore, lossT, T.CreateTruncating(g), dx, dw, blockRows, bias, biasRows, dBias);
            Close(loss, lossT, "loss", Tolerance<T>() * 5);

            var dxe = new double[n * d]; var dwe = new double[vocab * d];
            for (int r = 0; r < n; r++)
                for (int v = 0; v < vocab; v++)
                    for (int c = 0; c < d; c++)
                    {
                        dxe[r * d + c] += grad[r * vocab + v] * wd[v * d + c];
                        dwe[v * d + c] += grad[r * vocab + v] * xd[r * d + c];
                    }
            if (dx != null) Close(dxe, dx, "dx", Tolerance<T>() * 5);
            if (dw != null) Close(dwe, dw, "dw", Tolerance<T>() * 5);
            if (dBias != null)
            {
                for (int r = 0; r < n; r++)
                    for (int v = 0; v < vocab; v++) dBiasBefore![biasRows[r] * vocab + v] += grad[r * vocab + v];
                Close(dBiasBefore!, dBias, "d logit bias", Tolerance<T>() * 5);
            }
        }
    }

    [Theory]
    [InlineData(10, 6, 37, 3, false, "xw")]
    [InlineData(10, 6, 37, 3, true, "xwb")]
    [InlineData(90, 5, 37, 40, true, "xwb")]
    [InlineData(90, 5, 37, 40, false, "")]
    [InlineData(7, 4, 9, 256, true, "xwb")]
    [InlineData(10, 6, 37, 3, false, "x")]
    [InlineData(10, 6, 37, 3, false, "w")]
    [InlineData(10, 6, 37, 3, true, "b")]
    public void Loss_and_gradients_match_the_unfused_formulas_in_float(int n, int d, int vocab, int blockRows, bool bias, string grad)
        => Check<float>(n, d, vocab, blockRows, bias, grad);

    [Theory]
    [InlineData(10, 6, 37, 3, true, "xwb")]
    [InlineData(90, 5, 37, 40, false, "xw")]
    [InlineData(12, 3, 16, 5, false, "")]
    public void Loss_and_gradients_match_the_unfused_formulas_in_double(int n, int d, int vocab, int blockRows, bool bias, string grad)
        => Check<double>(n, d, vocab, blockRows, bias, grad);

    [Fact]
    public void Only_the_logit_bias_gradient_can_be_asked_for()
    {
        // dLogitBias alone still turns the block into gradients: the loss is unchanged and the bias gradient appears.
        var x = Tensor<double>.FromArray(new double[] { 1, 0, 0, 1 }, 2, 2);
        var w = Tensor<double>.FromArray(new double[] { 1, 0, 0, 1, 0, 0 }, 3, 2);
        var bias = new Tensor<double>(1, 3);
        var dBias = new Tensor<double>(1, 3);
        var loss = new double[2];
        UnembeddingCrossEntropy.Run(x, w, new[] { 0, 2 }, Ignore, loss, 1.0, null, null, 4, bias, new[] { 0, 0 }, dBias);
        // Row 0's logits are (1, 0, 0) with target 0; row 1's are (0, 1, 0) with target 2.
        Assert.Equal(Math.Log(Math.E + 2) - 1, loss[0], 12);
        Assert.Equal(Math.Log(Math.E + 2), loss[1], 12);
        double p1 = Math.E / (Math.E + 2), p0 = 1 / (Math.E + 2);
        Close(new[] { (p1 - 1) + p0, p0 + p1, p0 + p0 - 1 }, dBias, "d bias");
    }

    [Fact]
    public void Logits_far_apart_give_a_finite_loss()
    {
        // Logits 100, −100 and 50: exp(200) overflows float unless each row is shifted by its maximum.
        var x = Tensor<float>.FromArray(new float[] { 100 }, 1, 1);
        var w = Tensor<float>.FromArray(new float[] { 1, -1, 0.5f }, 3, 1);
        var loss = new float[1];
        UnembeddingCrossEntropy.Run(x, w, new[] { 2 }, Ignore, loss);
        Assert.Equal(100 + Math.Log(1 + Math.Exp(-200) + Math.Exp(-50)) - 50, loss[0], 4);
    }

    [Fact]
    public void No_rows_give_no_loss_and_a_zero_unembedding_gradient()
    {
        var w = Tensor<float>.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        var dw = Tensor<float>.FromArray(new float[] { 9, 9, 9, 9, 9, 9 }, 3, 2);
        UnembeddingCrossEntropy.Run(new Tensor<float>(0, 2), w, [], Ignore, Span<float>.Empty, 1f, new Tensor<float>(0, 2), dw);
        Assert.All(dw.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Refuses_shapes_that_do_not_fit_and_targets_outside_the_vocabulary()
    {
        var x = new Tensor<float>(2, 3);
        var w = new Tensor<float>(4, 3);
        var loss = new float[2];
        Assert.Contains("does not match rows of width 3",
            Assert.Throws<ArgumentException>(() => UnembeddingCrossEntropy.Run(x, new Tensor<float>(4, 2), new[] { 0, 1 }, Ignore, loss)).Message);
        Assert.Contains("cross-entropy: 2 rows but 1 targets",
            Assert.Throws<ArgumentException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { 0 }, Ignore, loss)).Message);
        Assert.Throws<ArgumentException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { 0, 1 }, Ignore, new float[3]));
        Assert.Contains("target 4 is outside the vocabulary of 4",
            Assert.Throws<ArgumentOutOfRangeException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { 4, 1 }, Ignore, loss)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { -2, 1 }, Ignore, loss));
        Assert.Contains("logit bias [1, 3] with 2 row ids does not fit 2 rows of 4 logits",
            Assert.Throws<ArgumentException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { 0, 1 }, Ignore, loss,
                logitBias: new Tensor<float>(1, 3), logitBiasRows: new[] { 0, 0 })).Message);
        Assert.Throws<ArgumentException>(() => UnembeddingCrossEntropy.Run(x, w, new[] { 0, 1 }, Ignore, loss,
            logitBias: new Tensor<float>(1, 4), logitBiasRows: new[] { 0 }));
    }
}
