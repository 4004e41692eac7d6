using System.Globalization;
using System.Text;

namespace Mechanist.Plots;

/// <summary>
/// Counts over equal-width bins as a bar chart: bin i covers [Low + i·BinWidth, Low + (i+1)·BinWidth).
/// The peak count labels the top of the axis, five ticks label the bins' range, each bar carries its range and
/// count as a tooltip. <see cref="AppendSvg"/> writes an inline &lt;svg&gt; for a page (styled by the page's
/// CSS); <see cref="ToFile"/> a standalone file.
/// </summary>
public sealed record HistogramChart(string Title, double Low, double BinWidth, IReadOnlyList<long> Counts)
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public PlotArea Area { get; init; } = new(560, 150, 44, 10, 26, 24);
    /// <summary>Formats a bin edge for the ticks and tooltips.</summary>
    public Func<double, string> AxisLabel { get; init; } = v => v.ToString("G3", Inv);
    /// <summary>Bars left of zero get class "bar neg", the others "bar pos" (logit effects).</summary>
    public bool Signed { get; init; }
    /// <summary>A caption under the ticks (standalone files; it needs a bottom margin of about 40).</summary>
    public string? XLabel { get; init; }

    public double High => Low + BinWidth * Counts.Count;

    /// <summary>An inline &lt;svg&gt; element (viewBox only, so the page sizes it), labelled for screen readers.</summary>
    public void AppendSvg(StringBuilder sb)
    {
        sb.Append("<svg viewBox=\"0 0 ").Append(Area.Width).Append(' ').Append(Area.Height).Append("\" role=\"img\" aria-label=\"")
          .Append(Svg.Escape(Title)).Append("\">");
        Draw(sb);
        sb.Append("</svg>");
    }

    /// <summary>A standalone .svg document.</summary>
    public string ToFile() => Svg.Document(Area.Width, Area.Height, Draw);

    /// <summary>Several charts one above the other in one standalone .svg (e.g. features over neurons, on the same bins).</summary>
    public static string StackedFile(IReadOnlyList<HistogramChart> charts)
    {
        int width = charts.Max(c => c.Area.Width), height = charts.Sum(c => c.Area.Height);
        return Svg.Document(width, height, sb =>
        {
            int y = 0;
            foreach (var chart in charts)
            {
                sb.Append("<g transform=\"translate(0,").Append(y).Append(")\">");
                chart.Draw(sb);
                sb.Append("</g>\n");
                y += chart.Area.Height;
            }
        });
    }

    void Draw(StringBuilder sb)
    {
        var a = Area;
        Svg.Text(sb, "title", a.Left, 15, Title);
        long peak = Counts.Count == 0 ? 0 : Counts.Max();
        if (peak == 0)
        {
            Svg.Text(sb, "empty", a.Width / 2.0, a.Height / 2.0 + 10, "no data");
            return;
        }
        Svg.Axis(sb, a.Left, a.Base, a.Width - a.Right, a.Base);
        Svg.Text(sb, "tick", a.Left - 4, a.Top + 8, peak.ToString("N0", Inv), "end");
        double barWidth = a.PlotWidth / Counts.Count;
        for (int i = 0; i < Counts.Count; i++)
        {
            if (Counts[i] == 0) continue;
            double h = Math.Max(1, a.PlotHeight * Counts[i] / peak);
            double lo = Low + i * BinWidth, hi = lo + BinWidth;
            string cls = Signed ? (hi <= 0 ? "bar neg" : "bar pos") : "bar";
            sb.Append("<rect class=\"").Append(cls).Append("\" x=\"").Append(Svg.Num(a.Left + i * barWidth + 0.5))
              .Append("\" y=\"").Append(Svg.Num(a.Base - h)).Append("\" width=\"").Append(Svg.Num(Math.Max(1, barWidth - 1)))
              .Append("\" height=\"").Append(Svg.Num(h)).Append("\"><title>").Append(Svg.Escape(AxisLabel(lo))).Append(" – ")
              .Append(Svg.Escape(AxisLabel(hi))).Append(": ").Append(Counts[i].ToString("N0", Inv)).Append("</title></rect>");
        }
        double tickY = a.Base + 18;
        for (int t = 0; t <= 4; t++)
            Svg.Text(sb, "tick", a.X(t / 4.0), tickY, AxisLabel(Low + (High - Low) * t / 4), t == 0 ? "start" : t == 4 ? "end" : "middle");
        if (XLabel != null) Svg.Text(sb, "tick", a.X(0.5), tickY + 16, XLabel, "middle");
    }
}
