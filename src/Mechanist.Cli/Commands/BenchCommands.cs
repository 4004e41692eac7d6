using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mechanist.Bench;
using Mechanist.Numerics;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench ...`: throughput of the engine's parts as fractions of this machine's limits.</summary>
static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput against this machine's limits (see bench/README.md).");
        bench.Subcommands.Add(Gemm());
        bench.Subcommands.Add(BenchTokenizerCommand.Create());
        bench.Subcommands.Add(BenchCorpusCommand.Create());
        bench.Subcommands.Add(ModelCommands.Bench());
        bench.Subcommands.Add(SaeCommands.Bench());
        bench.Subcommands.Add(BenchGenerateCommand.Create());
        bench.Subcommands.Add(BenchCurvesCommand.Create());
        bench.Subcommands.Add(BenchPrecisionCommand.Create());
        bench.Subcommands.Add(BenchCorrelationCommand.Create());
        bench.Subcommands.Add(BenchSparseCommand.Create());
        return bench;
    }

    static Command Gemm()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array of results instead of a table." };
        var threads = new Option<int>("--threads")
        { Description = "Threads for GEMM and for the FMA ceiling (default: all cores).", DefaultValueFactory = _ => Parallelism.Threads };
        var repeats = new Option<int>("--repeats")
        { Description = "Timed samples per shape (≈50 ms each, median reported), each after a ceiling sample.", DefaultValueFactory = _ => 5 };
        var shapes = new Option<string[]>("--shape")
        { Description = "Only these shapes, as MxKxN (repeatable; default: 1024³, 2048³, 4096x512x4096, 4096x4096x512).", AllowMultipleArgumentsPerToken = true };
        var cpu = new Option<bool>("--cpu-time")
        { Description = "Time by process CPU seconds per thread instead of wall time: steadier on a busy machine, but it flatters idle threads." };
        var peer = new Option<string?>("--peer")
        {
            Description = "numpy/OpenBLAS peer script, sampled inside the same rounds (default bench/peers/numpy_gemm.py when " +
                          "/usr/bin/python3 has numpy: apt-get install python3-numpy libopenblas0-pthread; 'none' to skip).",
        };
        var precision = new Option<string>("--precision")
        {
            Description = "fp32 (default): our fp32 GEMM against the ceiling and OpenBLAS. bf16: the bf16 GEMM (oneDNN, " +
                          "bf16 inputs, fp32 accumulation) against our fp32 GEMM in the same rounds, with and without " +
                          "rounding the fp32 inputs to bf16 (needs avx512_bf16 and libdnnl2; no peer).",
            DefaultValueFactory = _ => "fp32",
        };
        var cmd = new Command("gemm",
            "fp32 GEMM GFLOP/s on squares and the SAE shapes in the forms A·B, A·Bᵀ, Aᵀ·B, against the FMA ceiling " +
            "(independent Vector512 FMAs on every thread) and numpy/OpenBLAS, sampled in the same rounds; fractions " +
            "and ratios are medians of the per-round ratios. Shapes are M×K×N.") { json, threads, repeats, shapes, cpu, peer, precision };
        return cmd.WithAction((parse, cancel) =>
        {
            int t = parse.GetValue(threads), r = parse.GetValue(repeats);
            if (t < 1) throw new UserError($"--threads must be at least 1 (got {t})");
            if (r < 1) throw new UserError($"--repeats must be at least 1 (got {r})");
            bool asJson = parse.GetValue(json);
            var only = ParseShapes(parse.GetValue(shapes));
            if (GemmPrecisionScope.Parse(parse.GetValue(precision)!) == GemmPrecision.BFloat16)
                return BFloat16(t, r, asJson, only, parse.GetValue(cpu), cancel);
            string? script = parse.GetValue(peer);
            if (script == "none") script = null;
            else if (script != null && !File.Exists(script)) throw new UserError($"--peer {script}: no such script (give 'none' to skip the peer)");
            else if (script == null)
            {
                string guess = Path.Combine(SaeCommands.FindRepoRoot() ?? ".", "bench", "peers", "numpy_gemm.py");
                script = File.Exists(guess) ? guess : null;
            }
            using var openBlas = script != null ? NumpyGemmPeer.Start(script, t, m => Console.Error.WriteLine(m)) : null;
            if (!asJson) Console.WriteLine($"{"shape M×K×N",-16} {"op",-6} {"threads",7} {"GFLOP/s",9} {"ceiling",9} {"fraction",9} {"OpenBLAS",9} {"ratio",7}");
            var results = GemmBench.Run(t, r, asJson ? null : row => Console.WriteLine(
                string.Create(CultureInfo.InvariantCulture,
                    $"{row.Shape,-16} {row.Op,-6} {row.Threads,7} {row.Gflops,9:F1} {row.CeilingGflops,9:F1} {row.Fraction,9:P1} {row.PeerGflops,9:F1} {row.RatioToPeer,7:F2}")),
                only, parse.GetValue(cpu), cancel, openBlas);
            if (asJson) Console.WriteLine(ToJson(results));
            return 0;
        });
    }

    static int BFloat16(int threads, int repeats, bool asJson, (int M, int K, int N)[]? shapes, bool cpuTime, CancellationToken cancel)
    {
        if (BFloat16Gemm.UnavailableReason is { } why) throw new UserError($"bf16 unavailable: {why}");
        if (!asJson)
        {
            Console.WriteLine($"bf16 kernel: oneDNN {BFloat16Gemm.Implementation}");
            Console.WriteLine($"{"shape M×K×N",-16} {"op",-6} {"threads",7} {"fp32",9} {"bf16",9} {"+round",9} {"ratio",7} {"+round",7}");
        }
        var results = BFloat16GemmBench.Run(threads, repeats, asJson ? null : row => Console.WriteLine(
            string.Create(CultureInfo.InvariantCulture,
                $"{row.Shape,-16} {row.Op,-6} {row.Threads,7} {row.Fp32Gflops,9:F1} {row.Bf16Gflops,9:F1} {row.Bf16RoundingGflops,9:F1} {row.Ratio,7:F2} {row.RatioWithRounding,7:F2}")),
            shapes, cpuTime, cancel);
        if (asJson)
            Console.WriteLine(JsonSerializer.Serialize(results.Select(r => new Dictionary<string, object?>
            {
                ["shape"] = r.Shape, ["op"] = r.Op, ["threads"] = r.Threads, ["fp32_gflops"] = Math.Round(r.Fp32Gflops, 2),
                ["bf16_gflops"] = Math.Round(r.Bf16Gflops, 2), ["bf16_with_rounding_gflops"] = Math.Round(r.Bf16RoundingGflops, 2),
                ["ratio"] = Math.Round(r.Ratio, 4), ["ratio_with_rounding"] = Math.Round(r.RatioWithRounding, 4),
            }), new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return 0;
    }

    static (int M, int K, int N)[]? ParseShapes(string[]? texts)
    {
        if (texts is null || texts.Length == 0) return null;
        return texts.Select(text =>
        {
            var parts = text.Split('x', 'X', '×');
            if (parts.Length != 3 || !parts.All(p => int.TryParse(p, out int v) && v > 0))
                throw new UserError($"--shape {text}: expected MxKxN with three positive integers, e.g. 4096x512x4096");
            return (int.Parse(parts[0]), int.Parse(parts[1]), int.Parse(parts[2]));
        }).ToArray();
    }

    static string ToJson(List<GemmResult> results) => JsonSerializer.Serialize(results.Select(r => new Dictionary<string, object?>
    {
        ["shape"] = r.Shape, ["op"] = r.Op, ["threads"] = r.Threads, ["gflops"] = Math.Round(r.Gflops, 2),
        ["ceiling_gflops"] = Math.Round(r.CeilingGflops, 2), ["fraction"] = Math.Round(r.Fraction, 4),
        ["peer_gflops"] = r.PeerGflops is double p ? Math.Round(p, 2) : null, ["ratio_to_peer"] = r.RatioToPeer is double q ? Math.Round(q, 4) : null,
    }), new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
