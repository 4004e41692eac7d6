using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>The loss curve: TensorBoard-style smoothing checked by hand, and the SVG's series and axes.</summary>
public class LossPlotTests
{
    [Fact]
    public void Smoothing_is_a_bias_corrected_moving_average_that_skips_non_finite_losses()
    {
        // β = 0.5: avg 1 → 1 / (1 − 0.5) = 2; NaN and ∞ skipped; avg 0.5·1 + 0.5·4 = 2.5 → 2.5 / (1 − 0.25) = 10/3;
        // avg 0.5·2.5 + 0.5·1 = 1.75 → 1.75 / (1 − 0.125) = 2.
        var smooth = LossPlot.Smooth([(1, 2.0), (2, double.NaN), (3, 4.0), (4, double.PositiveInfinity), (5, 1.0)], 0.5);
        Assert.Equal([1L, 3, 5], smooth.Select(p => p.Step).ToArray());
        Assert.Equal(2.0, smooth[0].Loss, 12);
        Assert.Equal(10.0 / 3, smooth[1].Loss, 12);
        Assert.Equal(2.0, smooth[2].Loss, 12);
    }

    [Fact]
    public void A_constant_curve_stays_constant_from_its_first_point()
    {
        foreach (var (_, loss) in LossPlot.Smooth([(10, 3.0), (20, 3.0), (30, 3.0)], 0.9)) Assert.Equal(3.0, loss, 12);
    }

    [Fact]
    public void The_svg_names_both_series_and_the_axes()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "loss.svg");
        LossPlot.Write(path, [(1, 5.0), (2, 4.0)], [(2, 4.5)], "micro: 0.1M parameters, seed 0");
        string svg = File.ReadAllText(path);
        foreach (string text in new[] { "micro: 0.1M parameters, seed 0", "train (smoothed)", "validation", "#1f77b4", "#d62728", ">step<", "loss (nats/token)" })
            Assert.Contains(text, svg);
    }
}
