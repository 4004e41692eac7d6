using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mechanist.Bench;
using Mechanist.Numerics;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench sparse`: weight-sparse layer products on compressed rows against our dense GEMM, swept over density.</summary>
static class BenchSparseCommand
{
    public static Command Create()
    {
        var shapes = new Option<string[]>("--shape")
        {
            Description = "Layer shapes OUTxIN (W is [out, in]; repeatable). Default: the sparse-2l preset's 384x128, 128x128, 512x128, 128x512 and the paper's E = 4 MLP 4096x1024, 1024x4096.",
            AllowMultipleArgumentsPerToken = true,
        };
        var densities = new Option<string>("--densities")
        { Description = "Fractions of kept weights, comma-separated (fractions like 1/16 allowed).", DefaultValueFactory = _ => "1/2,1/4,1/8,1/16,1/32,1/64,1/128" };
        var tokens = new Option<int>("--tokens") { Description = "Rows of x (batch × context).", DefaultValueFactory = _ => 2048 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each times all six products back to back (ratios are medians of per-round ratios).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Threads for both sides (default: all cores).", DefaultValueFactory = _ => Parallelism.Threads };
        var json = new Option<bool>("--json") { Description = "Print the whole report as JSON." };
        var cmd = new Command("sparse",
            "The three products of a weight-sparse linear layer y = x·Wᵀ — forward, dx = dy·W and dW — on compressed rows " +
            "(dW sampled at the kept weights) against our dense GEMM at the same shape, interleaved in the same rounds, over a " +
            "sweep of densities. Reports dense/sparse time ratios (above 1: sparse is faster), whole layer steps with the dense dW " +
            "(\"exact\": pruned weights can regrow, as in the paper) and with the sampled one (\"kept-only\"), the crossover density " +
            "of each, the dense GEMM's fraction of the FMA ceiling and the load average before and after.")
            { shapes, densities, tokens, rounds, threads, json };
        return cmd.WithAction((parse, cancel) =>
        {
            int n = parse.GetValue(tokens), r = parse.GetValue(rounds), t = parse.GetValue(threads);
            if (n < 1 || r < 1 || t < 1) throw new UserError("--tokens, --rounds and --threads must be at least 1");
            var layerShapes = ParseShapes(parse.GetValue(shapes));
            var sweep = ParseDensities(parse.GetValue(densities)!);
            bool asJson = parse.GetValue(json);
            if (!asJson)
                Console.WriteLine($"{"shape out×in",-13} {"density",8} {"fwd ms",8} {"sparse",8} {"×",6} {"dx ×",6} {"dW ×",6} {"exact ×",8} {"kept ×",7} {"dense/ceil",10}");
            var report = SparseBench.Run(layerShapes, sweep, n, r, t, report: asJson ? null : (shape, row) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{shape.Shape,-13} {"1/" + (1 / row.Density).ToString("0.#", CultureInfo.InvariantCulture),8} {row.DenseForwardMs,8:F3} {row.SparseForwardMs,8:F3} {row.ForwardRatio,6:F2} {row.DxRatio,6:F2} {row.DwRatio,6:F2} {row.StepRatioExact,8:F2} {row.StepRatioKeptOnly,7:F2} {row.DenseFractionOfCeiling,10:P0}")),
                cancel: cancel);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions
                    { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n:N0} tokens, {report.Threads} threads, FMA ceiling {report.CeilingGflops:F0} GFLOP/s, load average {report.LoadBefore} → {report.LoadAfter}"));
            Console.WriteLine("crossover density (sparse wins at or below): forward, dx, layer step exact (dense dW), layer step kept-only");
            foreach (var s in report.Shapes)
                Console.WriteLine($"{s.Shape,-13} {Show(s.ForwardCrossover),8} {Show(s.DxCrossover),8} {Show(s.StepExactCrossover),8} {Show(s.StepKeptOnlyCrossover),8}");
            return 0;
        });
    }

    static string Show(double? density) => density is double d ? "1/" + (1 / d).ToString("0.0", CultureInfo.InvariantCulture) : "never";

    static (int, int)[]? ParseShapes(string[]? texts)
    {
        if (texts is null || texts.Length == 0) return null;
        return texts.Select(text =>
        {
            var parts = text.Split('x', 'X', '×');
            if (parts.Length != 2 || !parts.All(p => int.TryParse(p, out int v) && v > 0))
                throw new UserError($"--shape {text}: expected OUTxIN with two positive integers, e.g. 1024x256");
            return (int.Parse(parts[0]), int.Parse(parts[1]));
        }).ToArray();
    }

    static double[] ParseDensities(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(part =>
    {
        var fraction = part.Split('/');
        bool ok = fraction.Length switch
        {
            1 => double.TryParse(part, CultureInfo.InvariantCulture, out _),
            2 => double.TryParse(fraction[0], CultureInfo.InvariantCulture, out _) && double.TryParse(fraction[1], CultureInfo.InvariantCulture, out double b) && b != 0,
            _ => false,
        };
        double d = !ok ? double.NaN : fraction.Length == 1 ? double.Parse(part, CultureInfo.InvariantCulture)
            : double.Parse(fraction[0], CultureInfo.InvariantCulture) / double.Parse(fraction[1], CultureInfo.InvariantCulture);
        if (!(d > 0 && d <= 1)) throw new UserError($"--densities: '{part}' is not a fraction in (0, 1]");
        return d;
    }).ToArray() is { Length: > 0 } all ? all : throw new UserError("--densities: give at least one fraction");
}
