using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Global-norm clipping and RMS normalisation: the exact norm over gradients of several lengths (vector body, tail,
/// more than one 1,024-entry block), the exact factor applied to every entry, and the cases left untouched.
/// </summary>
public class GradientClippingTests
{
    /// <summary>Parameters of the given lengths with gradients in [−0.93, 3.07], none ±1 (a square of 1 would hide a wrong square).</summary>
    static Parameter[] WithGradients(params int[] lengths)
    {
        int next = 0;
        return lengths.Select((n, k) =>
        {
            var p = new Parameter("p" + k, new Tensor(n));
            for (int i = 0; i < n; i++) p.Grad[i] = (next++ % 29 + 0.5f) / 7f - 1;
            return p;
        }).ToArray();
    }

    static double[][] Grads(Parameter[] ps) => ps.Select(p => p.Grad.ToArray().Select(g => (double)g).ToArray()).ToArray();

    static double Norm(double[][] grads) => Math.Sqrt(grads.Sum(g => g.Sum(x => x * x)));

    static void AssertScaled(double[][] before, Parameter[] ps, double factor)
    {
        for (int k = 0; k < ps.Length; k++)
            for (int i = 0; i < before[k].Length; i++)
                Assert.True(Math.Abs(before[k][i] * factor - ps[k].Grad[i]) <= 1e-6 * (1 + Math.Abs(before[k][i] * factor)),
                    $"p{k}[{i}] = {ps[k].Grad[i]}, expected {before[k][i] * factor}");
    }

    [Theory]
    [InlineData(new[] { 5 })]
    [InlineData(new[] { 16, 3 })]
    [InlineData(new[] { 40, 1500 })] // the second spans two blocks, the last one partial
    public void Clipping_scales_every_entry_by_max_norm_over_norm_plus_a_millionth(int[] lengths)
    {
        var ps = WithGradients(lengths);
        var before = Grads(ps);
        double norm = Norm(before);
        float maxNorm = (float)(norm / 3);
        float returned = GradientClipping.ClipGlobalNorm(ps, maxNorm);
        Assert.Equal(norm, returned, norm * 1e-6);
        AssertScaled(before, ps, maxNorm / (norm + 1e-6));
    }

    [Fact]
    public void Clipping_below_the_limit_changes_nothing_and_still_returns_the_norm()
    {
        var ps = WithGradients(20, 7);
        var before = Grads(ps);
        double norm = Norm(before);
        Assert.Equal(norm, GradientClipping.ClipGlobalNorm(ps, (float)(norm * 2)), norm * 1e-6);
        AssertScaled(before, ps, 1);
    }

    [Fact]
    public void Clipping_refuses_a_limit_that_is_not_positive()
    {
        var ps = WithGradients(3);
        foreach (float bad in new[] { 0f, -1f, float.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipGlobalNorm(ps, bad));
            Assert.Equal("maxNorm", e.ParamName);
            Assert.Contains("max norm must be > 0", e.Message);
        }
    }

    [Theory]
    [InlineData(new[] { 5 })]
    [InlineData(new[] { 16, 3 })]
    [InlineData(new[] { 40, 1500 })]
    public void Rms_normalisation_divides_by_the_root_mean_square_of_all_entries(int[] lengths)
    {
        var ps = WithGradients(lengths);
        var before = Grads(ps);
        double norm = Norm(before);
        float returned = GradientClipping.NormalizeRms(ps);
        Assert.Equal(norm, returned, norm * 1e-6);
        AssertScaled(before, ps, Math.Sqrt(lengths.Sum()) / norm);
        double rms = Math.Sqrt(ps.Sum(p => p.Grad.ToArray().Sum(g => (double)g * g)) / lengths.Sum());
        Assert.Equal(1.0, rms, 1e-6);
    }

    [Fact]
    public void Rms_normalisation_leaves_zero_and_non_finite_gradients_as_they_are()
    {
        var zero = new[] { new Parameter("a", new Tensor(20)), new Parameter("b", new Tensor(3)) };
        Assert.Equal(0f, GradientClipping.NormalizeRms(zero));
        Assert.All(zero, p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g)));

        var ps = WithGradients(20, 3);
        ps[1].Grad[2] = float.PositiveInfinity;
        var before = Grads(ps);
        Assert.Equal(float.PositiveInfinity, GradientClipping.NormalizeRms(ps));
        for (int k = 0; k < ps.Length; k++) Assert.Equal(before[k], ps[k].Grad.ToArray().Select(g => (double)g));

        Assert.Equal(0f, GradientClipping.NormalizeRms([]));
    }
}
