using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// Softmax and the fused cross-entropy against float64 formulas, over enough rows for two workers and rows of 37
/// (vector body and scalar tail in both precisions); backward passes add into what their output held.
/// </summary>
[Collection("threads-alone")]
public class SoftmaxKernelTests
{
    const int Rows = 150, Width = 37, Ignore = -100;

    static double[] SoftmaxRow(double[] x, int r, int n)
    {
        var row = x.Skip(r * n).Take(n).ToArray();
        double max = row.Max();
        double sum = row.Sum(v => Math.Exp(v - max));
        return row.Select(v => Math.Exp(v - max) / sum).ToArray();
    }

    static double LogSumExp(double[] x, int r, int n) => Math.Log(x.Skip(r * n).Take(n).Sum(Math.Exp));

    static void SoftmaxForwardAndBackward<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(2))
        {
            var rng = new Random(3);
            var x = Random<T>(rng, 5, Rows, Width);
            var xd = ToDouble(x);
            var y = new Tensor<T>(Rows, Width);
            Softmax.Forward(x, y);
            var yd = Enumerable.Range(0, Rows).SelectMany(r => SoftmaxRow(xd, r, Width)).ToArray();
            Close(yd, y, "softmax");

            var dy = Random<T>(rng, 1, Rows, Width);
            var dx = Random<T>(rng, 1, Rows, Width);
            var dyd = ToDouble(dy); var dxd = ToDouble(dx);
            var expected = new double[dxd.Length];
            for (int r = 0; r < Rows; r++)
            {
                double dot = 0;
                for (int j = 0; j < Width; j++) dot += yd[r * Width + j] * dyd[r * Width + j];
                for (int j = 0; j < Width; j++) expected[r * Width + j] = dxd[r * Width + j] + yd[r * Width + j] * (dyd[r * Width + j] - dot);
            }
            Softmax.Backward(y, dy, dx);
            Close(expected, dx, "softmax backward");
        }
    }

    [Fact]
    public void Softmax_matches_the_formula_in_float() => SoftmaxForwardAndBackward<float>();

    [Fact]
    public void Softmax_matches_the_formula_in_double() => SoftmaxForwardAndBackward<double>();

    [Fact]
    public void Softmax_of_an_empty_row_writes_nothing_and_in_place_works()
    {
        var x = Tensor<double>.FromArray(new double[] { 1, 2, 3 }, 1, 3);
        Softmax.Forward(x, x);
        double total = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Close(new[] { Math.Exp(1) / total, Math.Exp(2) / total, Math.Exp(3) / total }, x, "in place");
        unsafe
        {
            double sentinel = 7;
            Softmax.Row(&sentinel, &sentinel, 0);
            Assert.Equal(7, sentinel);
        }
    }

    static void CrossEntropy<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(2))
        {
            var rng = new Random(5);
            var logits = Random<T>(rng, 6, Rows, Width);
            var ld = ToDouble(logits);
            var targets = Enumerable.Range(0, Rows).Select(r => r % 7 == 3 ? Ignore : rng.Next(Width)).ToArray();
            var loss = new T[Rows];
            var lse = new T[Rows];
            Softmax.CrossEntropyForward(logits, targets, Ignore, loss, lse);
            Close(Enumerable.Range(0, Rows).Select(r => LogSumExp(ld, r, Width)).ToArray(), lse, "logsumexp");
            Close(Enumerable.Range(0, Rows).Select(r => targets[r] == Ignore ? 0 : LogSumExp(ld, r, Width) - ld[r * Width + targets[r]]).ToArray(),
                loss, "cross-entropy");

            // Per-row gradient scales, zero on the ignored rows as the op passes them; the kernel must leave those rows alone.
            var rowGrad = Enumerable.Range(0, Rows).Select(r => targets[r] == Ignore ? T.Zero : T.CreateTruncating(0.5 + r % 3)).ToArray();
            var dLogits = Random<T>(rng, 1, Rows, Width);
            var expected = ToDouble(dLogits);
            for (int r = 0; r < Rows; r++)
            {
                if (targets[r] == Ignore) continue;
                double g = double.CreateTruncating(rowGrad[r]);
                var p = SoftmaxRow(ld, r, Width);
                for (int j = 0; j < Width; j++) expected[r * Width + j] += g * (p[j] - (j == targets[r] ? 1 : 0));
            }
            Softmax.CrossEntropyBackward(logits, targets, lse, rowGrad, dLogits);
            Close(expected, dLogits, "cross-entropy backward");
        }
    }

    [Fact]
    public void Cross_entropy_matches_the_formula_in_float() => CrossEntropy<float>();

    [Fact]
    public void Cross_entropy_matches_the_formula_in_double() => CrossEntropy<double>();

    [Fact]
    public void Log_sum_exp_of_short_and_long_rows()
    {
        foreach (int n in new[] { 1, 5, 8, 16, 23 })
        {
            var row = Enumerable.Range(0, n).Select(i => Math.Sin(i) * 30).ToArray();
            unsafe
            {
                fixed (double* p = row) Assert.Equal(Math.Log(row.Sum(v => Math.Exp(v))), Softmax.LogSumExp(p, n), 12);
            }
        }
    }

    [Fact]
    public void Softmax_and_log_sum_exp_subtract_the_maximum_so_a_wide_row_stays_finite()
    {
        // exp(130) overflows float: shifting by anything but the row's maximum gives ∞ or NaN here.
        var row = new float[20];
        for (int i = 0; i < row.Length; i++) row[i] = i % 3 == 0 ? 100 : i % 3 == 1 ? -30 : 50;
        var rowD = row.Select(v => (double)v).ToArray();
        double lse = 100 + Math.Log(rowD.Sum(v => Math.Exp(v - 100)));
        unsafe
        {
            fixed (float* p = row) Assert.Equal(lse, Softmax.LogSumExp(p, row.Length), 4);
        }
        var x = Tensor<float>.FromArray(row, 1, 20);
        var y = new Tensor<float>(1, 20);
        Softmax.Forward(x, y);
        Close(rowD.Select(v => Math.Exp(v - lse)).ToArray(), y, "softmax of a wide row");
        var loss = new float[1];
        var lseOut = new float[1];
        Softmax.CrossEntropyForward(x, new[] { 1 }, Ignore, loss, lseOut);
        Assert.Equal(lse + 30, loss[0], 3);
    }

    [Fact]
    public void Cross_entropy_refuses_targets_outside_the_vocabulary_and_mismatched_lengths()
    {
        var logits = new Tensor<float>(2, 4);
        var loss = new float[2];
        var lse = new float[2];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.CrossEntropyForward(logits, new[] { 0, 4 }, Ignore, loss, lse));
        Assert.Contains("target 4 is outside the vocabulary of 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.CrossEntropyForward(logits, new[] { -1, 0 }, Ignore, loss, lse));
        Softmax.CrossEntropyForward(logits, new[] { Ignore, 3 }, Ignore, loss, lse);
        Assert.Equal(0f, loss[0]);
        Assert.Equal(MathF.Log(4), loss[1], 6);
        Assert.Contains("2 rows of logits but 1 targets",
            Assert.Throws<ArgumentException>(() => Softmax.CrossEntropyForward(logits, new[] { 0 }, Ignore, loss, lse)).Message);
        Assert.Throws<ArgumentException>(() => Softmax.CrossEntropyForward(logits, new[] { 0, 1 }, Ignore, new float[3], lse));
        Assert.Throws<ArgumentException>(() => Softmax.CrossEntropyForward(logits, new[] { 0, 1 }, Ignore, loss, new float[1]));
    }
}
