using System.Globalization;
using System.Text;

namespace Mechanist.Plots;

/// <summary>One named curve of a <see cref="LineChart"/>; points with a non-finite y are skipped.</summary>
public sealed record LineSeries(string Name, string Colour, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Curves over a shared x range as a standalone SVG: both axes with five ticks, axis captions and a legend
/// in the top right corner (loss curves).
/// </summary>
public sealed record LineChart(string Title, string XLabel, string YLabel, IReadOnlyList<LineSeries> Series)
{
    public PlotArea Area { get; init; } = new(720, 420, 60, 20, 40, 50);

    /// <summary>Formats a y tick.</summary>
    public Func<double, string> YFormat { get; init; } = v => v.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>Logarithmic axes (points with a value ≤ 0 on a log axis are skipped; ticks show the values, not their logs).</summary>
    public bool LogX { get; init; }
    public bool LogY { get; init; }

    public string ToFile() => Svg.Document(Area.Width, Area.Height, Draw);

    void Draw(StringBuilder sb)
    {
        var a = Area;
        Svg.Text(sb, "title", a.Width / 2.0, 22, Title, "middle");
        sb.Append('\n');
        (double X, double Y) Axes((double X, double Y) p) => (LogX ? Math.Log10(p.X) : p.X, LogY ? Math.Log10(p.Y) : p.Y);
        bool Drawn((double X, double Y) p) => double.IsFinite(p.X) && double.IsFinite(p.Y);
        var all = Series.SelectMany(s => s.Points).Select(Axes).Where(Drawn).ToList();
        if (all.Count == 0) return;
        double x0 = all.Min(p => p.X), x1 = Math.Max(x0 + 1, all.Max(p => p.X));
        double y0 = all.Min(p => p.Y), y1 = all.Max(p => p.Y);
        if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
        double X(double x) => a.X((x - x0) / (x1 - x0));
        double Y(double y) => a.Y((y - y0) / (y1 - y0));

        Svg.Axis(sb, a.Left, a.Base, a.Width - a.Right, a.Base);
        Svg.Axis(sb, a.Left, a.Top, a.Left, a.Base);
        sb.Append('\n');
        for (int i = 0; i <= 4; i++)
        {
            double y = y0 + (y1 - y0) * i / 4, x = x0 + (x1 - x0) * i / 4;
            Svg.Text(sb, "tick", a.Left - 6, Y(y) + 4, YFormat(LogY ? Math.Pow(10, y) : y), "end");
            Svg.Text(sb, "tick", X(x), a.Base + 18, Math.Round(LogX ? Math.Pow(10, x) : x).ToString("0", CultureInfo.InvariantCulture), "middle");
            sb.Append('\n');
        }
        Svg.Text(sb, "tick", a.Width / 2.0, a.Height - 10, XLabel, "middle");
        Svg.Text(sb, "tick", 16, a.Height / 2.0, YLabel, "middle", $"transform=\"rotate(-90 16 {Svg.Num(a.Height / 2.0)})\"");
        sb.Append('\n');
        for (int s = 0; s < Series.Count; s++)
        {
            var series = Series[s];
            var points = string.Join(" ", series.Points.Select(Axes).Where(Drawn)
                .Select(p => Svg.Num(X(p.X)) + "," + Svg.Num(Y(p.Y))));
            if (points.Length > 0)
                sb.Append("<polyline class=\"series\" stroke=\"").Append(series.Colour).Append("\" points=\"").Append(points).Append("\"/>\n");
            Svg.Text(sb, "legend", a.Width - a.Right - 150, a.Top + 10 + 16 * s, series.Name, extra: $"style=\"fill:{series.Colour}\"");
        }
        sb.Append('\n');
    }
}
