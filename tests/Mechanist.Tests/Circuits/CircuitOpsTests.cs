using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Tests.Autograd;

namespace Mechanist.Tests.Circuits;

/// <summary>The ops circuit pruning adds: hard gates with the sigmoid surrogate, frozen norm scales, the contrast loss.</summary>
public class CircuitOpsTests
{
    readonly Random _rng = new(11);

    [Fact]
    public void Hard_gate_is_a_step_forward_and_the_sigmoid_derivative_backward()
    {
        var tau = GradCheck.Random(_rng, 9);
        tau[0] = 0; // H(0) = 0: a gate at exactly zero is closed
        var upstream = GradCheck.Random(_rng, 9);
        var leaf = Ops.Leaf(tau);
        Var<double> gates;
        using (var tape = Tape.Start())
        {
            gates = Ops.HardGate(leaf);
            tape.Backward(Ops.Sum(Ops.Mul(gates, Ops.Constant(upstream))));
        }
        // The surrogate is the gradient sigmoid(τ) would have: checked against sigmoid's own finite differences.
        double worst = 0;
        for (int i = 0; i < tau.Length; i++)
        {
            Assert.Equal(tau[i] > 0 ? 1.0 : 0.0, gates.Value[i]);
            double h = 1e-6, numeric = upstream[i] * (Sigmoid(tau[i] + h) - Sigmoid(tau[i] - h)) / (2 * h);
            worst = Math.Max(worst, Math.Abs(leaf.Grad![i] - numeric));
        }
        Assert.True(worst < 1e-8, $"surrogate gradient off by {worst:E2}");
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Frozen_scale_norm_matches_finite_differences_and_the_norm_it_freezes(bool centre)
    {
        var x = GradCheck.Random(_rng, 2, 3, 6);
        var scale = new Tensor<double>(6);
        for (int i = 0; i < 6; i++) scale[i] = 0.5 + _rng.NextDouble();
        double error = GradCheck.MaxError(v => Ops.FrozenScaleNorm(v[0], scale, centre), x);
        Assert.True(error <= 1e-6, $"max relative error {error:E2}");

        // Given the σ the norm itself computes, it is the norm (with unit gain), value for value.
        var ones = new Tensor<double>(6);
        ones.Fill(1);
        var live = centre ? Ops.LayerNorm(Ops.Constant(x), Ops.Constant(ones), null, 1e-5) : Ops.RmsNorm(Ops.Constant(x), Ops.Constant(ones), 1e-5);
        var rstd = live.NormStatistics!.Value.Rstd;
        var sigma = new Tensor<double>(6);
        for (int i = 0; i < 6; i++) sigma[i] = 1 / rstd[i];
        var frozen = Ops.FrozenScaleNorm(Ops.Constant(x), sigma, centre);
        for (int i = 0; i < x.Length; i++) Assert.Equal(live.Value[i], frozen.Value[i], 1e-12);
    }

    [Fact]
    public void Contrast_loss_is_the_two_way_cross_entropy_with_matching_gradients()
    {
        var logits = GradCheck.Random(_rng, 4, 7);
        int[] right = [1, 2, 6, 0], wrong = [3, 5, 1, 4];
        double error = GradCheck.MaxError(v => Ops.ContrastLoss(v[0], right, wrong), logits);
        Assert.True(error <= 1e-6, $"max relative error {error:E2}");
        double expected = 0;
        for (int r = 0; r < 4; r++)
        {
            double a = logits[r * 7 + right[r]], b = logits[r * 7 + wrong[r]];
            expected += -Math.Log(Math.Exp(a) / (Math.Exp(a) + Math.Exp(b)));
        }
        Assert.Equal(expected / 4, Ops.ContrastLoss(Ops.Constant(logits), right, wrong).Value[0], 1e-12);
    }
}
