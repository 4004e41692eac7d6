using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Sae;
using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist acts harvest`: activation stores from a model and a token store.</summary>
static class ActsCommands
{
    public static Command Create()
    {
        var acts = new Command("acts", "Collect activations from a model at a hook point into an activation store (input to `sae train`).");
        acts.Subcommands.Add(Harvest());
        return acts;
    }

    static Command Harvest()
    {
        var model = new Option<string>("--model") { Description = "Model folder (training run directory or GPT-2 folder: config.json + model.safetensors).", Required = true };
        var data = new Option<string>("--data") { Description = "Token store folder (from `mechanist corpus prepare`).", Required = true };
        var hook = new Option<string>("--hook") { Description = "Hook point, e.g. blocks.0.mlp.hook_post (TransformerLens names; per-head q/k/v/z are stored as h·d_head per token).", Required = true };
        var tokens = new Option<long>("--tokens") { Description = "Rows (token positions) to store, e.g. 2_000_000.", Required = true, CustomParser = ParseCount };
        var output = new Option<string>("--out") { Description = "Activation store folder to write (shards + manifest.json, written last).", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Storage type: f32, f16 or bf16 (half the disk; reads convert to f32).", DefaultValueFactory = _ => "f32" };
        var perContext = new Option<int>("--per-context") { Description = "Positions sampled from each context window, K (the Towards Monosemanticity setup: 250); 0 = every position.", DefaultValueFactory = _ => 0 };
        var context = new Option<int?>("--context") { Description = "Tokens per context window (default: the model's context)." };
        var includeFirst = new Option<bool>("--include-first") { Description = "Also harvest position 0 of each window (skipped by default: it attends only to itself, like BOS)." };
        var split = new Option<string>("--split") { Description = "Token-store split to read: train or valid.", DefaultValueFactory = _ => "train" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the window order, the positions drawn per window and the shuffle.", DefaultValueFactory = _ => 0 };
        var shuffle = new Option<int>("--shuffle-mb") { Description = "Shuffle buffer in MiB (rows written are drawn at random from it, mixing about MiB·2²⁰/(4·d·K) contexts); 0 = harvest order.", DefaultValueFactory = _ => 256 };
        var batch = new Option<int?>("--batch") { Description = "Windows per forward pass (default: about 4,096 tokens)." };
        var force = new Option<bool>("--force") { Description = "Replace a finished store in --out." };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted harvest into --out with the same options (keeps its full shards, replays the seeded stream past them)." };
        var cmd = new Command("harvest", "Run a model over a token store, stopping after the hooked layer, and store K shuffled activation rows per context window.")
        { model, data, hook, tokens, output, dtype, perContext, context, includeFirst, split, seed, shuffle, batch, force, resume };
        return cmd.WithAction((parse, cancel) =>
        {
            var options = new HarvestOptions
            {
                Hook = HookPoint.Parse(parse.GetValue(hook)!),
                Tokens = parse.GetValue(tokens),
                DType = ParseDType(parse.GetValue(dtype)!),
                RowsPerContext = parse.GetValue(perContext),
                Context = parse.GetValue(context),
                SkipFirstPosition = !parse.GetValue(includeFirst),
                Split = parse.GetValue(split)!,
                Seed = parse.GetValue(seed),
                ShuffleBufferMiB = parse.GetValue(shuffle),
                BatchWindows = parse.GetValue(batch),
            };
            var r = Harvester.Harvest(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(output)!, options,
                ConsoleProgress.Instance, cancel, parse.GetValue(force), parse.GetValue(resume));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Directory}: {r.Rows:N0} rows × {r.Width} ({options.DType.SafeTensorsName()}) from {r.Windows:N0} windows, K = {r.RowsPerContext} per window, " +
                $"{r.ModelTokens / Math.Max(1e-9, r.Seconds):N0} model tok/s; shuffle buffer {r.ShuffleBufferRows:N0} rows; mean ‖x‖² {r.Stats.MeanSquaredNorm:G4}"));
            return 0;
        });
    }

    static DType ParseDType(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "float32" => DType.F32,
        "f16" or "float16" => DType.F16,
        "bf16" or "bfloat16" => DType.BF16,
        _ => throw new UserError($"--dtype {name}: use f32, f16 or bf16"),
    };

    static long ParseCount(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Replace("_", "").Replace(",", "") : "";
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0) return n;
        result.AddError($"--tokens {text}: expected a positive whole number, e.g. 2_000_000");
        return 0;
    }
}

/// <summary>
/// The `sae eval --model DIR --data TOKENS` options: splice the SAE into the model and report the CE/KL
/// loss scores with the activation metrics on the same held-out tokens (<see cref="SpliceEvaluation"/>).
/// </summary>
sealed class SpliceEvalOptions
{
    readonly Option<string?> _model = new("--model") { Description = "Model folder: splice the SAE in at its hook and report CE loss scores (zero and mean ablation), KL score, and the activation metrics on the same tokens." };
    readonly Option<string?> _data = new("--data") { Description = "Token store for --model; evaluates on the first --windows windows of --split." };
    readonly Option<int> _windows = new("--windows") { Description = "With --model: evaluation windows of context + 1 tokens.", DefaultValueFactory = _ => 256 };
    readonly Option<string> _split = new("--split") { Description = "With --model: token-store split (valid is held out from harvesting).", DefaultValueFactory = _ => "valid" };
    readonly Option<int?> _context = new("--context") { Description = "With --model: tokens per window (default: the model's context)." };
    readonly Option<string?> _hook = new("--hook") { Description = "With --model: hook point (default: the SAE's hook_name)." };
    readonly Option<bool> _includeFirst = new("--include-first") { Description = "With --model: also splice and score position 0 (left clean and unscored by default, as harvesting skips it)." };
    readonly Option<bool> _json = new("--json") { Description = "Print the JSON (with --model the default is a readable summary; eval.json is written either way)." };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { _model, _data, _windows, _split, _context, _hook, _includeFirst, _json }) cmd.Options.Add(o);
    }

    public bool Given(ParseResult parse) => parse.GetValue(_model) != null;

    /// <summary>The evaluation options with this command line's splice settings (--model, --data, ...), and eval.json in the SAE folder by default with --model.</summary>
    public SaeEvalStageOptions Apply(ParseResult parse, SaeEvalStageOptions o) => parse.GetValue(_model) is not string modelDir ? o : o with
    {
        Model = modelDir,
        Data = parse.GetValue(_data),
        Splice = new SpliceOptions
        {
            Windows = parse.GetValue(_windows), Split = parse.GetValue(_split)!, Context = parse.GetValue(_context),
            Hook = parse.GetValue(_hook) is string h ? HookPoint.Parse(h) : null, SkipFirstPosition = !parse.GetValue(_includeFirst),
        },
        Out = o.Out ?? Path.Combine(o.Sae, "eval.json"),
    };

    /// <summary>Prints the JSON, or with --model and without --json a short summary. </summary>
    public void Print(ParseResult parse, JsonObject json, string text)
    {
        if (parse.GetValue(_json) || !Given(parse)) { Console.WriteLine(text); return; }
        double D(string k) => json[k] is JsonNode n ? double.Parse(n.ToJsonString(), CultureInfo.InvariantCulture) : double.NaN;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{json["hook"]}: {D("scored_tokens"):N0} tokens, {json["eval_windows"]} windows of {json["eval_context"]} ({json["eval_split"]})\n" +
            $"  CE clean {D("ce_clean"):F4}, with SAE {D("ce_sae"):F4}, zero-ablated {D("ce_zero"):F4}, mean-ablated {D("ce_mean"):F4} (nats/token)\n" +
            $"  CE loss score {D("ce_loss_score_zero"):P1} (zero ablation), {D("ce_loss_score_mean"):P1} (mean ablation); KL score {D("kl_score_zero"):P1} (zero), {D("kl_score_mean"):P1} (mean); KL with SAE {D("kl_sae"):G4}\n" +
            $"  MSE {D("mse"):G4}, explained variance {D("explained_variance"):F4}, cosine {D("cosine"):F4}, L0 {D("l0"):F2}, L1 {D("l1"):G4}, l2 ratio {D("l2_ratio"):F3}, γ {D("shrinkage_gamma"):F3}\n" +
            $"  dead {json["dead"]}, ultralow (< 1e-6) {json["ultralow"]}, below 1e-5 {json["below_1e-5"]}, dense > 1% {json["dense_above_1pct"]}, of {json["d_sae"]}"));
    }
}
