using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// <see cref="Ops.SparseLinear{T}"/>'s input gradient adds to what the input already holds, in both weight layouts
/// (gradient accumulation over micro-batches relies on it; a finite-difference check sees only one pass).
/// </summary>
public class SparseLinearAccumulationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_backward_passes_leave_twice_the_input_gradient(bool inputMajor)
    {
        var rng = new Random(3);
        var w = GradCheck.Random(rng, 4, 5);
        for (int i = 0; i < w.Length; i += 3) w[i] = 0;
        var pattern = SparsePattern.FromNonZeros<double>(w.Span, 4, 5);
        var x = Ops.Leaf(GradCheck.Random(rng, 3, inputMajor ? 4 : 5));
        var upstream = Ops.Constant(GradCheck.Random(rng, 3, inputMajor ? 5 : 4));
        double[] once = [];
        for (int pass = 0; pass < 2; pass++)
        {
            using var tape = Tape.Start();
            var y = Ops.SparseLinear(x, Ops.Constant(w), pattern, null, SparseWeightGradient.Dense, inputMajor);
            tape.Backward(Ops.Sum(Ops.Mul(y, upstream)));
            if (pass == 0) once = x.Grad!.ToArray();
        }
        Assert.Contains(once, g => g != 0);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], x.Grad![i], 14);
    }
}
