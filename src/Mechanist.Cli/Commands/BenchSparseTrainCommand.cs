using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mechanist.Bench;
using Mechanist.Models;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench sparse-train`: whole weight-sparse training steps on the sparse kernels against dense training, interleaved.</summary>
static class BenchSparseTrainCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape (random weights and tokens).", DefaultValueFactory = _ => "sparse-2l" };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size (the Python BPE's 2,048 by default).", DefaultValueFactory = _ => 2048 };
        var density = new Option<double>("--weight-density") { Description = "Final kept fraction of the hidden matrices (embeddings and biases 4× denser, as sparse train).", DefaultValueFactory = _ => 1.0 / 64 };
        var batch = new Option<int>("--batch") { Description = "Windows per step (sparse train's default).", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per variant per round.", DefaultValueFactory = _ => 3 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each times the three variants back to back (ratios are medians of per-round ratios).", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var cmd = new Command("sparse-train",
            "End-to-end training steps of a weight-sparse model after the anneal (every matrix at its final density), three ways in the same " +
            "rounds: the same architecture and recipe at density 1 (sparse train --weight-density 1, the dense baseline), sparse training on dense GEMMs (sparse train --dense-kernels) and " +
            "sparse training on the sparse kernels (the default). Reports tokens/s of each, the ratios to the dense baseline and the load.")
            { preset, vocab, density, batch, steps, rounds, json };
        return cmd.WithAction((parse, cancel) =>
        {
            string p = parse.GetValue(preset)!;
            if (!TransformerConfig.PresetNames.Contains(p)) throw new UserError($"--preset {p}: not one of {string.Join(", ", TransformerConfig.PresetNames)}");
            int v = parse.GetValue(vocab), b = parse.GetValue(batch), s = parse.GetValue(steps), r = parse.GetValue(rounds);
            if (v < 2) throw new UserError("--vocab must be at least 2");
            if (b < 1 || s < 1 || r < 1) throw new UserError("--batch, --steps and --rounds must be at least 1");
            double f = parse.GetValue(density);
            if (!(f > 0 && f <= 1)) throw new UserError($"--weight-density {f}: not a fraction in (0, 1]");
            bool asJson = parse.GetValue(json);
            var x = SparseTrainingBench.Run(p, v, f, b, s, r, log: asJson ? null : m => Console.Error.WriteLine(m), cancel: cancel);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(x, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{x.Preset}, hidden density {x.Density:G3}, batch {x.Batch} × context {x.Context}, {x.Rounds} rounds, load average {x.LoadBefore} → {x.LoadAfter}:\n" +
                $"  dense training          {x.DenseTokensPerSecond,10:N0} tokens/s\n" +
                $"  sparse, dense GEMMs     {x.SparseGemmTokensPerSecond,10:N0} tokens/s  ({x.GemmRatio:F2}× dense)\n" +
                $"  sparse, sparse kernels  {x.SparseKernelTokensPerSecond,10:N0} tokens/s  ({x.KernelRatio:F2}× dense, {x.KernelOverGemm:F2}× on dense GEMMs)"));
            return 0;
        });
    }
}
