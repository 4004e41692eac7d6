using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mechanist.Bench;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench precision`: training speed with bf16 matmul inputs against fp32, interleaved.</summary>
static class BenchPrecisionCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Language model to time (random weights and tokens); 'none' to skip.", DefaultValueFactory = _ => "toy-1l" };
        var vocab = new Option<int>("--vocab") { Description = "Its vocabulary size.", DefaultValueFactory = _ => 8192 };
        var batch = new Option<int>("--batch") { Description = "Windows per step.", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per sample (after 2 untimed).", DefaultValueFactory = _ => 5 };
        var sae = new Option<string>("--sae") { Description = "SAE kinds to time (512 → 4,096, batch 4,096; as bench sae), comma-separated; 'none' to skip.", DefaultValueFactory = _ => "topk,relu" };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per SAE sample.", DefaultValueFactory = _ => 3 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each times fp32 then bf16 (the ratio is the median of per-round ratios).", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print [{workload, fp32_tokens_per_second, bf16_tokens_per_second, ratio, rounds}]." };
        var cmd = new Command("precision",
            "Whole training steps with --precision bf16 (bf16 matmul inputs, fp32 masters) against fp32, in the same rounds: " +
            "language-model training (as bench model) and SAE training (as bench sae). Needs avx512_bf16 and libdnnl2.")
            { preset, vocab, batch, steps, sae, seconds, rounds, json };
        return cmd.WithAction((parse, cancel) =>
        {
            int r = parse.GetValue(rounds);
            if (r < 1) throw new UserError($"--rounds must be at least 1 (got {r})");
            bool asJson = parse.GetValue(json);
            Action<string> log = m => Console.Error.WriteLine(m);
            var results = new List<PrecisionBenchResult>();
            if (parse.GetValue(preset) is string p && p != "none")
                results.Add(PrecisionBench.Model(p, parse.GetValue(vocab), parse.GetValue(batch), parse.GetValue(steps), r, log, cancel));
            foreach (string kind in parse.GetValue(sae)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(k => k != "none"))
                results.Add(PrecisionBench.Sae(kind, parse.GetValue(seconds), r, log, cancel));
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(results.Select(x => new Dictionary<string, object>
                {
                    ["workload"] = x.Workload, ["fp32_tokens_per_second"] = Math.Round(x.Fp32TokensPerSecond, 1),
                    ["bf16_tokens_per_second"] = Math.Round(x.Bf16TokensPerSecond, 1), ["ratio"] = Math.Round(x.Ratio, 4), ["rounds"] = x.Rounds,
                }), new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            foreach (var x in results)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{x.Workload}: fp32 {x.Fp32TokensPerSecond:N0} tokens/s, bf16 {x.Bf16TokensPerSecond:N0} tokens/s, ratio {x.Ratio:F2} (median of {x.Rounds} rounds)"));
            return 0;
        });
    }
}
