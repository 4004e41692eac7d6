using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Bench;
using Mechanist.IO;
using Mechanist.Universality;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist universal neurons|merge`: universal neurons across seeds (Gurnee et al. 2024; docs/METHODS.md §5).</summary>
static class UniversalCommands
{
    public static Command Create()
    {
        var command = new Command("universal", "Universality across models trained from different seeds: which neurons of model 0 have a counterpart in every other seed, and which dictionary features of model A have one in model B.");
        command.Subcommands.Add(Neurons());
        command.Subcommands.Add(Features());
        command.Subcommands.Add(Merge());
        return command;
    }

    static Command Neurons()
    {
        var models = new Option<string[]>("--models") { Description = "Model folders, model 0 first (same number of layers and MLP width): each runs to mlp.hook_post of every layer.", AllowMultipleArgumentsPerToken = true };
        var data = new Option<string?>("--data") { Description = "With --models: the token store the models read (consecutive windows from the start of --split)." };
        var tokens = new Option<long?>("--tokens") { Description = "With --models: tokens to read (the paper: 100 M); with --acts: the first N rows (default all).", CustomParser = ParseCount };
        var acts = new Option<string[]>("--acts") { Description = "Instead of --models: one activation store or [N, neurons] .npy per model, row r being the same token in every file, all layers side by side.", AllowMultipleArgumentsPerToken = true };
        var layers = new Option<int>("--layers") { Description = "With --acts: layers per row (the width splits into this many equal blocks).", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output folder: universal.csv, summary.json, manifest.json (with --shard: OUT/shard-IIIII-of-NNNNN/ partial sums).", Required = true };
        var baselines = new Option<string>("--baselines") { Description = "Baselines, comma-separated; the first is the one excess_corr subtracts: rotation (the paper's Gaussian rows), haar, permutation, gaussian, or none.", DefaultValueFactory = _ => "rotation" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the baselines.", DefaultValueFactory = _ => 0UL };
        var memory = new Option<string?>("--memory") { Description = "Memory the run may use, e.g. 2GB (default: 4/5 of what the machine has available). Model 0's neurons are tiled so the float64 sums fit; each tile is one pass over the tokens." };
        var tileRows = new Option<int?>("--tile-rows") { Description = "Model-0 neurons per tile instead of what --memory allows (shards merge only with equal tiles)." };
        var shard = new Option<string?>("--shard") { Description = "i/N: sum only this share of the tokens and write partial sums to OUT/shard-IIIII-of-NNNNN/; then `universal merge --out OUT`. Give every shard the same --memory or --tile-rows." };
        var split = new Option<string>("--split") { Description = "With --models: token store split.", DefaultValueFactory = _ => "train" };
        var context = new Option<int?>("--context") { Description = "With --models: tokens per window (default: the models' context)." };
        var batch = new Option<int?>("--batch") { Description = "Windows per forward pass with --models (default ≈ 4,096 tokens), rows per block with --acts (default 4,096). One float32 GEMM sums one batch." };
        var statsTokens = new Option<long>("--stats-tokens") { Description = "With --models: tokens (the run's first) for each model's neuron statistics, families and roles (neurons-model{m}.csv, appended to universal.csv); 0 skips them.", DefaultValueFactory = _ => 1_000_000 };
        var interventionTokens = new Option<long>("--intervention-tokens") { Description = "With --models and statistics: tokens (the run's first windows) for model 0's interventions: the entropy-neuron intervention (entropy-intervention.csv/.svg) and the attention-deactivation path ablation (attention-deactivation.csv); 0 skips them.", DefaultValueFactory = _ => 16_384 };
        var entropyCandidates = new Option<int>("--entropy-candidates") { Description = "Last-layer entropy-neuron candidates to fix at −0.17, 0, 1, …, 6 (largest L2 penalty among low vocab_kurt and vocab_var), each against 20 random neurons.", DefaultValueFactory = _ => 4 };
        var ablations = new Option<int>("--ablations") { Description = "(neuron, later head) pairs with the highest attention-deactivation score to path-ablate.", DefaultValueFactory = _ => 5 };
        var threshold = new Option<double>("--threshold") { Description = "Universal when excess_corr exceeds this.", DefaultValueFactory = _ => 0.5 };
        var force = new Option<bool>("--force") { Description = "Replace existing output." };
        var json = new Option<bool>("--json") { Description = "Print summary.json instead of the readable summary." };
        var cmd = new Command("neurons",
            "Correlate every neuron of model 0 with every neuron of each other model over the same tokens (streaming Pearson in float64, " +
            "the cross-products from float32 GEMMs), against baselines, and mark universal neurons (excess_corr = mean max_corr − mean baseline > 0.5). " +
            "BOS-like position 0 of each window, <|endoftext|> and \"\\n\" are dropped. Example:\n" +
            "  mechanist universal neurons --models runs/s0 runs/s1 runs/s2 runs/s3 runs/s4 --data tokens --tokens 10_000_000 --out un")
            { models, data, tokens, acts, layers, output, baselines, seed, memory, tileRows, shard, split, context, batch, statsTokens, interventionTokens, entropyCandidates, ablations, threshold, force, json };
        return cmd.WithAction((parse, cancel) =>
        {
            string outDir = parse.GetValue(output)!;
            var shardSpec = parse.GetValue(shard) is string s ? ShardSpec.Parse(s) : ShardSpec.Whole;
            var options = new CorrelationOptions
            {
                Baselines = CorrelationBaselines.Parse(parse.GetValue(baselines)!),
                Seed = parse.GetValue(seed),
                MemoryBytes = parse.GetValue(memory) is string m ? CorrelationOptions.ParseBytes(m) : CorrelationOptions.DefaultMemoryBytes(),
                Shard = shardSpec,
                Threshold = parse.GetValue(threshold),
                TileRows = parse.GetValue(tileRows),
            };
            bool force_ = parse.GetValue(force);
            if (shardSpec.IsWhole && !force_ && Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new UserError($"{outDir}: already exists (use --force to replace it)");
            using var source = Open(parse, models, data, tokens, acts, layers, split, context, batch);
            if (!shardSpec.IsWhole)
            {
                var r = NeuronCorrelation.WriteShard(source, options, outDir, ConsoleProgress.Instance, cancel, force_);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Folder}: partial sums of shard {shardSpec} over {r.Tokens:N0} tokens ({r.Plan}); GEMM {r.GemmFlops / Math.Max(1e-9, r.GemmSeconds) / 1e9:F0} GFLOP/s. " +
                    $"When all {shardSpec.Count} are done: mechanist universal merge --out {outDir}"));
                return 0;
            }
            var result = NeuronCorrelation.Correlate(source, options, ConsoleProgress.Instance, cancel);
            var table = UniversalTable.From(result);
            var extra = GemmReport(result);
            List<NeuronReport>? reports = null;
            if (source is ModelUnitBatches modelData && parse.GetValue(statsTokens) > 0)
            {
                int batches = (int)Math.Max(1, (parse.GetValue(statsTokens) + modelData.MaxTokens - 1) / modelData.MaxTokens);
                reports = [];
                for (int k = 0; k < modelData.Layouts.Count; k++)
                {
                    var profile = NeuronProfile.Measure(modelData, k, batches, ConsoleProgress.Instance, cancel);
                    var statistics = NeuronStatistics.Of(modelData.Model(k), profile.Pre);
                    var roles = k == 0 && parse.GetValue(interventionTokens) > 0
                        ? RoleExperiments.Run(modelData, statistics, new RoleExperiments.Settings(parse.GetValue(interventionTokens), parse.GetValue(entropyCandidates),
                            Ablations: parse.GetValue(ablations), Seed: parse.GetValue(seed)), ConsoleProgress.Instance, cancel)
                        : null;
                    reports.Add(new NeuronReport(statistics, NeuronFamilies.Label(profile, modelData.Tokenizer), roles));
                }
                extra["neurons"] = UniversalComparison.Summarise(table, reports[0]);
            }
            JsonObject summary;
            using (var staging = AtomicDirectory.Begin(outDir, force_))
            {
                summary = UniversalOutput.Write(staging.TempPath, table, extra, reports);
                staging.Commit();
            }
            Print(parse.GetValue(json), outDir, table, summary);
            return 0;
        });
    }

    static Command Features()
    {
        var a = new Option<string>("--a") { Description = "Run A: a run folder (model/ and sae/NAME/, as `mechanist demo` writes) or, with --acts, a dictionary folder.", Required = true };
        var b = new Option<string>("--b") { Description = "Run B, the same kind as --a (trained from another seed).", Required = true };
        var sae = new Option<string?>("--sae") { Description = "Which dictionary of each run folder's sae/ to compare, when there are several (e.g. topk-w4096-k32)." };
        var data = new Option<string?>("--data") { Description = "The token store both models read (consecutive windows from the start of --split)." };
        var acts = new Option<string[]>("--acts") { Description = "Instead of --data: one activation store or [N, d] .npy both dictionaries read, or two (A's rows, B's rows; the same tokens).", AllowMultipleArgumentsPerToken = true };
        var tokens = new Option<long?>("--tokens") { Description = "Tokens to read (default: with --data 10 M or the whole split if smaller, the paper used 40.96 M; with --acts every row).", CustomParser = ParseCount };
        var split = new Option<string>("--split") { Description = "With --data: token store split.", DefaultValueFactory = _ => "train" };
        var context = new Option<int?>("--context") { Description = "With --data: tokens per window (default: the models' context)." };
        var batch = new Option<int?>("--batch") { Description = "Windows per forward pass with --data (default ≈ 4,096 tokens), rows per block with --acts (default 4,096)." };
        var output = new Option<string>("--out") { Description = "Output folder: matches.csv (a,b,corr,logit_corr,density_a), neurons.csv, histogram.svg, summary.json, manifest.json.", Required = true };
        var featuresA = new Option<string?>("--features-a") { Description = "A's feature store (`features build`): the matches are attached to it (STORE/ab/), so its browser shows each feature's B match and an A/B page." };
        var featuresB = new Option<string?>("--features-b") { Description = "B's feature store, for B's explanations beside the matches." };
        var force = new Option<bool>("--force") { Description = "Replace existing output." };
        var json = new Option<bool>("--json") { Description = "Print summary.json (median_max_corr_features, median_max_corr_neurons, ...) instead of the readable summary." };
        var cmd = new Command("features",
            "For every latent of dictionary A, its best Pearson correlation with any latent of dictionary B over the same tokens (docs/METHODS.md §3.4; " +
            "streamed in float64 over co-active pairs only), and the logit-weight correlation of the pair; the two models' neurons at the hook are " +
            "correlated the same way as the baseline (the paper: median 0.72 for features against 0.46 for neurons). Examples:\n" +
            "  mechanist universal features --a runs/A --b runs/B --data runs/A/tokens --out ab\n" +
            "  mechanist universal features --a sae-seed0 --b sae-seed1 --acts acts.npy --out ab")
            { a, b, sae, data, acts, tokens, split, context, batch, output, featuresA, featuresB, force, json };
        return cmd.WithAction((parse, cancel) =>
        {
            int? perBatch = parse.GetValue(batch);
            if (perBatch is < 1) throw new UserError("--batch must be ≥ 1");
            var options = new FeatureUniversalityOptions
            {
                A = parse.GetValue(a)!, B = parse.GetValue(b)!, SaeName = parse.GetValue(sae), Data = parse.GetValue(data),
                Acts = parse.GetValue(acts) ?? [], Tokens = parse.GetValue(tokens), Split = parse.GetValue(split)!,
                Context = parse.GetValue(context), Batch = perBatch, OutDir = parse.GetValue(output)!, Force = parse.GetValue(force),
                FeaturesA = parse.GetValue(featuresA), FeaturesB = parse.GetValue(featuresB),
            };
            var (result, summary) = FeatureUniversalityStage.Run(options, ConsoleProgress.Instance, cancel);
            if (parse.GetValue(json)) { Console.WriteLine(summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true })); return 0; }
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv,
                $"{Path.Combine(options.OutDir, FeatureUniversalityOutput.MatchesFile)}: {result.LatentsA:N0} A latents against {result.LatentsB:N0} B latents over {result.Tokens:N0} tokens (L0 {result.L0A:F1} / {result.L0B:F1})"));
            string neurons = result.MedianNeurons is double n ? string.Create(inv, $", neurons {n:F3}") : " (no neuron baseline: both read the same rows)";
            Console.WriteLine(string.Create(inv, $"  median best correlation: features {result.MedianFeatures:F3}{neurons}; {result.ShareAbove(0.8):P1} of A features have a B match above 0.8"));
            return 0;
        });
    }

    static Command Merge()
    {
        var output = new Option<string>("--out") { Description = "The folder the shards wrote into (OUT/shard-*-of-N/); universal.csv, summary.json and manifest.json are written beside them.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing universal.csv." };
        var json = new Option<bool>("--json") { Description = "Print summary.json instead of the readable summary." };
        var cmd = new Command("merge", "Add up the partial sums of all N shards of one `universal neurons --shard i/N` run (checked to be complete and of the same run) and write its results, as one unsharded run would.")
            { output, force, json };
        return cmd.WithAction((parse, cancel) =>
        {
            string outDir = parse.GetValue(output)!;
            if (!parse.GetValue(force) && File.Exists(Path.Combine(outDir, UniversalOutput.CsvFile)))
                throw new UserError($"{Path.Combine(outDir, UniversalOutput.CsvFile)}: already exists (use --force to replace it)");
            var result = NeuronCorrelation.Merge(outDir, ConsoleProgress.Instance, cancel);
            var table = UniversalTable.From(result);
            var summary = UniversalOutput.Write(outDir, table);
            Print(parse.GetValue(json), outDir, table, summary);
            return 0;
        });
    }

    static IUnitBatches Open(ParseResult parse, Option<string[]> models, Option<string?> data, Option<long?> tokens, Option<string[]> acts,
        Option<int> layers, Option<string> split, Option<int?> context, Option<int?> batch)
    {
        var modelDirs = parse.GetValue(models) ?? [];
        var actFiles = parse.GetValue(acts) ?? [];
        if ((modelDirs.Length > 0) == (actFiles.Length > 0)) throw new UserError("give either --models DIR... (with --data and --tokens) or --acts FILE...");
        int? perBatch = parse.GetValue(batch);
        if (perBatch is < 1) throw new UserError("--batch must be ≥ 1");
        if (actFiles.Length > 0) return StoreUnitBatches.Open(actFiles, parse.GetValue(layers), parse.GetValue(tokens), perBatch ?? 4096);
        string dataDir = parse.GetValue(data) ?? throw new UserError("--models needs --data (the token store the models read)");
        long n = parse.GetValue(tokens) ?? throw new UserError("--models needs --tokens (how many tokens to read, e.g. 10_000_000)");
        return ModelUnitBatches.Open(modelDirs, dataDir, n, parse.GetValue(split)!, parse.GetValue(context), perBatch);
    }

    /// <summary>The correlation GEMMs' speed against our GEMM's peak on this machine now (measured when the GEMMs ran long enough to mean something).</summary>
    static JsonObject GemmReport(CorrelationResult result)
    {
        var report = new JsonObject();
        if (result.GemmSeconds < 2) return report;
        var peak = GemmBench.Run(Numerics.Parallelism.Threads, 3, shapes: [(2048, 2048, 2048)]).Max(r => r.Gflops);
        report["gemm_peak_gflops"] = peak;
        report["gemm_fraction_of_peak"] = result.GemmGflops / peak;
        return report;
    }

    static void Print(bool json, string outDir, UniversalTable table, JsonObject summary)
    {
        if (json) { Console.WriteLine(summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true })); return; }
        var r = table.Result;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"{Path.Combine(outDir, UniversalOutput.CsvFile)}: {r.Layouts[0].Units:N0} neurons of model 0 ({r.Layouts[0]}) against {r.Models - 1} other seed(s) over {r.Tokens:N0} tokens"));
        Console.WriteLine(string.Create(inv,
            $"  universal (excess_corr > {r.Options.Threshold}): {summary["universal"]} = {(double)summary["universal_share"]!:P2}; median mean max_corr {summary["median_mean_max_corr"]?.ToJsonString() ?? "-"}, " +
            $"median baseline ({summary["baseline"]}) {summary["median_baseline"]?.ToJsonString() ?? "-"}"));
        Console.WriteLine("  per layer: " + string.Join(", ", summary["per_layer"]!.AsArray().Select(l => string.Create(inv, $"{l!["layer"]}: {(double)l["share"]!:P1}"))));
        if (summary["gemm_gflops"] is JsonNode g)
        {
            string peak = summary["gemm_peak_gflops"] is JsonNode p
                ? string.Create(inv, $" = {(double)summary["gemm_fraction_of_peak"]!:F2} of our GEMM's peak now ({(double)p:F0} GFLOP/s, 2048³)") : "";
            Console.WriteLine(string.Create(inv, $"  correlation GEMMs {(double)g:F0} GFLOP/s{peak}"));
        }
    }

    static long? ParseCount(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Replace("_", "").Replace(",", "") : "";
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0) return n;
        result.AddError($"--tokens {text}: expected a positive whole number, e.g. 10_000_000");
        return null;
    }
}
