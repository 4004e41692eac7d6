using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Plots;

namespace Mechanist.Bench;

/// <summary>One training run's curves, read from its metrics.jsonl.</summary>
public sealed record LossCurves(string Label, string Dir, IReadOnlyList<(long Step, double Loss)> Train, IReadOnlyList<(long Step, double Loss)> Valid);

/// <summary>How a run's losses compare with the reference run's (the first) at the steps both measured: ratios run / reference.</summary>
public sealed record LossCurveRatio(string Label, string Reference, IReadOnlyList<(long Step, double Ratio)> Valid, double MaxValidDeviation,
    double MaxSmoothedTrainDeviation, double FinalValidRatio);

/// <summary>
/// Several training runs of the same model on the same data (fp32 against bf16, seed against seed) in one loss
/// plot, and each run's losses as ratios to the first run's: validation losses at every evaluation and the smoothed
/// training loss at every step (the raw per-step loss differs batch to batch only by the same batches' noise, but
/// smoothing keeps a single spike from reading as a divergence).
/// </summary>
public static class LossCurveComparison
{
    static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

    /// <summary>Reads DIR/metrics.jsonl; a missing or damaged file is the user's mistake, named.</summary>
    public static LossCurves Read(string label, string dir)
    {
        string path = Path.Combine(dir, Trainer.MetricsFile);
        if (!File.Exists(path)) throw new UserError($"{dir}: no {Trainer.MetricsFile} (not a `model train` run directory)");
        var train = new List<(long, double)>();
        var valid = new List<(long, double)>();
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            JsonObject o;
            try { o = JsonNode.Parse(line) as JsonObject ?? throw new DataFormatError(path, $"line {number}", "not a JSON object"); }
            catch (System.Text.Json.JsonException e) { throw new DataFormatError(path, $"line {number}", e.Message); }
            long step = o["step"]?.GetValue<long>() ?? throw new DataFormatError(path, $"line {number}", "no \"step\"");
            if (o["loss"] is JsonValue l && l.TryGetValue(out double loss)) train.Add((step, loss));
            if (o["val_loss"] is JsonValue v && v.TryGetValue(out double val)) valid.Add((step, val));
        }
        if (train.Count == 0) throw new DataFormatError(path, "loss", "no training losses");
        return new LossCurves(label, dir, train, valid);
    }

    /// <summary>Each run after the first against the first.</summary>
    public static List<LossCurveRatio> Ratios(IReadOnlyList<LossCurves> runs)
    {
        var reference = runs[0];
        var refValid = reference.Valid.ToDictionary(p => p.Step, p => p.Loss);
        var refTrain = LossPlot.Smooth(reference.Train, 0.9).ToDictionary(p => p.Step, p => p.Loss);
        var result = new List<LossCurveRatio>();
        foreach (var run in runs.Skip(1))
        {
            var valid = run.Valid.Where(p => refValid.ContainsKey(p.Step)).Select(p => (p.Step, p.Loss / refValid[p.Step])).ToList();
            var train = LossPlot.Smooth(run.Train, 0.9).Where(p => refTrain.ContainsKey(p.Step)).Select(p => p.Loss / refTrain[p.Step]).ToList();
            if (valid.Count == 0 && train.Count == 0)
                throw new UserError($"{run.Dir} and {reference.Dir} share no steps: compare runs of the same schedule");
            result.Add(new LossCurveRatio(run.Label, reference.Label, valid,
                valid.Count > 0 ? valid.Max(p => Math.Abs(p.Item2 - 1)) : double.NaN,
                train.Count > 0 ? train.Max(r => Math.Abs(r - 1)) : double.NaN,
                valid.Count > 0 ? valid[^1].Item2 : double.NaN));
        }
        return result;
    }

    /// <summary>One SVG with every run's smoothed training loss and validation loss.</summary>
    public static string Plot(IReadOnlyList<LossCurves> runs, string title)
    {
        var series = new List<LineSeries>();
        for (int i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            series.Add(new LineSeries($"{r.Label} train (smoothed)", Colours[2 * i % Colours.Length],
                LossPlot.Smooth(r.Train, 0.9).Select(p => ((double)p.Step, p.Loss)).ToList()));
            if (r.Valid.Count > 0)
                series.Add(new LineSeries($"{r.Label} validation", Colours[(2 * i + 1) % Colours.Length],
                    r.Valid.Select(p => ((double)p.Step, p.Loss)).ToList()));
        }
        return new LineChart(title, "step", "loss (nats/token)", series).ToFile();
    }
}
