using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Ops.FrozenScaleNorm alone: y[r, :] = (x[r, :] − centre·mean(x[r, :])) / scale[r] with the scales given, and its
/// gradient (dy − centre·mean(dy)) / scale[r]. The hand-worked cases use values whose arithmetic is exact.
/// </summary>
public class FrozenScaleNormTests
{
    static readonly Tensor<double> X = Tensor<double>.FromArray([1, 2, 3, 6, -4, 0, 4, 8], 2, 4);
    static readonly Tensor<double> Scale = Tensor<double>.FromArray([2, -0.5], 2);

    [Fact]
    public void Each_row_is_centred_on_its_mean_if_asked_and_divided_by_its_own_scale()
    {
        // Row 0: mean 3, so [-2, -1, 0, 3] / 2; row 1: mean 2, so [-6, -2, 2, 6] / -0.5.
        Assert.Equal([-1, -0.5, 0, 1.5, 12, 4, -4, -12], Ops.FrozenScaleNorm(Ops.Constant(X), Scale, centre: true).Value.ToArray());
        Assert.Equal([0.5, 1, 1.5, 3, 8, 0, -8, -16], Ops.FrozenScaleNorm(Ops.Constant(X), Scale, centre: false).Value.ToArray());
    }

    [Theory]
    [InlineData(true, new double[] { 0, -0.5, -0.5, 1, -2, -2, 4, 0 })]
    [InlineData(false, new double[] { 0.5, 0, 0, 1.5, -4, -4, 2, -2 })]
    public void The_gradient_is_the_upstream_centred_if_asked_over_the_scale(bool centre, double[] expected)
    {
        // Upstream rows [1, 0, 0, 3] (mean 1) and [2, 2, -1, 1] (mean 1).
        var upstream = Ops.Constant(Tensor<double>.FromArray([1, 0, 0, 3, 2, 2, -1, 1], 2, 4));
        var x = Ops.Leaf(X);
        using (var tape = Tape.Start())
            tape.Backward(Ops.Sum(Ops.Mul(Ops.FrozenScaleNorm(x, Scale, centre), upstream)));
        Assert.Equal(expected, x.Grad!.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Backward_matches_finite_differences_on_batched_rows(bool centre)
    {
        var rng = new Random(21);
        var x = GradCheck.Random(rng, 2, 3, 10); // 6 rows of 10: wider than a tensor's alignment padding
        var scale = new Tensor<double>(6);
        for (int r = 0; r < 6; r++) scale[r] = (r % 2 == 0 ? 1 : -1) * (0.3 + rng.NextDouble());
        double error = GradCheck.MaxError(v => Ops.FrozenScaleNorm(v[0], scale, centre), x);
        Assert.True(error <= 1e-6, $"max relative error {error:E2}");
    }

    [Fact]
    public void A_scale_count_other_than_the_row_count_is_refused()
    {
        var x = Ops.Constant(new Tensor<double>(2, 3, 4));
        var ex = Assert.Throws<ArgumentException>(() => Ops.FrozenScaleNorm(x, new Tensor<double>(7), centre: true));
        Assert.Equal("FrozenScaleNorm: 7 scales for 6 rows", ex.Message);
        Assert.Throws<ArgumentException>(() => Ops.FrozenScaleNorm(x, new Tensor<double>(5), centre: false));
    }

    [Fact]
    public void Constant_input_records_nothing_and_needs_no_tape()
    {
        Assert.False(Ops.FrozenScaleNorm(Ops.Constant(X), Scale, centre: true).RequiresGrad);

        using var tape = Tape.Start();
        Assert.False(Ops.FrozenScaleNorm(Ops.Constant(X), Scale, centre: true).RequiresGrad);
        Assert.Equal(0, tape.Count);
        Assert.True(Ops.FrozenScaleNorm(Ops.Leaf(X), Scale, centre: true).RequiresGrad);
        Assert.Equal(1, tape.Count);
    }
}
