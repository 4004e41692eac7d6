using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Bench;
using Mechanist.Models;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench generate`: single-stream tokens/s against the limit of reading the weights once per token.</summary>
static class BenchGenerateCommand
{
    public static Command Create()
    {
        var presets = new Option<string>("--presets") { Description = "Comma-separated model presets (random weights).", DefaultValueFactory = _ => "toy-1l,tiny-4l" };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size of the models.", DefaultValueFactory = _ => 8192 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (bandwidth, then each preset); the best of each is reported.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {preset, weight_mb, tokens_per_second, read_gb_per_second, limit_tokens_per_second, fraction}." };
        var cmd = new Command("generate",
            "Single-stream generation (batch 1, greedy, KV cache, a full context from a one-token prompt) in tokens/s, as a fraction of " +
            "memory read bandwidth ÷ weight bytes (each token reads every weight once), the bandwidth measured in the same run by a streaming sum.")
            { presets, vocab, rounds, json };
        return cmd.WithAction((parse, cancel) =>
        {
            int r = parse.GetValue(rounds);
            if (r < 1) throw new UserError($"--rounds must be at least 1 (got {r})");
            var models = parse.GetValue(presets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => (Name: p, Model: Transformer<float>.Create(TransformerConfig.Preset(p, parse.GetValue(vocab)), 1))).ToArray();
            double bandwidth = 0;
            var best = new double[models.Length];
            using (var task = ConsoleProgress.Instance.Start("bench generate", (long)r * (models.Length + 1), "runs"))
                for (int round = 0; round < r; round++)
                {
                    bandwidth = Math.Max(bandwidth, GenerateBench.ReadBandwidth());
                    task.Advance(1);
                    for (int i = 0; i < models.Length; i++)
                    {
                        cancel.ThrowIfCancellationRequested();
                        best[i] = Math.Max(best[i], GenerateBench.TokensPerSecond(models[i].Model, cancel));
                        task.Advance(1);
                    }
                }
            var results = models.Select((m, i) => new GenerateBenchResult(m.Name, GenerateBench.WeightBytes(m.Model.Config), best[i], bandwidth)).ToList();
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonArray(results.Select(x => (JsonNode)new JsonObject
                {
                    ["preset"] = x.Preset, ["weight_mb"] = Math.Round(x.WeightBytes / 1e6, 2), ["tokens_per_second"] = Math.Round(x.TokensPerSecond, 1),
                    ["read_gb_per_second"] = Math.Round(x.ReadBytesPerSecond / 1e9, 2), ["limit_tokens_per_second"] = Math.Round(x.LimitTokensPerSecond, 1),
                    ["fraction"] = Math.Round(x.Fraction, 4),
                }).ToArray()).ToJsonString());
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory read bandwidth {bandwidth / 1e9:F1} GB/s (streaming sum, all threads)"));
            Console.WriteLine($"{"preset",-10} {"weights MB",10} {"tok/s",9} {"limit tok/s",12} {"fraction",9}");
            foreach (var x in results)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{x.Preset,-10} {x.WeightBytes / 1e6,10:F1} {x.TokensPerSecond,9:F0} {x.LimitTokensPerSecond,12:F0} {x.Fraction,9:P1}"));
            return 0;
        });
    }
}
