using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// The small promises of Tape, Var and Parameter that the op tests lean on without stating: when an op records,
/// the refusal of a loss without gradient, scopes that survive a double Dispose, ZeroGrad's two meanings, names.
/// </summary>
public class TapeContractTests
{
    static readonly Var<double> Constant = Ops.Constant(new Tensor<double>(2, 2));

    [Fact]
    public void Backward_refuses_a_loss_that_needs_no_gradient()
    {
        using var tape = Tape.Start();
        var ex = Assert.Throws<InvalidOperationException>(() => tape.Backward(Ops.Constant(new Tensor<double>(1))));
        Assert.Equal("the loss does not depend on anything that requires a gradient", ex.Message);
    }

    [Fact]
    public void Tapes_disposed_out_of_order_never_leave_a_closed_tape_active()
    {
        var outer = Tape.Start();
        var inner = Tape.Start();
        outer.Dispose(); // out of order: the inner tape stays active
        Assert.Same(inner, Tape.Active);
        inner.Dispose(); // the outer one is closed, so no tape is left to record on
        Assert.Null(Tape.Active);
        outer.Dispose();
        Assert.Null(Tape.Active);
    }

    [Fact]
    public void Absent_optional_inputs_never_make_an_op_record()
    {
        var leaf = Ops.Leaf(new Tensor<double>(2, 2));
        using var tape = Tape.Start();
        Assert.False(Tape.ShouldRecord(Constant, null));
        Assert.False(Tape.ShouldRecord(Constant, null, Constant));
        Assert.False(Tape.ShouldRecord(Constant, Constant, null));
        Assert.False(Tape.ShouldRecord(Constant, null, null, null));
        Assert.True(Tape.ShouldRecord(Constant, leaf));
        Assert.True(Tape.ShouldRecord(Constant, null, leaf));
        Assert.True(Tape.ShouldRecord(Constant, Constant, null, leaf));

        // As an op sees it: a bias-free Linear of constants records nothing.
        Assert.False(Ops.Linear(Constant, Constant, null).RequiresGrad);
        Assert.Equal(0, tape.Count);
    }

    [Fact]
    public void A_NoGrad_scope_disposed_twice_leaves_later_scopes_working()
    {
        using var tape = Tape.Start();
        var scope = Tape.NoGrad();
        scope.Dispose();
        scope.Dispose();
        Assert.Same(tape, Tape.Active);
        using (Tape.NoGrad()) Assert.Null(Tape.Active);
        Assert.Same(tape, Tape.Active);
    }

    [Fact]
    public void ZeroGrad_clears_a_parameter_gradient_in_place_and_forgets_an_intermediate_one()
    {
        var p = new Parameter("w", new Tensor(2, 2));
        var w = Var<float>.Of(p);
        p.Grad.Fill(3);
        w.ZeroGrad();
        Assert.Same(p.Grad, w.Grad); // the optimizer still reads the same tensor
        Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g));

        var leaf = Ops.Leaf(new Tensor<double>(1));
        using (var tape = Tape.Start()) tape.Backward(leaf);
        Assert.Equal([1.0], leaf.Grad!.ToArray());
        leaf.ZeroGrad();
        Assert.Null(leaf.Grad);
    }

    [Fact]
    public void ToString_gives_the_shape_and_whether_a_gradient_is_wanted()
    {
        Assert.Equal("Var[2, 3] (grad)", Ops.Leaf(new Tensor<double>(2, 3)).ToString());
        Assert.Equal("Var[4]", Ops.Constant(new Tensor<double>(4)).ToString());
        Assert.Equal("blocks.0.attn.W_Q [4, 2]", new Parameter("blocks.0.attn.W_Q", new Tensor(4, 2)).ToString());
    }
}
