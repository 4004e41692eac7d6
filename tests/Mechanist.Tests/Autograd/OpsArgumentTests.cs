using Mechanist.Autograd;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// What the plain ops refuse, with the op's name and the shapes in the message, and the edge cases they must still
/// accept (empty and whole column ranges, a scalar added to a scalar).
/// </summary>
public class OpsArgumentTests
{
    static Var<float> C(params int[] shape) => Ops.Constant(new Tensor(shape));

    static Var<float> Counting(params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t[i] = i;
        return Ops.Constant(t);
    }

    static void Refused(Action op, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(op).Message);

    [Fact]
    public void Products_refuse_inner_sizes_that_differ()
    {
        Refused(() => Ops.MatMul(C(3, 4), C(5, 6)), "MatMul: op(A) is 3×4 but op(B) is 5×6");
        Refused(() => Ops.Linear(C(2, 4), C(5, 3), null), "Linear: input has 4 features but the weight is [5, 3]");
        Refused(() => Ops.Linear(C(2, 4), C(4, 3), C(4)), "Linear: bias [4] does not match 3 outputs");
    }

    [Fact]
    public void Broadcasting_refuses_a_scalar_and_shapes_that_are_not_trailing_axes()
    {
        Refused(() => Ops.Add(C(3), C(1)), "Add: use Scale for a scalar factor, not a broadcast of [1]");
        Refused(() => Ops.Mul(C(2, 3), C(1)), "Mul: use Scale for a scalar factor, not a broadcast of [1]");
        Refused(() => Ops.Add(C(2, 3), C(2)), "Add: cannot broadcast [2] onto [2, 3] (b must match a's trailing axes)");
        Refused(() => Ops.Mul(C(3), C(2, 3)), "Mul: cannot broadcast [2, 3] onto [3] (b must match a's trailing axes)");
    }

    [Fact]
    public void A_scalar_plus_a_scalar_is_allowed()
    {
        var one = Ops.Constant(Tensor.FromArray([1.5f], 1));
        var two = Ops.Constant(Tensor.FromArray([2f], 1));
        Assert.Equal([3.5f], Ops.Add(one, two).Value.ToArray());
        Assert.Equal([3f], Ops.Mul(one, two).Value.ToArray());
    }

    [Theory]
    [InlineData(-1, 2, "columns [-1, 1) of 4")]
    [InlineData(0, -1, "columns [0, -1) of 4")]
    [InlineData(3, 2, "columns [3, 5) of 4")]
    [InlineData(5, 0, "columns [5, 5) of 4")]
    public void Columns_refuses_a_range_outside_the_last_axis(int start, int count, string words)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Columns(Counting(2, 4), start, count));
        Assert.Equal("start", e.ParamName);
        Assert.Contains(words, e.Message);
    }

    [Theory]
    [InlineData(0, 4, new float[] { 0, 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData(0, 1, new float[] { 0, 4 })]
    [InlineData(2, 2, new float[] { 2, 3, 6, 7 })]
    [InlineData(1, 0, new float[0])]
    [InlineData(4, 0, new float[0])]
    public void Columns_accepts_every_range_inside_the_last_axis(int start, int count, float[] expected)
    {
        var y = Ops.Columns(Counting(2, 4), start, count);
        Assert.Equal([2, count], y.Shape);
        Assert.Equal(expected, y.Value.ToArray());
    }

    [Fact]
    public void Norms_refuse_a_gain_or_bias_of_the_wrong_width()
    {
        Refused(() => Ops.LayerNorm(C(2, 4), C(5), null, 1e-5f), "LayerNorm gain [5] does not match rows of 4");
        Refused(() => Ops.LayerNorm(C(2, 4), C(4), C(3), 1e-5f), "LayerNorm bias [3] does not match rows of 4");
        Refused(() => Ops.RmsNorm(C(2, 4), C(2, 4), 1e-5f), "RmsNorm gain [2, 4] does not match rows of 4");
    }

    static SparsePattern Pattern(int rows, int columns) => new(rows, columns, new int[rows + 1], []);

    [Fact]
    public void SparseLinear_refuses_a_weight_that_differs_from_its_pattern_in_any_axis()
    {
        var x = C(3, 5);
        Refused(() => Ops.SparseLinear(x, C(4, 5), Pattern(4, 6), null), "SparseLinear: weight [4, 5] does not match the 4×6 pattern");
        Refused(() => Ops.SparseLinear(x, C(4, 5), Pattern(3, 5), null), "SparseLinear: weight [4, 5] does not match the 3×5 pattern");
        Refused(() => Ops.SparseLinear(x, C(4, 5, 1), Pattern(4, 5), null), "SparseLinear: weight [4, 5, 1] does not match the 4×5 pattern");
    }

    [Fact]
    public void SparseLinear_refuses_inputs_and_biases_that_do_not_fit_the_layout()
    {
        Refused(() => Ops.SparseLinear(C(3, 6), C(4, 5), Pattern(4, 5), null),
            "SparseLinear: input has 6 features but the weight is [4, 5] ([out, in])");
        Refused(() => Ops.SparseLinear(C(3, 5), C(4, 5), Pattern(4, 5), null, inputMajor: true),
            "SparseLinear: input has 5 features but the weight is [4, 5] ([in, out])");
        Refused(() => Ops.SparseLinear(C(3, 5), C(4, 5), Pattern(4, 5), C(5)), "SparseLinear: bias [5] does not match 4 outputs");
        Refused(() => Ops.SparseLinear(C(3, 4), C(4, 5), Pattern(4, 5), C(4), inputMajor: true), "SparseLinear: bias [4] does not match 5 outputs");
    }
}
