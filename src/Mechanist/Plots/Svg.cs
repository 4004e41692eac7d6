using System.Globalization;
using System.Text;

namespace Mechanist.Plots;

/// <summary>
/// What every chart shares: numbers written the same on every machine, escaped text, and the wrapper that
/// turns a chart's markup into a standalone .svg file. Charts mark their parts with CSS classes (title, tick,
/// axis, bar, series); the feature browser styles them with its own sheet, a standalone file with
/// <see cref="FileStyle"/>, so one drawing serves both.
/// </summary>
public static class Svg
{
    /// <summary>The classes' look in a standalone file (the browser's stylesheet has its own).</summary>
    public const string FileStyle =
        "text{font:11px sans-serif;fill:#333}text.title{font-size:13px;fill:#111}text.tick{fill:#555}" +
        ".axis{stroke:#444;stroke-width:1}.bar{fill:#4878a8}.bar.neg{fill:#5b8def}.series{fill:none;stroke-width:1.5}";

    /// <summary>A coordinate or value with at most one decimal, invariant culture ("12.5", "-3").</summary>
    public static string Num(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>Escapes text for SVG content and attributes.</summary>
    public static string Escape(string? text) => System.Security.SecurityElement.Escape(text ?? "");

    /// <summary>A standalone SVG document: the chart drawn by <paramref name="draw"/> (which writes its own &lt;svg&gt; element's contents) on white.</summary>
    public static string Document(int width, int height, Action<StringBuilder> draw)
    {
        var sb = new StringBuilder();
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(width).Append("\" height=\"").Append(height)
          .Append("\" viewBox=\"0 0 ").Append(width).Append(' ').Append(height).Append("\">\n<style>").Append(FileStyle).Append("</style>\n")
          .Append("<rect width=\"").Append(width).Append("\" height=\"").Append(height).Append("\" fill=\"white\"/>\n");
        draw(sb);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>&lt;text class="…" x y [text-anchor]&gt;escaped&lt;/text&gt;.</summary>
    public static void Text(StringBuilder sb, string cssClass, double x, double y, string text, string? anchor = null, string? extra = null)
    {
        sb.Append("<text class=\"").Append(cssClass).Append("\" x=\"").Append(Num(x)).Append("\" y=\"").Append(Num(y)).Append('"');
        if (anchor != null) sb.Append(" text-anchor=\"").Append(anchor).Append('"');
        if (extra != null) sb.Append(' ').Append(extra);
        sb.Append('>').Append(Escape(text)).Append("</text>");
    }

    /// <summary>A horizontal or vertical axis line.</summary>
    public static void Axis(StringBuilder sb, double x1, double y1, double x2, double y2) =>
        sb.Append("<line class=\"axis\" x1=\"").Append(Num(x1)).Append("\" y1=\"").Append(Num(y1)).Append("\" x2=\"").Append(Num(x2))
          .Append("\" y2=\"").Append(Num(y2)).Append("\"/>");
}
