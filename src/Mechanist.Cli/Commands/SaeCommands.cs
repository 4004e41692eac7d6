using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Bench;
using Mechanist.Sae;
using Mechanist.Models;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist sae train|eval|synth`: sparse autoencoders (dictionary learning) on activations.</summary>
static class SaeCommands
{
    public static Command Create()
    {
        var sae = new Command("sae", "Train and evaluate sparse autoencoders on activations (SAELens-compatible output).");
        sae.Subcommands.Add(Train());
        sae.Subcommands.Add(Eval());
        sae.Subcommands.Add(Synth());
        return sae;
    }

    static Command Train()
    {
        var acts = new Option<string?>("--acts") { Description = "Activation store folder or an [N, d] .npy file (or give --model to stream activations from a model instead)." };
        var modelDir = new Option<string?>("--model") { Description = "Stream activations from this model folder instead of a store: it runs to --hook over --data between SAE steps, rows pass through a shuffle buffer and nothing is written; needs --data, --hook and --tokens." };
        var data = new Option<string?>("--data") { Description = "With --model: token store to run the model over (from `mechanist corpus prepare`)." };
        var split = new Option<string?>("--split") { Description = "With --model: token-store split to read, train (default) or valid." };
        var perContext = new Option<int?>("--per-context") { Description = "With --model: positions sampled from each context window, K (Towards Monosemanticity: 250); 0 (default) = every position." };
        var context = new Option<int?>("--context") { Description = "With --model: tokens per context window (default: the model's context)." };
        var includeFirst = new Option<bool>("--include-first") { Description = "With --model: also take position 0 of each window (skipped by default, as `acts harvest` does)." };
        var shuffle = new Option<int?>("--shuffle-mb") { Description = "With --model: shuffle buffer in MiB (default 256; at most the rows the run reads): each row trained on is drawn at random from it, mixing about MiB·2²⁰/(4·d·K) contexts; 0 = harvest order." };
        var arch = new Option<string>("--arch") { Description = "Architecture: relu (L1 + resampling), topk (+AuxK), batchtopk, jumprelu, gated (L1 on the gate path + auxiliary reconstruction; no resampling).", DefaultValueFactory = _ => "topk" };
        var width = new Option<string>("--width") { Description = "Latents (d_sae); several comma-separated train one SAE each on the same stream, e.g. 512,4096,16384.", DefaultValueFactory = _ => "4096" };
        var l1 = new Option<string>("--l1") { Description = "Sparsity coefficient λ for relu (L1), jumprelu (L0) and gated (L1 on ReLU(π_gate)), inputs scaled to E‖x‖² = 1; comma-separated for several.", DefaultValueFactory = _ => "0.05" };
        var k = new Option<string>("--k") { Description = "Active latents per token for topk/batchtopk; comma-separated for several.", DefaultValueFactory = _ => "32" };
        var outDir = new Option<string>("--out") { Description = "Output folder: one SAELens folder per SAE, metrics.json, training.jsonl (statistics every 100 steps, resamplings), checkpoint/.", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Tokens per step.", DefaultValueFactory = _ => 4096 };
        var tokens = new Option<long>("--tokens") { Description = "Token budget (0 = one pass over the training rows of --acts; required with --model).", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (linear warm-up, then linear decay to 0 over the last --decay of the run); 0 (default) = set per SAE from its width and the run's length (see README), printed and saved in cfg.json.", DefaultValueFactory = _ => 0 };
        var decay = new Option<double>("--decay") { Description = "Fraction of the run at the end over which the learning rate decays linearly to 0 (Anthropic's 2024 default 0.2; 0 = constant, as in Towards Monosemanticity).", DefaultValueFactory = _ => 0.2 };
        var warmup = new Option<long>("--warmup-steps") { Description = "Learning-rate warm-up steps (capped at 5 % of the run).", DefaultValueFactory = _ => 1000 };
        var l1Warmup = new Option<double>("--l1-warmup") { Description = "Fraction of the run over which λ rises from 0.", DefaultValueFactory = _ => 0.05 };
        var clip = new Option<double>("--clip") { Description = "Global gradient-norm clip (0 = off).", DefaultValueFactory = _ => 1.0 };
        var deadWindow = new Option<long>("--dead-window") { Description = "Tokens without firing after which a latent counts as dead (AuxK, reports); 0 (default) = a tenth of the run, at most 10 M.", DefaultValueFactory = _ => 0 };
        var resample = new Option<string>("--resample-steps") { Description = "relu: steps at which dead latents are resampled (Towards Monosemanticity: 25k, 50k, 75k, 100k of 1M steps; scale them to shorter runs); \"none\" = never.", DefaultValueFactory = _ => "25000,50000,75000,100000" };
        var resampleWindow = new Option<long>("--resample-window") { Description = "relu: a latent is resampled if it has not fired in this many steps before a resampling step.", DefaultValueFactory = _ => 12_500 };
        var bandwidth = new Option<double>("--bandwidth") { Description = "jumprelu: straight-through bandwidth ε.", DefaultValueFactory = _ => 0.001 };
        var thresholdInit = new Option<double>("--threshold-init") { Description = "jumprelu: initial threshold θ₀ (inputs scaled to E‖x‖² = 1).", DefaultValueFactory = _ => 0.001 };
        var holdout = new Option<long>("--holdout") { Description = "Rows held out for evaluation (0 = 5 %, at most 65,536: of the store's rows, or of --tokens with --model, whose held-out rows are the stream's first).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed for initialisation and data order (with --model also the window order, positions and shuffle, as `acts harvest --seed`).", DefaultValueFactory = _ => 0 };
        var ckpt = new Option<long>("--checkpoint-every") { Description = "Steps between checkpoints (also every 10 minutes).", DefaultValueFactory = _ => 2000 };
        var resume = new Option<bool>("--resume") { Description = "Continue exactly from OUT/checkpoint (same options; with --model the stream is replayed to where it stopped)." };
        var force = new Option<bool>("--force") { Description = "Start over even if OUT exists." };
        var model = new Option<string?>("--model-name") { Description = "Metadata: the model the activations came from (default: from the store, or the --model folder)." };
        var hook = new Option<string?>("--hook") { Description = "With --model: the hook point to stream, e.g. blocks.0.mlp.hook_post (required). With --acts: metadata only (default: from the store)." };
        var precision = new Option<string>("--precision")
        {
            Description = "Inputs of the SAE step's large matmuls: fp32, or bf16 (rounded to bf16, fp32 accumulation and weights; needs a CPU " +
                          "with avx512_bf16 and libdnnl2, else it says so and uses fp32). A streamed model and the evaluation stay fp32.",
            DefaultValueFactory = _ => "fp32",
        };
        var cmd = new Command("train", "Train sparse autoencoders with Adam on a stored activation store (--acts) or on activations streamed from a model (--model), reading the data once for all widths/sparsities.")
        { acts, modelDir, data, hook, split, perContext, context, includeFirst, shuffle, arch, width, l1, k, outDir, batch, tokens, lr, decay, warmup, l1Warmup, clip, deadWindow, resample, resampleWindow, bandwidth, thresholdInit, holdout, seed, ckpt, precision, resume, force, model };
        return cmd.WithAction((parse, cancel) =>
        {
            if (!SaeArchitectureNames.TryParse(parse.GetValue(arch)!, out var a)) throw new UserError($"--arch {parse.GetValue(arch)}: use relu, topk, batchtopk, jumprelu or gated");
            string? streamFrom = parse.GetValue(modelDir);
            SaeTrainStage.RequireOneSource(parse.GetValue(acts) != null, streamFrom != null);
            if (streamFrom == null)
            {
                foreach (var (given, name) in new[] { (parse.GetValue(data) != null, "--data"), (parse.GetValue(split) != null, "--split"), (parse.GetValue(perContext) != null, "--per-context"),
                    (parse.GetValue(context) != null, "--context"), (parse.GetValue(includeFirst), "--include-first"), (parse.GetValue(shuffle) != null, "--shuffle-mb") })
                    if (given) throw new UserError($"{name} is for streaming from a model (--model); a stored activation store (--acts) was sampled already");
            }
            else
            {
                if (parse.GetValue(data) == null) throw new UserError("--model needs --data TOKENS: the token store to run the model over");
                if (parse.GetValue(hook) == null) throw new UserError("--model needs --hook NAME: the hook point to train on, e.g. blocks.0.mlp.hook_post");
            }
            var stage = new SaeTrainStageOptions
            {
                Acts = parse.GetValue(acts),
                Stream = streamFrom == null ? null
                    : new SaeStreamSource(streamFrom, parse.GetValue(data)!, new HarvestOptions
                    {
                        Hook = HookPoint.Parse(parse.GetValue(hook)!),
                        Tokens = parse.GetValue(tokens),
                        Seed = parse.GetValue(seed),
                        Context = parse.GetValue(context),
                        RowsPerContext = parse.GetValue(perContext) ?? 0,
                        SkipFirstPosition = !parse.GetValue(includeFirst),
                        Split = parse.GetValue(split) ?? "train",
                        ShuffleBufferMiB = parse.GetValue(shuffle) ?? 256,
                    }),
                OutDir = parse.GetValue(outDir)!,
                Training = new SaeTrainingOptions
                {
                    Architecture = a,
                    Widths = ParseList(parse.GetValue(width)!, "--width", s => int.Parse(s, CultureInfo.InvariantCulture)),
                    L1 = ParseList(parse.GetValue(l1)!, "--l1", s => double.Parse(s, CultureInfo.InvariantCulture)),
                    Ks = ParseList(parse.GetValue(k)!, "--k", s => int.Parse(s, CultureInfo.InvariantCulture)),
                    BatchSize = parse.GetValue(batch),
                    Tokens = parse.GetValue(tokens),
                    LearningRate = parse.GetValue(lr),
                    DecayFraction = parse.GetValue(decay),
                    WarmupSteps = parse.GetValue(warmup),
                    SparsityWarmupFraction = parse.GetValue(l1Warmup),
                    ClipNorm = parse.GetValue(clip),
                    DeadWindowTokens = parse.GetValue(deadWindow),
                    ResampleSteps = parse.GetValue(resample)!.Trim().ToLowerInvariant() is "none" or "" ? [] : ParseList(parse.GetValue(resample)!, "--resample-steps", s => long.Parse(s, CultureInfo.InvariantCulture)),
                    ResampleWindowSteps = parse.GetValue(resampleWindow),
                    Bandwidth = parse.GetValue(bandwidth),
                    ThresholdInit = parse.GetValue(thresholdInit),
                    HoldoutRows = parse.GetValue(holdout),
                    Seed = parse.GetValue(seed),
                    CheckpointEverySteps = parse.GetValue(ckpt),
                    Precision = parse.GetValue(precision)!,
                },
                ModelName = parse.GetValue(model),
                Hook = streamFrom == null && parse.GetValue(hook) is string h ? HookPoint.Parse(h) : null,
                Resume = parse.GetValue(resume),
                Force = parse.GetValue(force),
            };
            foreach (var r in SaeTrainStage.Run(stage, ConsoleProgress.Instance, cancel).Saes)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Directory}: explained variance {r.Metrics.ExplainedVariance:F4}, MSE {r.Metrics.Mse:G4}, L0 {r.Metrics.L0:F1}, dead {r.Metrics.Dead}, ultralow {r.Metrics.Ultralow}, lr {r.LearningRate:G3}"));
            return 0;
        });
    }

    static Command Eval()
    {
        var saeDir = new Option<string>("--sae") { Description = "SAE folder (SAELens layout).", Required = true };
        var acts = new Option<string?>("--acts") { Description = "Activations to evaluate on (store folder or .npy): MSE, explained variance, L0, dead, ... With --model too, these come from --acts and the CE/KL scores from the model." };
        var rows = new Option<long>("--rows") { Description = "Evaluate on the last N rows of --acts (0 = all).", DefaultValueFactory = _ => 0 };
        var heldOut = new Option<bool>("--held-out") { Description = "Evaluate on the rows of --acts that `sae train` held out by default (the store's last 5 %, at most 65,536), which the SAE never trained on." };
        var truth = new Option<string?>("--truth") { Description = "Synthetic truth folder (NAME.truth from `sae synth`): MMCS and features recovered at cosine ≥ 0.9." };
        var outFile = new Option<string?>("--out") { Description = "Also write the JSON here (and density.svg/json beside it); with --model the default is SAE/eval.json." };
        var cmd = new Command("eval", "Evaluate an SAE on activations, spliced into its model (--model), and/or against a known synthetic dictionary; prints JSON.") { saeDir, acts, rows, heldOut, truth, outFile };
        var splice = new SpliceEvalOptions();
        splice.AddTo(cmd);
        return cmd.WithAction((parse, cancel) =>
        {
            if (parse.GetValue(heldOut) && parse.GetValue(rows) != 0) throw new UserError("give --rows N or --held-out, not both");
            var options = new SaeEvalStageOptions
            {
                Sae = parse.GetValue(saeDir)!, Acts = parse.GetValue(acts), Rows = parse.GetValue(rows), HeldOut = parse.GetValue(heldOut), Truth = parse.GetValue(truth),
                Out = parse.GetValue(outFile),
            };
            var result = SaeEvalStage.Run(splice.Apply(parse, options), ConsoleProgress.Instance, cancel);
            splice.Print(parse, result.Json, result.Json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
    }

    static Command Synth()
    {
        var d = new Option<int>("--d") { Description = "Dimension of the activations.", DefaultValueFactory = _ => 64 };
        var features = new Option<int>("--features") { Description = "Number of true features (unit directions).", DefaultValueFactory = _ => 256 };
        var l0 = new Option<double>("--l0") { Description = "Expected active features per row.", DefaultValueFactory = _ => 5 };
        var rows = new Option<long>("--rows") { Description = "Rows to generate.", DefaultValueFactory = _ => 200_000 };
        var corr = new Option<double>("--correlation") { Description = "Firing correlation within groups of 8 features (Gaussian copula), in [0, 1).", DefaultValueFactory = _ => 0 };
        var noise = new Option<double>("--noise") { Description = "Std of Gaussian noise added to each row.", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0 };
        var outFile = new Option<string>("--out") { Description = "The .npy file to write; the truth goes to NAME.truth/ beside it.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace existing output." };
        var cmd = new Command("synth", "Generate activations from a known random dictionary with sparse feature activity (ground truth for `sae eval --truth`).")
        { d, features, l0, rows, corr, noise, seed, outFile, force };
        return cmd.WithAction((parse, _) =>
        {
            var o = new SyntheticOptions
            {
                D = parse.GetValue(d), Features = parse.GetValue(features), L0 = parse.GetValue(l0), Rows = parse.GetValue(rows),
                Correlation = parse.GetValue(corr), Noise = parse.GetValue(noise), Seed = parse.GetValue(seed),
            };
            string path = parse.GetValue(outFile)!;
            string truth = SyntheticData.Write(o, path, parse.GetValue(force));
            Console.WriteLine($"{path}: {o.Rows:N0} rows × {o.D}; true dictionary and codes in {truth}");
            return 0;
        });
    }

    /// <summary>`mechanist bench sae` (registered under `bench`).</summary>
    public static Command Bench()
    {
        var kinds = new Option<string>("--kind") { Description = "relu (at --relu-l0), relu-dense (L0 = d_sae/2: the early phase of training), topk, gated (comma-separated); the peer runs the relu kinds and topk.", DefaultValueFactory = _ => "relu,relu-dense,topk" };
        var repeats = new Option<int>("--repeats") { Description = "Interleaved rounds (ours, peer, GEMM); medians reported.", DefaultValueFactory = _ => 3 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds of our training steps per round.", DefaultValueFactory = _ => 3 };
        var peer = new Option<string?>("--peer") { Description = "PyTorch peer script (default bench/peers/torch_sae_bench.py: /usr/bin/python3 with torch and numpy; 'none' to skip)." };
        var l0 = new Option<double>("--relu-l0") { Description = "relu and gated: latents firing per token (a trained SAE's sparsity).", DefaultValueFactory = _ => 32 };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var cmd = new Command("sae", "SAE training throughput (512 → 4,096, batch 4,096) on heavy-tailed synthetic activations, both contenders rotating over the same 4 batches, against the PyTorch peer and the GEMM bound, interleaved.")
        { kinds, repeats, seconds, peer, l0, json };
        return cmd.WithAction((parse, cancel) =>
        {
            if (parse.GetValue(repeats) < 1) throw new UserError($"--repeats must be at least 1 (got {parse.GetValue(repeats)})");
            if (!(parse.GetValue(seconds) > 0)) throw new UserError($"--seconds must be positive (got {parse.GetValue(seconds)})");
            string? script = parse.GetValue(peer);
            if (script == "none") script = null;
            else if (script != null && !File.Exists(script)) throw new UserError($"--peer {script}: no such script (give 'none' to skip the peer)");
            else if (script == null)
            {
                string guess = Path.GetFullPath(Path.Combine(FindRepoRoot() ?? ".", "bench", "peers", "torch_sae_bench.py"));
                script = File.Exists(guess) ? guess : null;
            }
            bool asJson = parse.GetValue(json);
            var results = SaeBench.Run(parse.GetValue(kinds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(repeats), parse.GetValue(seconds), script, reluL0: parse.GetValue(l0),
                log: asJson ? null : s => Console.Error.WriteLine(s), cancel: cancel);
            var arr = new JsonArray();
            foreach (var r in results)
            {
                arr.Add(new JsonObject
                {
                    ["kind"] = r.Kind, ["d_in"] = r.DIn, ["d_sae"] = r.DSae, ["batch"] = r.Batch, ["l0"] = Math.Round(r.L0, 2),
                    ["tokens_per_s"] = Math.Round(r.TokensPerSecond), ["peer_tokens_per_s"] = r.PeerTokensPerSecond is double p ? Math.Round(p) : null,
                    ["ratio_to_peer"] = r.RatioToPeer is double q ? Math.Round(q, 2) : null,
                    ["gemm_gflops"] = Math.Round(r.GemmGflops, 1), ["gemm_bound_tokens_per_s"] = Math.Round(r.GemmBoundTokensPerSecond),
                    ["fraction_of_gemm_limit"] = Math.Round(r.FractionOfGemmLimit, 3), ["effective_gflops"] = Math.Round(r.EffectiveGflops, 1),
                });
                if (!asJson)
                    Console.WriteLine(
                        FormattableString.Invariant($"{r.Kind,-5} {r.DIn}→{r.DSae} batch {r.Batch}, L0 {r.L0:F1}: {r.TokensPerSecond:N0} tok/s") +
                        (r.RatioToPeer is double ratio ? FormattableString.Invariant($", peer {r.PeerTokensPerSecond:N0} tok/s, ratio {ratio:F2}×") : ", peer not run") +
                        FormattableString.Invariant($"; {r.FractionOfGemmLimit:P0} of the one-GEMM bound ({r.GemmBoundTokensPerSecond:N0} tok/s at {r.GemmGflops:F0} GFLOP/s); {r.EffectiveGflops:F0} GFLOP/s dense-equivalent"));
            }
            if (asJson) Console.WriteLine(arr.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
    }

    internal static string? FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Mechanist.slnx"))) dir = dir.Parent;
        return dir?.FullName;
    }

    static T[] ParseList<T>(string text, string option, Func<string, T> parse)
    {
        try { return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => parse(s.Replace("_", ""))).ToArray(); }
        catch (FormatException) { throw new UserError($"{option} {text}: expected a comma-separated list of numbers"); }
        catch (OverflowException) { throw new UserError($"{option} {text}: a number is out of range"); }
    }
}
