using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Ops.ContrastLoss alone: per row, −log softmax over the pair {right, wrong} at right, averaged over rows; its
/// gradient moves (1 − p(right)) / rows from the right logit to the wrong one and touches nothing else.
/// </summary>
public class ContrastLossTests
{
    // Three rows of five logits; margins right − wrong of +1.5, −2.5 and −2.75 (both branches of the softplus).
    static readonly Tensor<double> Logits = Tensor<double>.FromArray(
    [
        1.0, 0.2, -0.3, -0.5, 0.9,
        0.4, 0.5, 1.7, 0.0, -2.0,
        3.0, -1.0, 0.25, 0.6, -0.1,
    ], 3, 5);
    static readonly int[] Right = [0, 4, 2], Wrong = [3, 1, 0];

    static double PairProbability(int r) // p(right) under softmax over the two logits, written as the definition
    {
        double a = Math.Exp(Logits[r * 5 + Right[r]]), b = Math.Exp(Logits[r * 5 + Wrong[r]]);
        return a / (a + b);
    }

    [Fact]
    public void Loss_is_the_mean_over_rows_of_minus_log_p_right_within_the_pair()
    {
        double expected = -(Math.Log(PairProbability(0)) + Math.Log(PairProbability(1)) + Math.Log(PairProbability(2))) / 3;
        var loss = Ops.ContrastLoss(Ops.Constant(Logits), Right, Wrong);
        Assert.Equal([1], loss.Shape);
        Assert.Equal(expected, loss.Value[0], 1e-14);
    }

    [Fact]
    public void Gradient_moves_one_minus_p_right_over_rows_from_right_to_wrong_and_nowhere_else()
    {
        var logits = Ops.Leaf(Logits);
        using (var tape = Tape.Start()) tape.Backward(Ops.ContrastLoss(logits, Right, Wrong));
        var expected = new double[15];
        for (int r = 0; r < 3; r++)
        {
            double miss = 1 - PairProbability(r);
            expected[r * 5 + Right[r]] = -miss / 3;
            expected[r * 5 + Wrong[r]] = miss / 3;
        }
        var grad = logits.Grad!.ToArray();
        for (int i = 0; i < 15; i++) Assert.Equal(expected[i], grad[i], 1e-15);
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        var logits = GradCheck.Random(new Random(23), 4, 6);
        double error = GradCheck.MaxError(v => Ops.ContrastLoss(v[0], [1, 0, 5, 3], [4, 2, 0, 1]), logits);
        Assert.True(error <= 1e-6, $"max relative error {error:E2}");
    }

    [Fact]
    public void Margins_far_beyond_exp_range_give_finite_losses_and_saturated_gradients()
    {
        // Margins +800 and −800: exp of either overflows, so each side must take the softplus form that stays finite.
        var logits = Ops.Leaf(Tensor<double>.FromArray([400, -400, 0, -400, 400, 0], 2, 3));
        Var<double> loss;
        using (var tape = Tape.Start())
        {
            loss = Ops.ContrastLoss(logits, [0, 0], [1, 1]);
            tape.Backward(loss);
        }
        Assert.Equal(400, loss.Value[0]); // (0 + 800) / 2
        Assert.Equal([0, 0, 0, -0.5, 0.5, 0], logits.Grad!.ToArray());
    }

    [Fact]
    public void Label_counts_other_than_the_row_count_are_refused()
    {
        var logits = Ops.Constant(new Tensor<double>(3, 4));
        var ex = Assert.Throws<ArgumentException>(() => Ops.ContrastLoss(logits, [0, 1], [1, 2, 3]));
        Assert.Equal("ContrastLoss: 2/3 labels for 3 rows", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Ops.ContrastLoss(logits, [0, 1, 2], [1, 2, 3, 0]));
        Assert.Equal("ContrastLoss: 3/4 labels for 3 rows", ex.Message);
    }

    [Fact]
    public void Constant_logits_record_nothing_and_need_no_tape()
    {
        Assert.False(Ops.ContrastLoss(Ops.Constant(Logits), Right, Wrong).RequiresGrad);

        using var tape = Tape.Start();
        Assert.False(Ops.ContrastLoss(Ops.Constant(Logits), Right, Wrong).RequiresGrad);
        Assert.Equal(0, tape.Count);
        Assert.True(Ops.ContrastLoss(Ops.Leaf(Logits), Right, Wrong).RequiresGrad);
        Assert.Equal(1, tape.Count);
    }
}
