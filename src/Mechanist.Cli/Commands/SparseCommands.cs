using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist sparse ...`: weight-sparse transformers (docs/METHODS.md §6): their Python data, training, and what their weights hold.</summary>
static class SparseCommands
{
    public static Command Create()
    {
        var sparse = new Command("sparse", "Weight-sparse transformers (Gao et al. 2025): make the Python data, train a sparse (or dense baseline) model, inspect its sparsity.");
        sparse.Subcommands.Add(Data());
        sparse.Subcommands.Add(Train());
        sparse.Subcommands.Add(Info());
        return sparse;
    }

    static Option<string[]> Corpus() => new("--corpus")
    {
        Description = "Code to learn from: folders (their .py, text and JSON Lines files), files, or JSON Lines with a \"text\" field. " +
                      "Default: the Python standard library found on this machine (e.g. /usr/lib/python3.11).",
        AllowMultipleArgumentsPerToken = true,
    };

    static CodeDataStageResult MakeData(string outDir, string[]? corpus, int vocab, bool force, CancellationToken cancel)
    {
        var r = CodeDataStage.Run(new CodeDataStageOptions { Inputs = corpus, OutDir = outDir, VocabSize = vocab, Force = force }, ConsoleProgress.Instance, cancel);
        Console.WriteLine($"{(r.Reused ? "reusing" : "made")} {r.TokensDir}: {r.TrainTokens:N0} train and {r.ValidTokens:N0} valid tokens of {string.Join(", ", r.Inputs)} " +
                          $"(tokenizer {vocab:N0} tokens in {r.TokenizerDir})");
        return r;
    }

    static Command Data()
    {
        var corpus = Corpus();
        var output = new Option<string>("--out") { Description = "Folder for tokenizer/ (BPE) and tokens/ (token store); reused when it already holds data from the same inputs.", Required = true };
        var vocab = new Option<int>("--vocab") { Description = "BPE vocabulary (the paper's: 2,048, <|endoftext|> = 2047).", DefaultValueFactory = _ => 2048 };
        var force = new Option<bool>("--force") { Description = "Remake the data even if --out holds it." };
        var cmd = new Command("data", "Learn a BPE tokenizer from code (the Python standard library by default) and encode the code into a token store.") { corpus, output, vocab, force };
        return cmd.WithAction((parse, cancel) =>
        {
            MakeData(parse.GetValue(output)!, parse.GetValue(corpus), parse.GetValue(vocab), parse.GetValue(force), cancel);
            return 0;
        });
    }

    static Command Train()
    {
        var density = new Option<double>("--weight-density")
        {
            Description = "Final fraction of nonzero weights in the hidden matrices (c_attn, c_proj, c_fc), e.g. 0.0625; 1 trains the dense baseline " +
                          "with the same recipe. Embeddings, unembedding and biases end at min(1, 4F) (--embedding-density).",
            Required = true,
        };
        var embeddingDensity = new Option<double?>("--embedding-density") { Description = "Final fraction of nonzero entries of wte, lm_head and the biases (default min(1, 4 × --weight-density))." };
        var output = new Option<string>("--out") { Description = "Run directory (config.json, model.safetensors, checkpoint/, metrics.jsonl with the density per step, loss.svg, manifest.json).", Required = true };
        var data = new Option<string?>("--data")
        {
            Description = "A folder from `mechanist sparse data` (or any token store). Default: python-data/ beside --out, made once from --corpus " +
                          "(the Python standard library by default) and shared by the runs beside it, so a dense and a sparse model read the same tokens.",
        };
        var corpus = Corpus();
        var preset = new Option<string>("--preset") { Description = $"Model shape: {string.Join(", ", TransformerConfig.PresetNames)}. sparse-2l: 2 layers, d 128, 8 heads of 16, MLP 512, context 128, the paper's architecture.", DefaultValueFactory = _ => "sparse-2l" };
        var sites = new Option<string?>("--activation-sites")
        {
            Description = "Where AbsTopK keeps the top 25 % of each position's values, comma-separated (default: the preset's eight sites, " +
                          $"attn_in,attn_q,attn_k,attn_v,attn_out,mlp_in,mlp_neuron,mlp_out). Known: {string.Join(", ", SparsitySiteNames.Names.Select(n => n.Name))}; " +
                          "resid_post_attn and resid_post_mlp sparsify the residual stream after each sublayer's output is added (METHODS.md §6.1).",
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed for initial weights and data order.", DefaultValueFactory = _ => 0 };
        var tokens = new Option<long>("--tokens") { Description = "Training tokens in total.", DefaultValueFactory = _ => 2_000_000 };
        var batch = new Option<int>("--batch") { Description = "Windows per step.", DefaultValueFactory = _ => 16 };
        var context = new Option<int?>("--context") { Description = "Tokens per window (default: the preset's context)." };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (Adam, β 0.9/0.95, ε 0.1; 1 % warm-up, linear decay to 0, × √(F / current density) during the anneal).", DefaultValueFactory = _ => SparseSchedule.LearningRate };
        var wd = new Option<float>("--weight-decay") { Description = "Decoupled weight decay, on every tensor but the bigram table.", DefaultValueFactory = _ => SparseSchedule.WeightDecay };
        var evalEvery = new Option<int>("--eval-every") { Description = "Steps between validation losses.", DefaultValueFactory = _ => 100 };
        var ckptEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (also at the end and on Ctrl-C).", DefaultValueFactory = _ => 250 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint, with its saved settings (other options are ignored)." };
        var force = new Option<bool>("--force") { Description = "Delete a run already in --out and start over." };
        var denseKernels = new Option<bool>("--dense-kernels") { Description = "Keep dense GEMMs for hidden matrices at density ≤ 1/16 too (by default they run on the sparse kernels; same results up to rounding)." };
        var cmd = new Command("train",
            "Train a weight-sparse transformer (METHODS.md §6.2): after every Adam step each tensor keeps its largest weights (4 per neuron first), " +
            "annealed linearly from dense to --weight-density between 1 % and 50 % of training; gradients divided by their RMS every step. Resumable.")
            { density, embeddingDensity, output, data, corpus, preset, sites, seed, tokens, batch, context, lr, wd, evalEvery, ckptEvery, denseKernels, resume, force };
        return cmd.WithAction((parse, cancel) =>
        {
            string outDir = parse.GetValue(output)!;
            string? tokenizer = null;
            string tokensDir;
            if (parse.GetValue(data) is string given)
            {
                bool dataFolder = Directory.Exists(Path.Combine(given, CodeDataStage.TokensFolder));
                tokensDir = dataFolder ? Path.Combine(given, CodeDataStage.TokensFolder) : given;
                if (dataFolder) tokenizer = Path.Combine(given, CodeDataStage.TokenizerFolder);
                if (parse.GetValue(corpus) is { Length: > 0 }) throw new UserError("give --data or --corpus, not both");
            }
            else
            {
                string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outDir)) ?? ".", "python-data");
                var made = MakeData(beside, parse.GetValue(corpus), 2048, false, cancel);
                (tokensDir, tokenizer) = (made.TokensDir, made.TokenizerDir);
            }
            var stage = new ModelTrainStageOptions
            {
                Data = tokensDir,
                OutDir = outDir,
                Tokenizer = tokenizer,
                Train = new TrainOptions
                {
                    Preset = parse.GetValue(preset)!, ActivationSites = parse.GetValue(sites), Seed = parse.GetValue(seed), Tokens = parse.GetValue(tokens), Batch = parse.GetValue(batch),
                    Context = parse.GetValue(context), LearningRate = parse.GetValue(lr), WeightDecay = parse.GetValue(wd),
                    Beta1 = SparseSchedule.Beta1, Beta2 = SparseSchedule.Beta2, EvalEvery = parse.GetValue(evalEvery), CheckpointEvery = parse.GetValue(ckptEvery),
                    WeightDensity = parse.GetValue(density), EmbeddingDensity = parse.GetValue(embeddingDensity), SparseKernels = !parse.GetValue(denseKernels),
                },
                Resume = parse.GetValue(resume),
                Force = parse.GetValue(force),
            };
            var result = ModelTrainStage.Run(stage, ConsoleProgress.Instance, cancel);
            var report = SparsityReport.Of(ModelFiles.Load(outDir));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"trained {result.Train.Steps} steps: loss {result.Train.LastLoss:0.0000}{(result.Train.ValidationLoss is double v ? $", validation {v:0.0000}" : "")}, " +
                $"hidden weights {report.HiddenDensity:P2} nonzero, embeddings/biases {report.OtherDensity:P2}" +
                $"{(result.Train.TokensPerSecond > 0 ? $", {result.Train.TokensPerSecond:N0} tokens/s" : "")} → {outDir}"));
            return 0;
        });
    }

    static Command Info()
    {
        var model = new Option<string>("--model") { Description = "A weight-sparse model folder (from `mechanist sparse train`).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON: hidden_density, other_density and one entry per tensor." };
        var cmd = new Command("info", "What a weight-sparse model's saved weights hold, read from model.safetensors: nonzero weights per tensor and the emptiest neuron of each.") { model, json };
        return cmd.WithAction((parse, cancel) =>
        {
            var (_, report) = SparsityReport.RequireSparse(parse.GetValue(model)!);
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonObject
                {
                    ["hidden_density"] = report.HiddenDensity,
                    ["other_density"] = report.OtherDensity,
                    ["tensors"] = new JsonArray(report.Tensors.Select(t => (JsonNode)new JsonObject
                    {
                        ["name"] = t.Name, ["hidden"] = t.Hidden, ["nonzero"] = t.NonZero, ["total"] = t.Total, ["density"] = t.Density,
                        ["fewest_per_neuron"] = t.FewestPerNeuron,
                    }).ToArray()),
                }.ToJsonString());
                return 0;
            }
            foreach (var t in report.Tensors)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{t.Name,-36} {t.NonZero,9:N0} / {t.Total,9:N0} = {t.Density,7:P2}{(t.FewestPerNeuron is int f ? $"   fewest per neuron {f}" : "")}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hidden matrices {report.HiddenDensity:P2} nonzero; embeddings, unembedding and biases {report.OtherDensity:P2}"));
            return 0;
        });
    }
}
