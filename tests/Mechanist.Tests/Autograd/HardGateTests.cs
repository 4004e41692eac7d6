using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Ops.HardGate alone (circuit pruning uses it through the pruner): a step forward, open only where τ &gt; 0, and
/// the sigmoid's derivative backward, the straight-through surrogate that lets closed gates still learn.
/// </summary>
public class HardGateTests
{
    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void Gates_open_only_where_tau_is_strictly_positive()
    {
        double[] tau = [-3, -1e-300, -0.0, 0, 1e-300, 0.25, 7, double.PositiveInfinity];
        var gates = Ops.HardGate(Ops.Constant(Tensor<double>.FromArray(tau, 2, 4)));
        Assert.Equal([2, 4], gates.Shape);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], gates.Value.ToArray());
    }

    [Fact]
    public void Backward_is_the_upstream_gradient_times_the_sigmoid_derivative()
    {
        double[] tau = [-4, -0.5, 0, 0.5, 4, 1.5];
        double[] upstream = [0.3, -1.2, 2, 0.7, -0.9, 1.1];
        var leaf = Ops.Leaf(Tensor<double>.FromArray(tau, 2, 3));
        using (var tape = Tape.Start())
            tape.Backward(Ops.Sum(Ops.Mul(Ops.HardGate(leaf), Ops.Constant(Tensor<double>.FromArray(upstream, 2, 3)))));

        for (int i = 0; i < tau.Length; i++)
        {
            double s = Sigmoid(tau[i]);
            Assert.Equal(upstream[i] * s * (1 - s), leaf.Grad![i], 1e-15);
        }
        Assert.Equal(0.5, leaf.Grad![2]); // σ'(0) = 1/4, exactly, times 2: a closed gate at the edge learns fastest
    }

    [Fact]
    public void Constant_tau_records_nothing_and_needs_no_tape()
    {
        var tau = Tensor<double>.FromArray([-1.0, 2.0], 2);
        Assert.False(Ops.HardGate(Ops.Constant(tau)).RequiresGrad);

        using var tape = Tape.Start();
        Assert.False(Ops.HardGate(Ops.Constant(tau)).RequiresGrad);
        Assert.Equal(0, tape.Count);
        Assert.True(Ops.HardGate(Ops.Leaf(tau)).RequiresGrad);
        Assert.Equal(1, tape.Count);
    }
}
