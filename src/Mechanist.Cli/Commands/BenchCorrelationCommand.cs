using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Bench;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench correlation`: A/B feature correlation, sparse co-active sums against the dense GEMM formulation.</summary>
static class BenchCorrelationCommand
{
    public static Command Create()
    {
        var latents = new Option<int>("--latents") { Description = "Latents of each dictionary (A and B alike).", DefaultValueFactory = _ => 4096 };
        var tokens = new Option<int>("--tokens") { Description = "Tokens summed per round (one batch).", DefaultValueFactory = _ => 8192 };
        var l0 = new Option<double>("--l0") { Description = "Mean active latents per token.", DefaultValueFactory = _ => 32 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds, each timing both paths; medians are reported.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print {latents, tokens, l0, sparse_tokens_per_second, dense_tokens_per_second, ratio, dense_gflops, sparse_max_error, dense_max_error}." };
        var cmd = new Command("correlation",
            "Feature-universality correlations two ways over the same heavy-tailed codes: the dense GEMM formulation (m_A × m_B products per token, " +
            "our float32 GEMM into float64 sums) and the sparse one (L0_A × L0_B products per token, float64). Reports tokens/s of each, the " +
            "median of per-round ratios, and each path's largest error against the two-pass float64 definition on every row's best pair and 20,000 random pairs.")
            { latents, tokens, l0, rounds, json };
        return cmd.WithAction((parse, cancel) =>
        {
            int m = parse.GetValue(latents), t = parse.GetValue(tokens), r = parse.GetValue(rounds);
            double k = parse.GetValue(l0);
            if (m < 2 || t < 2 || r < 1 || !(k > 0) || k > m) throw new UserError("--latents and --tokens must be ≥ 2, --rounds ≥ 1, 0 < --l0 ≤ --latents");
            bool asJson = parse.GetValue(json);
            var x = CorrelationBench.Run(m, t, k, r, log: asJson ? null : Console.Error.WriteLine);
            if (asJson)
            {
                Console.WriteLine(new JsonObject
                {
                    ["latents"] = x.Latents, ["tokens"] = x.Tokens, ["l0"] = Math.Round(x.L0, 2), ["rounds"] = x.Rounds,
                    ["sparse_tokens_per_second"] = Math.Round(x.SparseTokensPerSecond), ["dense_tokens_per_second"] = Math.Round(x.DenseTokensPerSecond, 1),
                    ["ratio"] = Math.Round(x.Ratio, 2), ["dense_gflops"] = Math.Round(x.DenseGflops, 1),
                    ["sparse_max_error"] = x.SparseError, ["dense_max_error"] = x.DenseError,
                }.ToJsonString());
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{x.Latents:N0} × {x.Latents:N0} latents, {x.Tokens:N0} tokens, L0 {x.L0:F1}: sparse {x.SparseTokensPerSecond:N0} tok/s, " +
                $"dense {x.DenseTokensPerSecond:N0} tok/s ({x.DenseGflops:F0} GFLOP/s) → sparse {x.Ratio:F1}× faster (median of {x.Rounds} rounds); " +
                $"largest error against the float64 two-pass definition: sparse {x.SparseError:E1}, dense (float32 GEMM) {x.DenseError:E1}"));
            return 0;
        });
    }
}
