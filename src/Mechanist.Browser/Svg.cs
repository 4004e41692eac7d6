using System.Globalization;
using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>Histograms as inline SVG drawn on the server: no script needed, identical in the static export.</summary>
static class Svg
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <param name="signed">Colour bars left of zero blue and right of zero orange (logit effects).</param>
    /// <param name="axisLabel">Formats an x-axis value for the tick labels.</param>
    public static void Histogram(StringBuilder sb, Histogram h, string title, string cssClass, bool signed = false,
        Func<float, string>? axisLabel = null)
    {
        axisLabel ??= v => Html.Num(v, "G3");
        const int W = 560, H = 150, Left = 44, Right = 10, Top = 26, Bottom = 24;
        sb.Append("<figure class=\"hist ").Append(cssClass).Append("\"><svg viewBox=\"0 0 ").Append(W).Append(' ').Append(H)
          .Append("\" role=\"img\" aria-label=\"").Append(Html.E(title)).Append("\">")
          .Append("<text class=\"title\" x=\"").Append(Left).Append("\" y=\"15\">").Append(Html.E(title)).Append("</text>");
        if (h.Counts.Length == 0 || h.Total == 0)
        {
            sb.Append("<text class=\"empty\" x=\"").Append(W / 2).Append("\" y=\"").Append(H / 2 + 10).Append("\">no data</text></svg></figure>");
            return;
        }
        long peak = h.Counts.Max();
        double plotW = W - Left - Right, plotH = H - Top - Bottom, barW = plotW / h.Counts.Length;
        sb.Append("<line class=\"axis\" x1=\"").Append(Left).Append("\" y1=\"").Append(H - Bottom).Append("\" x2=\"").Append(W - Right)
          .Append("\" y2=\"").Append(H - Bottom).Append("\"/>");
        sb.Append("<text class=\"tick\" x=\"").Append(Left - 4).Append("\" y=\"").Append(Top + 8).Append("\" text-anchor=\"end\">")
          .Append(peak.ToString("N0", Inv)).Append("</text>");
        for (int i = 0; i < h.Counts.Length; i++)
        {
            if (h.Counts[i] == 0) continue;
            double bh = Math.Max(1, plotH * h.Counts[i] / peak);
            float lo = h.Min + i * h.BinWidth, hi = lo + h.BinWidth;
            string cls = signed ? (hi <= 0 ? "bar neg" : "bar pos") : "bar";
            sb.Append("<rect class=\"").Append(cls).Append("\" x=\"").Append((Left + i * barW + 0.5).ToString("0.#", Inv))
              .Append("\" y=\"").Append((H - Bottom - bh).ToString("0.#", Inv)).Append("\" width=\"").Append(Math.Max(1, barW - 1).ToString("0.#", Inv))
              .Append("\" height=\"").Append(bh.ToString("0.#", Inv)).Append("\"><title>").Append(axisLabel(lo)).Append(" – ").Append(axisLabel(hi))
              .Append(": ").Append(h.Counts[i].ToString("N0", Inv)).Append("</title></rect>");
        }
        for (int t = 0; t <= 4; t++)
        {
            float v = h.Min + (h.Max - h.Min) * t / 4;
            double x = Left + plotW * t / 4;
            sb.Append("<text class=\"tick\" x=\"").Append(x.ToString("0.#", Inv)).Append("\" y=\"").Append(H - 6)
              .Append("\" text-anchor=\"").Append(t == 0 ? "start" : t == 4 ? "end" : "middle").Append("\">").Append(Html.E(axisLabel(v))).Append("</text>");
        }
        sb.Append("</svg></figure>");
    }
}
