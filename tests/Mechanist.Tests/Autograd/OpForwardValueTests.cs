using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Forward values of the plain ops against direct float64 formulas. The finite-difference checks cannot see a wrong
/// forward whose backward is wrong in the same way (a mean that sums, a norm that writes nothing), so these pin the
/// values themselves, and the statistics the norms keep for circuit analysis.
/// </summary>
public class OpForwardValueTests
{
    readonly Random _rng = new(23);

    Tensor<double> R(params int[] shape) => GradCheck.Random(_rng, shape);

    [Fact]
    public void Mean_divides_the_sum_by_the_element_count_and_is_zero_when_empty()
    {
        var x = R(3, 4);
        Assert.Equal(x.ToArray().Sum() / 12, Ops.Mean(Ops.Constant(x)).Value[0], 14);
        Assert.Equal(x.ToArray().Sum(), Ops.Sum(Ops.Constant(x)).Value[0], 14);
        Assert.Equal(0.0, Ops.Mean(Ops.Constant(new Tensor<double>(0))).Value[0]);
    }

    [Fact]
    public void Softmax_is_exp_over_the_row_sum()
    {
        var x = R(3, 20);
        var y = Ops.Softmax(Ops.Constant(x)).Value;
        for (int r = 0; r < 3; r++)
        {
            double total = Enumerable.Range(0, 20).Sum(c => Math.Exp(x[r * 20 + c]));
            for (int c = 0; c < 20; c++) Assert.Equal(Math.Exp(x[r * 20 + c]) / total, y[r * 20 + c], 14);
        }
    }

    [Fact]
    public void RmsNorm_divides_by_the_root_mean_square_and_keeps_its_reciprocal()
    {
        var x = R(3, 7);
        var gain = R(7);
        const double eps = 1e-6;
        var y = Ops.RmsNorm(Ops.Constant(x), Ops.Constant(gain), eps);
        var (mean, rstd) = y.NormStatistics!.Value;
        Assert.Null(mean);
        for (int r = 0; r < 3; r++)
        {
            double expectedRstd = 1 / Math.Sqrt(Enumerable.Range(0, 7).Average(c => x[r * 7 + c] * x[r * 7 + c]) + eps);
            Assert.Equal(expectedRstd, rstd[r], 12);
            for (int c = 0; c < 7; c++) Assert.Equal(x[r * 7 + c] * expectedRstd * gain[c], y.Value[r * 7 + c], 12);
        }
    }

    [Fact]
    public void LayerNorm_keeps_each_rows_mean_and_reciprocal_deviation()
    {
        var x = R(2, 3, 8);
        const double eps = 1e-5;
        var y = Ops.LayerNorm(Ops.Constant(x), Ops.Constant(R(8)), Ops.Constant(R(8)), eps);
        var (mean, rstd) = y.NormStatistics!.Value;
        Assert.Equal(6, rstd.Length);
        for (int r = 0; r < 6; r++)
        {
            var row = Enumerable.Range(0, 8).Select(c => x[r * 8 + c]).ToArray();
            double mu = row.Average();
            Assert.Equal(mu, mean![r], 12);
            Assert.Equal(1 / Math.Sqrt(row.Average(v => (v - mu) * (v - mu)) + eps), rstd[r], 10);
        }
    }

    [Fact]
    public void Linear_without_bias_is_the_plain_product_whatever_its_output_buffer_held()
    {
        // The output buffer is not zeroed: without a bias the product must overwrite it, not add to it. Buffers of
        // this size handed back to the runtime full of NaN make stale contents likely to be seen if it adds.
        const int rows = 64, k = 8, n = 48;
        var x = R(rows, k);
        var w = R(k, n);
        var expected = Ops.MatMul(Ops.Constant(x), Ops.Constant(w)).Value.ToArray();
        for (int attempt = 0; attempt < 8; attempt++)
        {
            for (int i = 0; i < 16; i++) Tensor<double>.Uninitialized(rows, n).Fill(double.NaN);
            GC.Collect();
            var y = Ops.Linear(Ops.Constant(x), Ops.Constant(w), null).Value.ToArray();
            for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 12);
        }
    }
}
