using System.Text;
using System.Xml.Linq;
using Mechanist.Plots;

namespace Mechanist.Tests.Plots;

public class ChartTests
{
    static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    [Fact]
    public void Histogram_file_is_valid_svg_with_one_bar_per_non_empty_bin()
    {
        var chart = new HistogramChart("density <of> 'units'", -10, 0.25, [0, 3, 0, 12, 5]) { XLabel = "log10 density" };
        var svg = XDocument.Parse(chart.ToFile()).Root!;
        Assert.Equal(Ns + "svg", svg.Name);
        var bars = svg.Descendants(Ns + "rect").Where(r => (string?)r.Attribute("class") == "bar").ToList();
        Assert.Equal(3, bars.Count);
        // The tallest bar (count 12) fills the plot height; the others scale with their counts.
        var heights = bars.Select(b => double.Parse((string)b.Attribute("height")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(chart.Area.PlotHeight, heights.Max(), 0.1);
        Assert.Equal(chart.Area.PlotHeight * 3 / 12, heights[0], 0.1);
        Assert.Equal("-9.75 – -9.5: 3", bars[0].Element(Ns + "title")!.Value);
        var texts = svg.Descendants(Ns + "text").Select(t => t.Value).ToList();
        Assert.Contains("density <of> 'units'", texts);
        Assert.Contains("12", texts);
        Assert.Contains("log10 density", texts);
    }

    [Fact]
    public void Signed_histogram_colours_each_side_of_zero_and_empty_counts_say_so()
    {
        var sb = new StringBuilder();
        new HistogramChart("logits", -2, 1, [1, 1, 1, 1]) { Signed = true }.AppendSvg(sb);
        var classes = XElement.Parse(sb.ToString()).Descendants("rect").Select(r => (string)r.Attribute("class")!).ToList();
        Assert.Equal(["bar neg", "bar neg", "bar pos", "bar pos"], classes);

        var empty = XDocument.Parse(new HistogramChart("none", 0, 1, [0, 0]).ToFile()).Root!;
        Assert.DoesNotContain(empty.Descendants(Ns + "rect"), r => r.Attribute("class") != null);
        Assert.Contains("no data", empty.Descendants(Ns + "text").Select(t => t.Value));
    }

    [Fact]
    public void Line_chart_draws_each_series_and_skips_points_that_are_not_finite()
    {
        var chart = new LineChart("loss", "step", "nats", [
            new LineSeries("train", "#1f77b4", [(0, 4.0), (10, double.NaN), (20, 3.0)]),
            new LineSeries("valid", "#d62728", [(20, 3.5)]),
        ]);
        var svg = XDocument.Parse(chart.ToFile()).Root!;
        var lines = svg.Descendants(Ns + "polyline").ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(2, ((string)lines[0].Attribute("points")!).Split(' ').Length);
        var legend = svg.Descendants(Ns + "text").Where(t => (string?)t.Attribute("class") == "legend").Select(t => t.Value);
        Assert.Equal(["train", "valid"], legend);
    }
}
