using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The element-wise activations against their formulas in float64, in both precisions, over a length that splits
/// across two workers (2¹⁶ and more) and ends in a scalar tail; the backward passes must add into what dx held.
/// </summary>
[Collection("threads-alone")]
public class ActivationKernelTests
{
    const int Length = (1 << 16) + 21;

    static double Forward(Activation kind, double x) => kind switch
    {
        Activation.Relu => Math.Max(x, 0),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-x)),
        Activation.GeluNew => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        Activation.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>f'(x) by the formula, except GeluNew, by a central difference of the float64 forward.</summary>
    static double Derivative(Activation kind, double x)
    {
        switch (kind)
        {
            case Activation.Relu: return x > 0 ? 1 : 0;
            case Activation.Sigmoid: { double s = Forward(kind, x); return s * (1 - s); }
            case Activation.Gelu: return 0.5 * (1 + Erf(x / Math.Sqrt(2))) + x * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
            default: { const double h = 1e-5; return (Forward(kind, x + h) - Forward(kind, x - h)) / (2 * h); }
        }
    }

    static void Check<T>(Activation kind) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(2))
        {
            var rng = new Random(1 + (int)kind);
            var x = Random<T>(rng, 4, Length);
            var dy = Random<T>(rng, 1, Length);
            var dx = Random<T>(rng, 1, Length);
            var xd = ToDouble(x); var dyd = ToDouble(dy); var dxd = ToDouble(dx);

            var y = new Tensor<T>(Length);
            Mechanist.Numerics.Kernels.Activations.Forward<T>(kind, x.Span, y.Span);
            Close(xd.Select(v => Forward(kind, v)).ToArray(), y, $"{kind} forward");

            Mechanist.Numerics.Kernels.Activations.Backward<T>(kind, x.Span, y.Span, dy.Span, dx.Span);
            // The difference quotient of GeluNew is good to about 1e-10; float's own rounding dominates in float.
            double? tol = kind == Activation.GeluNew && typeof(T) == typeof(double) ? 1e-9 : null;
            Close(xd.Select((v, i) => dxd[i] + Derivative(kind, v) * dyd[i]).ToArray(), dx, $"{kind} backward", tol);
        }
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.GeluNew)]
    [InlineData(Activation.Gelu)]
    public void Forward_and_backward_match_the_formula_in_float(Activation kind) => Check<float>(kind);

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.GeluNew)]
    [InlineData(Activation.Gelu)]
    public void Forward_and_backward_match_the_formula_in_double(Activation kind) => Check<double>(kind);

    [Fact]
    public void Relu_passes_no_gradient_at_zero_and_refuses_mismatched_lengths()
    {
        var x = new float[] { 0, -0f, 1, -1 };
        var dx = new float[4];
        var y = new float[4];
        Mechanist.Numerics.Kernels.Activations.Forward<float>(Activation.Relu, x, y);
        Mechanist.Numerics.Kernels.Activations.Backward<float>(Activation.Relu, x, y, new float[] { 5, 5, 5, 5 }, dx);
        Assert.Equal(new float[] { 0, 0, 5, 0 }, dx);
        Assert.Contains("activation input and output lengths differ",
            Assert.Throws<ArgumentException>(() => Mechanist.Numerics.Kernels.Activations.Forward<float>(Activation.Relu, x, new float[3])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Mechanist.Numerics.Kernels.Activations.Forward<float>((Activation)99, x, y));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mechanist.Numerics.Kernels.Activations.Backward<float>((Activation)99, x, y, y, dx));
    }
}
