using System.Globalization;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Models;

/// <summary>Writes a loss curve (training loss, smoothed, and validation loss) as a small standalone SVG.</summary>
public static class LossPlot
{
    public static void Write(string path, IReadOnlyList<(long Step, double Loss)> train, IReadOnlyList<(long Step, double Loss)> valid, string title)
    {
        const int W = 720, H = 420, L = 60, R = 20, T = 40, B = 50;
        var smooth = Smooth(train, 0.9);
        var all = smooth.Concat(valid).Where(p => double.IsFinite(p.Loss)).ToList();
        var sb = new StringBuilder();
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        sb.Append($"<text x=\"{W / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{System.Security.SecurityElement.Escape(title)}</text>\n");
        if (all.Count > 0)
        {
            long x0 = all.Min(p => p.Step), x1 = Math.Max(x0 + 1, all.Max(p => p.Step));
            double y0 = all.Min(p => p.Loss), y1 = all.Max(p => p.Loss);
            if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
            double X(long s) => L + (s - x0) / (double)(x1 - x0) * (W - L - R);
            double Y(double v) => T + (y1 - v) / (y1 - y0) * (H - T - B);
            sb.Append($"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#444\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#444\"/>\n");
            for (int i = 0; i <= 4; i++)
            {
                double v = y0 + (y1 - y0) * i / 4;
                long s = x0 + (x1 - x0) * i / 4;
                sb.Append($"<text x=\"{L - 6}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{v.ToString("0.00", CultureInfo.InvariantCulture)}</text>");
                sb.Append($"<text x=\"{F(X(s))}\" y=\"{H - B + 18}\" text-anchor=\"middle\">{s}</text>\n");
            }
            sb.Append($"<text x=\"{W / 2}\" y=\"{H - 10}\" text-anchor=\"middle\">step</text>");
            sb.Append($"<text x=\"16\" y=\"{H / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {H / 2})\">loss (nats/token)</text>\n");
            void Line(IEnumerable<(long Step, double Loss)> pts, string color)
            {
                var d = string.Join(" ", pts.Where(p => double.IsFinite(p.Loss)).Select(p => $"{F(X(p.Step))},{F(Y(p.Loss))}"));
                if (d.Length > 0) sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{d}\"/>\n");
            }
            Line(smooth, "#1f77b4");
            Line(valid, "#d62728");
            sb.Append($"<text x=\"{W - R - 150}\" y=\"{T + 10}\" fill=\"#1f77b4\">train (smoothed)</text>");
            sb.Append($"<text x=\"{W - R - 150}\" y=\"{T + 26}\" fill=\"#d62728\">validation</text>\n");
        }
        sb.Append("</svg>\n");
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Exponential moving average with bias correction (as TensorBoard smooths curves).</summary>
    static List<(long Step, double Loss)> Smooth(IReadOnlyList<(long Step, double Loss)> pts, double beta)
    {
        var result = new List<(long, double)>(pts.Count);
        double avg = 0; int n = 0;
        foreach (var (s, v) in pts)
        {
            if (!double.IsFinite(v)) continue;
            avg = beta * avg + (1 - beta) * v;
            n++;
            result.Add((s, avg / (1 - Math.Pow(beta, n))));
        }
        return result;
    }
}
