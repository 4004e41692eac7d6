using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Bench;
using Mechanist.IO;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench curves`: training runs' loss curves in one plot, with each run's losses as ratios to the first's.</summary>
static class BenchCurvesCommand
{
    public static Command Create()
    {
        var runs = new Option<string[]>("--run")
        {
            Description = "LABEL=DIR of a `model train` run (its metrics.jsonl); two or more, the first is the reference " +
                          "(e.g. --run fp32=runs/fp32 --run bf16=runs/bf16).",
            Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "SVG file to write (all runs' smoothed training loss and validation loss).", Required = true };
        var title = new Option<string>("--title") { Description = "Plot title.", DefaultValueFactory = _ => "loss curves" };
        var json = new Option<bool>("--json") { Description = "Print the ratios as JSON: [{label, reference, max_valid_deviation, max_smoothed_train_deviation, final_valid_ratio, valid: [[step, ratio]]}]." };
        var cmd = new Command("curves",
            "Compare training runs of one model on the same data and schedule (fp32 against bf16, seed against seed): one SVG with " +
            "every run's curves, and each run's validation and smoothed training losses as ratios to the first run's at the same steps.")
            { runs, output, title, json };
        return cmd.WithAction((parse, cancel) =>
        {
            var given = parse.GetValue(runs)!;
            if (given.Length < 2) throw new UserError("--run: give at least two runs, LABEL=DIR each");
            var curves = given.Select(text =>
            {
                int eq = text.IndexOf('=');
                if (eq <= 0 || eq == text.Length - 1) throw new UserError($"--run {text}: expected LABEL=DIR, e.g. bf16=runs/bf16");
                return LossCurveComparison.Read(text[..eq], text[(eq + 1)..]);
            }).ToList();
            var ratios = LossCurveComparison.Ratios(curves);
            string path = parse.GetValue(output)!;
            AtomicFile.WriteAllText(path, LossCurveComparison.Plot(curves, parse.GetValue(title)!));
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonArray([.. ratios.Select(r => (JsonNode)new JsonObject
                {
                    ["label"] = r.Label, ["reference"] = r.Reference, ["max_valid_deviation"] = Round(r.MaxValidDeviation),
                    ["max_smoothed_train_deviation"] = Round(r.MaxSmoothedTrainDeviation), ["final_valid_ratio"] = Round(r.FinalValidRatio),
                    ["valid"] = new JsonArray([.. r.Valid.Select(p => (JsonNode)new JsonArray(p.Step, Round(p.Ratio)))]),
                })]).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var r in ratios)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Label} / {r.Reference}: final validation {r.FinalValidRatio:F4}, largest validation deviation {r.MaxValidDeviation:P2}, " +
                    $"largest smoothed-training deviation {r.MaxSmoothedTrainDeviation:P2}"));
                Console.WriteLine("  validation ratios: " + string.Join(", ", r.Valid.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Step}:{p.Ratio:F4}"))));
            }
            Console.WriteLine($"plot → {path}");
            return 0;
        });
    }

    static JsonNode? Round(double x) => double.IsFinite(x) ? JsonValue.Create(Math.Round(x, 6)) : null;
}
