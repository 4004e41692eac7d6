using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.Bench;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist model ...`: train, evaluate, sample from, import and export GPT-2-style language models.</summary>
static class ModelCommands
{
    public static Command Create()
    {
        var model = new Command("model", "Train, evaluate and sample GPT-2-style language models; import and export Hugging Face GPT-2 folders.");
        model.Subcommands.Add(Train());
        model.Subcommands.Add(Eval());
        model.Subcommands.Add(GenerateCommand.Create());
        model.Subcommands.Add(Logits());
        model.Subcommands.Add(ImportHf());
        model.Subcommands.Add(ExportHf());
        return model;
    }

    static Option<string> ModelDir() => new("--model") { Description = "Model folder (a training run directory or a GPT-2 folder: config.json + model.safetensors).", Required = true };

    static Command Train()
    {
        var data = new Option<string>("--data") { Description = "Token store folder (from `mechanist corpus prepare`); trains on its \"train\" split, validates on \"valid\".", Required = true };
        var preset = new Option<string>("--preset") { Description = $"Model shape: {string.Join(", ", TransformerConfig.PresetNames)}. toy-1l is the paper's one-layer model (d 128, MLP 512, ReLU).", DefaultValueFactory = _ => "toy-1l" };
        var seed = new Option<ulong>("--seed") { Description = "Seed for initial weights and data order.", DefaultValueFactory = _ => 0 };
        var tokens = new Option<long>("--tokens") { Description = "Training tokens in total.", DefaultValueFactory = _ => 20_000_000 };
        var output = new Option<string>("--out") { Description = "Run directory (config.json, model.safetensors, checkpoint/, metrics.jsonl, loss.svg, manifest.json); with --seeds, one seed-N/ folder per seed inside it.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Windows per step.", DefaultValueFactory = _ => 16 };
        var context = new Option<int?>("--context") { Description = "Tokens per window (default: the preset's context)." };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (AdamW).", DefaultValueFactory = _ => 1e-3f };
        var wd = new Option<float>("--weight-decay") { Description = "Decoupled weight decay (not on biases, gains).", DefaultValueFactory = _ => 0.1f };
        var warmup = new Option<long>("--warmup") { Description = "Linear warm-up steps (at most a tenth of the run), then cosine decay to 10%.", DefaultValueFactory = _ => 200 };
        var clip = new Option<float>("--clip") { Description = "Global gradient-norm clip.", DefaultValueFactory = _ => 1f };
        var evalEvery = new Option<int>("--eval-every") { Description = "Steps between validation losses.", DefaultValueFactory = _ => 100 };
        var ckptEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (also at the end and on Ctrl-C).", DefaultValueFactory = _ => 250 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint, with its saved settings (other options are ignored)." };
        var force = new Option<bool>("--force") { Description = "Delete a run already in --out and start over." };
        var seeds = new Option<string?>("--seeds")
        {
            Description = "Train one model per seed (initial weights and data order from the seed, everything else shared) into OUT/seed-N/, " +
                          "e.g. 0,1,2,3,4 or 0-4, under one progress bar. Re-running skips finished seeds and resumes an interrupted one.",
        };
        var precision = new Option<string>("--precision")
        {
            Description = "Matmul inputs: fp32, or bf16 (fp32 master weights, each large matmul's inputs rounded to bf16, fp32 accumulation; " +
                          "needs a CPU with avx512_bf16 and libdnnl2, else it says so and uses fp32). Validation loss is computed in fp32.",
            DefaultValueFactory = _ => "fp32",
        };
        var cmd = new Command("train", "Train a language model on next-token prediction (AdamW, warm-up + cosine, clipping), with checkpoints and exact --resume; --seeds trains several.")
            { data, preset, seed, seeds, tokens, output, batch, context, lr, wd, warmup, clip, evalEvery, ckptEvery, precision, resume, force };
        return cmd.WithAction((parse, cancel) =>
        {
            var stage = new ModelTrainStageOptions
            {
                Data = parse.GetValue(data)!,
                OutDir = parse.GetValue(output)!,
                Train = new TrainOptions
                {
                    Preset = parse.GetValue(preset)!, Seed = parse.GetValue(seed), Tokens = parse.GetValue(tokens), Batch = parse.GetValue(batch),
                    Context = parse.GetValue(context), LearningRate = parse.GetValue(lr), WeightDecay = parse.GetValue(wd),
                    WarmupSteps = parse.GetValue(warmup), ClipNorm = parse.GetValue(clip), EvalEvery = parse.GetValue(evalEvery),
                    CheckpointEvery = parse.GetValue(ckptEvery), Precision = parse.GetValue(precision)!,
                },
                Resume = parse.GetValue(resume),
                Force = parse.GetValue(force),
            };
            if (parse.GetValue(seeds) is string list)
            {
                if (parse.GetResult(seed) is { Implicit: false }) throw new UserError("give --seed or --seeds, not both");
                var all = ParseSeeds(list);
                ModelTrainStage.RunSeeds(stage, all, ConsoleProgress.Instance, cancel, (r, earlier) =>
                    Console.WriteLine($"seed {r.Options.Seed}: {Describe(r)}{(earlier ? " (done earlier, skipped)" : "")}"));
                Console.WriteLine($"{all.Count} models → {Path.Combine(stage.OutDir, "seed-N")} for N in {string.Join(", ", all)}");
                return 0;
            }
            var result = ModelTrainStage.Run(stage, ConsoleProgress.Instance, cancel);
            if (!result.HasValidation) Console.Error.WriteLine("note: no validation windows (the token store's valid split is empty); metrics hold training loss only");
            Console.WriteLine($"trained {result.Train.Steps} steps: {Describe(result)}");
            return 0;
        });
    }

    static string Describe(ModelTrainStageResult r) => string.Create(CultureInfo.InvariantCulture,
        $"loss {r.Train.LastLoss:0.0000}{(r.Train.ValidationLoss is double vl ? $", validation {vl:0.0000} (perplexity {Math.Exp(vl):0.0})" : "")}" +
        $"{(r.Train.TokensPerSecond > 0 ? $", {r.Train.TokensPerSecond:N0} tokens/s" : "")} → {r.OutDir}");

    /// <summary>"0,1,2" or "0-4" (or both mixed) → the seeds in the order given.</summary>
    internal static IReadOnlyList<ulong> ParseSeeds(string text)
    {
        var seeds = new List<ulong>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length == 1 && ulong.TryParse(ends[0], CultureInfo.InvariantCulture, out ulong one)) seeds.Add(one);
            else if (ends.Length == 2 && ulong.TryParse(ends[0], CultureInfo.InvariantCulture, out ulong lo) && ulong.TryParse(ends[1], CultureInfo.InvariantCulture, out ulong hi)
                     && lo <= hi && hi - lo < 1000)
                for (ulong v = lo; v <= hi; v++) seeds.Add(v);
            else throw new UserError($"--seeds: '{part}' is not a seed or a range like 0-4");
        }
        if (seeds.Count == 0) throw new UserError("--seeds: give at least one seed, e.g. 0,1,2,3,4");
        return seeds;
    }

    static Command Eval()
    {
        var model = ModelDir();
        var data = new Option<string>("--data") { Description = "Token store folder.", Required = true };
        var split = new Option<string>("--split") { Description = "Which split to score: valid or train.", DefaultValueFactory = _ => "valid" };
        var windows = new Option<int>("--windows") { Description = "Most windows (of the model's context + 1 tokens, taken from the start of the split) to score.", DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass.", DefaultValueFactory = _ => 16 };
        var json = new Option<bool>("--json") { Description = "Print {\"loss\", \"perplexity\", \"tokens\"} as JSON." };
        var cmd = new Command("eval", "Mean next-token loss (nats/token) and perplexity of a model on a token store.") { model, data, split, windows, batch, json };
        return cmd.WithAction((parse, cancel) =>
        {
            var m = ModelFiles.Load(parse.GetValue(model)!);
            using var store = TokenStore.Open(parse.GetValue(data)!, parse.GetValue(split)!);
            ModelTokenizer.RequireMatch(parse.GetValue(model)!, store);
            if (store.VocabSize > m.Config.Vocab) throw new UserError($"the token store's vocabulary ({store.VocabSize}) is larger than the model's ({m.Config.Vocab})");
            int ctx = m.Config.Context;
            var w = TokenStoreWindows.FixedWindows(store, ctx, Math.Max(1, parse.GetValue(windows)));
            if (w.Length == 0) throw new UserError($"the {store.Split} split holds {store.Count} tokens, fewer than one window of {ctx + 1}");
            int n = w.Length / (ctx + 1);
            double loss;
            using (var task = ConsoleProgress.Instance.Start("evaluating", (long)n * ctx, "tok"))
                loss = Evaluation.MeanLoss(m, w, ctx, Math.Max(1, parse.GetValue(batch)), task);
            if (parse.GetValue(json))
                Console.WriteLine(new JsonObject { ["loss"] = loss, ["perplexity"] = Math.Exp(loss), ["tokens"] = (long)n * ctx }.ToJsonString());
            else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss {loss:0.0000} nats/token, perplexity {Math.Exp(loss):0.00} over {(long)n * ctx:N0} tokens"));
            return 0;
        });
    }

    static Command Logits()
    {
        var model = ModelDir();
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated token ids, e.g. 1,2,3.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of the final position's logits." };
        var cmd = new Command("logits", "Print the final position's logits for a token sequence (for checking against other implementations).") { model, tokens, json };
        return cmd.WithAction((parse, cancel) =>
        {
            var m = ModelFiles.Load(parse.GetValue(model)!);
            int[] ids;
            try { ids = parse.GetValue(tokens)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
            catch (FormatException) { throw new UserError($"--tokens: expected comma-separated integers, got '{parse.GetValue(tokens)}'"); }
            if (ids.Length == 0) throw new UserError("--tokens: no tokens given");
            foreach (int id in ids) if ((uint)id >= (uint)m.Config.Vocab) throw new UserError($"--tokens: {id} is outside the vocabulary of {m.Config.Vocab}");
            if (ids.Length > m.Config.Context) ids = ids[^m.Config.Context..];
            float[] last;
            using (Tape.NoGrad()) last = m.Forward(ids, 1, ids.Length).Value.Row(ids.Length - 1).ToArray();
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(last));
            else for (int i = 0; i < last.Length; i++) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i}\t{last[i]:R}"));
            return 0;
        });
    }

    static Command ImportHf()
    {
        var from = new Option<string>("--from") { Description = "Hugging Face GPT2LMHeadModel folder (config.json + model.safetensors).", Required = true };
        var output = new Option<string>("--out") { Description = "Model folder to write.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists." };
        var cmd = new Command("import-hf", "Import a Hugging Face GPT-2 checkpoint (validated: every tensor present with its shape; F16/BF16 widened).") { from, output, force };
        return cmd.WithAction((parse, cancel) =>
        {
            var m = ModelFiles.Load(parse.GetValue(from)!);
            IO.AtomicDirectory.Create(parse.GetValue(output)!, tmp => ModelFiles.Save(m, tmp), parse.GetValue(force));
            Console.WriteLine($"imported {m.Config.Layers} layers, d_model {m.Config.DModel}, vocab {m.Config.Vocab} ({m.Config.ParameterCount() / 1e6:0.##}M parameters) → {parse.GetValue(output)}");
            return 0;
        });
    }

    static Command ExportHf()
    {
        var model = ModelDir();
        var output = new Option<string>("--out") { Description = "Folder to write (config.json + model.safetensors, loadable by transformers.GPT2LMHeadModel.from_pretrained).", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists." };
        var cmd = new Command("export-hf", "Export a model as a Hugging Face GPT2LMHeadModel folder.") { model, output, force };
        return cmd.WithAction((parse, cancel) =>
        {
            var m = ModelFiles.Load(parse.GetValue(model)!);
            IO.AtomicDirectory.Create(parse.GetValue(output)!, tmp => ModelFiles.ExportHuggingFace(m, tmp), parse.GetValue(force));
            Console.WriteLine($"exported → {parse.GetValue(output)}");
            return 0;
        });
    }

    /// <summary>`mechanist bench model`: training throughput, interleaved with the PyTorch peer.</summary>
    public static Command Bench()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape (toy-1l, tiny-4l, ...).", DefaultValueFactory = _ => "toy-1l" };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size.", DefaultValueFactory = _ => 8192 };
        var batch = new Option<int>("--batch") { Description = "Windows per step.", DefaultValueFactory = _ => 16 };
        var context = new Option<int?>("--context") { Description = "Tokens per window (default: the preset's)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps per round.", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each samples the FMA ceiling, times ours, then the peer (medians reported).", DefaultValueFactory = _ => 3 };
        var peer = new Option<bool>("--peer") { Description = "Also run ../shared/baselines/torch_lm_bench.py (needs /usr/bin/python3 with torch) on the same shape, interleaved." };
        var peerScript = new Option<string>("--peer-script") { Description = "Path of the PyTorch peer script.", DefaultValueFactory = _ => "../shared/baselines/torch_lm_bench.py" };
        var profile = new Option<bool>("--profile") { Description = "After the rounds, profile --steps more steps: each part's share of the step (embedding, layer norms, attention, MLP, unembedding + loss, optimizer), forward and backward, the cores busy in each, threading idle, GC pauses and bytes allocated per step." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (fraction_of_ceiling: achieved GFLOP/s over the FMA ceiling sampled in the same round, median of rounds)." };
        var threads = new Option<int>("--threads") { Description = "Threads for ours and the peer (default: all cores).", DefaultValueFactory = _ => Parallelism.Threads };
        var cmd = new Command("model", "Language-model training throughput (tokens/s: forward, backward, clip, AdamW) on random tokens, as a fraction " +
            "of the machine's FMA ceiling sampled in each round; with --peer, interleaved with the PyTorch peer on the same model (GELU MLP, " +
            "untied lm_head, as the peer builds it); with --profile, where a step's time goes.")
            { preset, vocab, batch, context, steps, rounds, peer, peerScript, profile, json, threads };
        return cmd.WithAction((parse, cancel) =>
        {
            bool withPeer = parse.GetValue(peer);
            if (parse.GetValue(threads) < 1) throw new UserError("--threads must be at least 1");
            Parallelism.Threads = parse.GetValue(threads);
            var c = ModelBench.Config(parse.GetValue(preset)!, parse.GetValue(vocab), parse.GetValue(context), withPeer);
            int b = parse.GetValue(batch), n = Math.Max(1, parse.GetValue(steps)), r = Math.Max(1, parse.GetValue(rounds));
            double flopsPerToken = ModelBench.FlopsPerToken(c);
            var ours = new List<double>();
            var theirs = new List<double>();
            var ceilings = new List<double>();
            var fractions = new List<double>();
            var ratios = new List<double>();
            ModelBench.Measure(c, b, warmup: 1, steps: 1); // untimed: brings the JIT to optimised code before round 1
            for (int i = 0; i < r && !cancel.IsCancellationRequested; i++)
            {
                ceilings.Add(FmaCeiling.Measure(Parallelism.Threads, 0.2));
                ours.Add(ModelBench.Measure(c, b, warmup: 2, steps: n));
                fractions.Add(ours[^1] * flopsPerToken / 1e9 / ceilings[^1]);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {i + 1}: mechanist {ours[^1]:N0} tokens/s, {ours[^1] * flopsPerToken / 1e9:0.0} GFLOP/s of a {ceilings[^1]:0} GFLOP/s ceiling ({fractions[^1]:P1})"));
                if (withPeer && ModelBench.MeasurePeer(parse.GetValue(peerScript)!, c, b, n, Parallelism.Threads) is double p)
                {
                    theirs.Add(p);
                    ratios.Add(ours[^1] / p);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {i + 1}: pytorch   {p:N0} tokens/s (ratio {ratios[^1]:0.00}×)"));
                }
            }
            StepProfiler? profiled = parse.GetValue(profile) ? ModelBench.Profile(c, b, warmup: 2, steps: n) : null;
            double Median(List<double> x) { var s = x.OrderBy(v => v).ToList(); return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
            double mine = Median(ours), peerMedian = Median(theirs), fraction = Median(fractions);
            if (parse.GetValue(json))
                Console.WriteLine(new JsonObject
                {
                    ["preset"] = parse.GetValue(preset), ["layers"] = c.Layers, ["d_model"] = c.DModel, ["vocab"] = c.Vocab, ["context"] = c.Context,
                    ["batch"] = b, ["threads"] = Parallelism.Threads, ["tokens_per_second"] = Math.Round(mine),
                    ["flops_per_token"] = Math.Round(flopsPerToken), ["gflops"] = Math.Round(mine * flopsPerToken / 1e9, 1),
                    ["ceiling_gflops"] = Math.Round(Median(ceilings), 1), ["fraction_of_ceiling"] = Math.Round(fraction, 3),
                    ["peer_tokens_per_second"] = theirs.Count > 0 ? Math.Round(peerMedian) : null,
                    ["ratio"] = ratios.Count > 0 ? Math.Round(Median(ratios), 3) : null,
                    ["profile"] = profiled == null ? null : StepProfileReport.Json(profiled, n, Parallelism.Threads),
                }.ToJsonString());
            else
            {
                string peerText = theirs.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $"; PyTorch {peerMedian:N0} tokens/s; ratio {Median(ratios):0.00}× (median of rounds)")
                    : withPeer ? "; peer unavailable" : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{parse.GetValue(preset)} (vocab {c.Vocab}, batch {b}, context {c.Context}): {mine:N0} tokens/s, {fraction:P1} of the FMA ceiling ({flopsPerToken / 1e6:0.00} MFLOP per token)") + peerText);
                if (profiled != null) Console.WriteLine(StepProfileReport.Text(profiled, n, Parallelism.Threads));
            }
            return 0;
        });
    }
}
