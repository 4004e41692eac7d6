using Mechanist.IO;
using Mechanist.Plots;

namespace Mechanist.Models;

/// <summary>Writes a loss curve (training loss, smoothed, and validation loss) as a small standalone SVG.</summary>
public static class LossPlot
{
    public static void Write(string path, IReadOnlyList<(long Step, double Loss)> train, IReadOnlyList<(long Step, double Loss)> valid, string title)
    {
        static List<(double, double)> Points(IEnumerable<(long Step, double Loss)> pts) => pts.Select(p => ((double)p.Step, p.Loss)).ToList();
        var chart = new LineChart(title, "step", "loss (nats/token)",
        [
            new LineSeries("train (smoothed)", "#1f77b4", Points(Smooth(train, 0.9))),
            new LineSeries("validation", "#d62728", Points(valid)),
        ]);
        AtomicFile.WriteAllText(path, chart.ToFile());
    }

    /// <summary>Exponential moving average with bias correction (as TensorBoard smooths curves).</summary>
    internal static List<(long Step, double Loss)> Smooth(IReadOnlyList<(long Step, double Loss)> pts, double beta)
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
