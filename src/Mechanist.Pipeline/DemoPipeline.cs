using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Browser;
using Mechanist.Sae;
using Mechanist.Explain;
using Mechanist.Features.Statistics;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Pipeline;

/// <summary>What `mechanist demo` was asked for.</summary>
public sealed record DemoOptions
{
    /// <summary>Text files, folders or JSON Lines (.gz); empty for the .NET SDK's XML documentation.</summary>
    public IReadOnlyList<string> Corpus { get; init; } = [];
    public required string OutDir { get; init; }
    public DemoPreset Preset { get; init; } = DemoPreset.Quick;
    public ulong Seed { get; init; }
    /// <summary>Also write the browser as a static site into OUT/site.</summary>
    public bool ExportHtml { get; init; }
    /// <summary>
    /// Also train model B (seed + 1) with its dictionary and dictionaries of a few smaller widths for A, match A's features
    /// to B's and link the widths' split families, and attach both to A's feature store (A/B page, families, Map page).
    /// </summary>
    public bool Ab { get; init; }
}

/// <summary>
/// The whole pipeline as stages over one output folder: corpus (SDK docs, when no corpus is given) → tokenizer →
/// tokens → model → acts → sae → eval → features → explain (→ with <see cref="DemoOptions.Ab"/>: model-b → acts-b → sae-b →
/// universal, sae-widths → splits) → site. Each folder is what the stage's own command writes,
/// so `mechanist model generate --model OUT/model`, `mechanist browse --features OUT/features` and the rest work on it.
/// </summary>
public sealed class DemoPipeline(DemoOptions options)
{
    readonly DemoPreset p = options.Preset;
    string Out => Path.GetFullPath(options.OutDir);
    public string CorpusDir => Path.Combine(Out, "corpus");
    public string TokenizerDir => Path.Combine(Out, "tokenizer");
    public string TokensDir => Path.Combine(Out, "tokens");
    public string ModelDir => Path.Combine(Out, "model");
    public string ActsDir => Path.Combine(Out, "acts");
    public string SaeRoot => Path.Combine(Out, "sae");
    public string SaeDir => Path.Combine(SaeRoot, $"topk-w{p.SaeWidth}-k{p.SaeK}");
    public string EvalDir => Path.Combine(Out, "eval");
    public string FeaturesDir => Path.Combine(Out, "features");
    public string SiteDir => Path.Combine(Out, "site");
    /// <summary>Model B's run folder (model/, acts/, sae/), like A's, so `universal features --a OUT --b OUT/b` reads both.</summary>
    public string BDir => Path.Combine(Out, "b");
    public string ModelBDir => Path.Combine(BDir, "model");
    public string ActsBDir => Path.Combine(BDir, "acts");
    public string SaeBRoot => Path.Combine(BDir, "sae");
    public string UniversalDir => Path.Combine(Out, "universal");
    /// <summary>A's dictionaries of smaller widths (a half, a quarter, an eighth of the SAE's, each at least 2k), for the splits.</summary>
    public string WidthsRoot => Path.Combine(Out, "sae-widths");
    public string SplitsDir => Path.Combine(Out, "splits");
    public const string ExplainRecord = "explain.manifest.json";

    /// <summary>The corpus files the later stages read: the user's, or the SDK documentation converted to JSON Lines.</summary>
    public IReadOnlyList<string> CorpusInputs =>
        options.Corpus.Count > 0 ? options.Corpus.Select(Path.GetFullPath).ToList() : [Path.Combine(CorpusDir, "dotnet-docs.jsonl.gz")];

    static string Rec(string dir) => Path.Combine(dir, Manifest.FileName);

    /// <summary>The stages in order, ending with the static site when <see cref="DemoOptions.ExportHtml"/>.</summary>
    public List<DemoStage> Stages(Action<string> log)
    {
        var stages = new List<DemoStage>();
        if (options.Corpus.Count == 0) stages.Add(CorpusStage(log));
        stages.Add(TokenizerStage());
        stages.Add(TokensStage());
        stages.Add(ModelStage());
        stages.Add(ActsStage());
        stages.Add(SaeStage());
        stages.Add(EvalStage());
        stages.Add(FeaturesStage());
        stages.Add(ExplainStage());
        if (options.Ab)
        {
            stages.Add(ModelBStage());
            stages.Add(ActsBStage());
            stages.Add(SaeBStage());
            stages.Add(UniversalStage());
            stages.Add(WidthsStage());
            stages.Add(SplitsStage());
        }
        if (options.ExportHtml) stages.Add(SiteStage());
        return stages;
    }

    DemoStage CorpusStage(Action<string> log)
    {
        string root = DotnetDocsCorpus.FindDotnetRoot();
        var files = DotnetDocsCorpus.FindDocumentationFiles(root);
        return new DemoStage
        {
            Name = "corpus", Folder = CorpusDir,
            Settings = new JsonObject { ["source"] = ".NET SDK XML documentation", ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()) },
            Run = ctx =>
            {
                log($"corpus: no --corpus given, so the demo reads the XML API documentation shipped with the .NET SDK: {files.Count} files under {Path.Combine(root, "packs")}");
                Directory.CreateDirectory(CorpusDir);
                var (docs, chars) = DotnetDocsCorpus.WriteJsonl(files, CorpusInputs[0], ctx.Progress);
                return new DemoStageResult($"{docs:N0} documents, {chars / 1e6:0.0}M characters from {files.Count} SDK documentation files → {CorpusInputs[0]}",
                    new JsonObject { ["documents"] = docs, ["characters"] = chars });
            },
        };
    }

    DemoStage TokenizerStage() => new()
    {
        Name = "tokenizer", Folder = TokenizerDir, Inputs = CorpusInputs, FastHashInputs = true,
        Settings = new JsonObject { ["vocab_size"] = p.VocabSize },
        Run = ctx =>
        {
            var r = TokenizerTrainStage.Run(new TokenizerTrainStageOptions { Inputs = CorpusInputs, VocabSize = p.VocabSize, OutDir = TokenizerDir, Force = true },
                ctx.Progress, ctx.Cancel);
            return new DemoStageResult($"{r.Tokenizer.VocabSize:N0} tokens learned from {r.Corpus.Documents:N0} documents ({r.Corpus.Bytes / 1e6:0.0} MB)",
                new JsonObject { ["vocab_size"] = r.Tokenizer.VocabSize, ["documents"] = r.Corpus.Documents, ["bytes"] = r.Corpus.Bytes });
        },
    };

    DemoStage TokensStage() => new()
    {
        Name = "tokens", Folder = TokensDir, Inputs = [.. CorpusInputs, Rec(TokenizerDir)], FastHashInputs = true,
        Settings = new JsonObject { ["valid_fraction"] = p.ValidFraction, ["seed"] = options.Seed },
        Run = ctx =>
        {
            var meta = CorpusPrepareStage.Run(new CorpusPrepareStageOptions
            {
                Inputs = CorpusInputs, Tokenizer = TokenizerDir, OutDir = TokensDir,
                Store = new TokenStoreOptions { ValidFraction = p.ValidFraction, Seed = options.Seed, Force = true },
            }, ctx.Progress, ctx.Cancel).Meta;
            long train = meta.Splits["train"].Tokens, valid = meta.Splits["valid"].Tokens;
            return new DemoStageResult($"{DemoFormat.Count(train)} train and {DemoFormat.Count(valid)} validation tokens ({meta.Dtype})",
                new JsonObject { ["train_tokens"] = train, ["valid_tokens"] = valid });
        },
    };

    TrainOptions ModelOptions => ModelOptionsFor(options.Seed);

    TrainOptions ModelOptionsFor(ulong seed) => new()
    {
        Preset = p.ModelPreset, Context = p.Context, Tokens = p.ModelTokens, Batch = p.ModelBatch, LearningRate = p.LearningRate,
        WarmupSteps = p.WarmupSteps, EvalEvery = p.EvalEvery, Seed = seed,
        CheckpointEvery = 100,
    };

    DemoStage ModelStage() => new()
    {
        Name = "model", Folder = ModelDir, Inputs = [Rec(TokensDir)],
        Settings = (JsonObject)JsonSerializer.SerializeToNode(ModelOptions)!,
        Run = ctx =>
        {
            bool resume = ctx.CanResume && ModelTrainStage.HasCheckpoint(ModelDir);
            var r = ModelTrainStage.Run(new ModelTrainStageOptions { Data = TokensDir, OutDir = ModelDir, Train = ModelOptions, Resume = resume, Force = !resume, Tokenizer = TokenizerDir },
                ctx.Progress, ctx.Cancel);
            long parameters = r.Config.ParameterCount();
            var results = new JsonObject
            {
                ["tokens"] = r.Tokens, ["train_loss"] = r.Train.LastLoss, ["tokens_per_second"] = Math.Round(r.Train.TokensPerSecond), ["parameters"] = parameters,
            };
            if (r.Train.ValidationLoss is double v) results["val_loss"] = v;
            string loss = r.Train.ValidationLoss is double vl ? $"val loss {vl:0.00} (perplexity {Math.Exp(vl):0.0})" : $"train loss {r.Train.LastLoss:0.00}";
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"{r.Options.Preset} ({parameters / 1e6:0.00}M parameters), {DemoFormat.Count(r.Tokens)} tokens, {loss}, {r.Train.TokensPerSecond:N0} tok/s"), results);
        },
    };

    DemoStage ActsStage() => new()
    {
        Name = "acts", Folder = ActsDir, Inputs = [Rec(ModelDir), Rec(TokensDir)],
        Settings = new JsonObject { ["hook"] = DemoPreset.Hook.Name, ["tokens"] = p.HarvestTokens, ["dtype"] = "BF16", ["seed"] = options.Seed },
        Run = ctx =>
        {
            // Ctrl-C leaves finished shards and layout.json; the same attempt continues after them.
            bool resume = ctx.CanResume && File.Exists(Path.Combine(ActsDir, "layout.json"));
            var h = Harvester.Harvest(ModelDir, TokensDir, ActsDir,
                new HarvestOptions { Hook = DemoPreset.Hook, Tokens = p.HarvestTokens, DType = DType.BF16, Seed = options.Seed },
                ctx.Progress, ctx.Cancel, overwrite: true, resume: resume);
            return new DemoStageResult($"{DemoFormat.Count(h.Rows)} activations × {h.Width} at {DemoPreset.Hook} from {DemoFormat.Count(h.ModelTokens)} model tokens (BF16, {h.Rows * h.Width * 2 / 1e6:0} MB, shuffled)",
                new JsonObject { ["rows"] = h.Rows, ["d"] = h.Width, ["model_tokens"] = h.ModelTokens });
        },
    };

    SaeTrainingOptions SaeOptions => SaeOptionsFor([p.SaeWidth], options.Seed);

    SaeTrainingOptions SaeOptionsFor(int[] widths, ulong seed) => new()
    {
        Architecture = SaeArchitecture.TopK, Widths = widths, Ks = [p.SaeK], BatchSize = p.SaeBatch, Tokens = p.SaeTokens,
        WarmupSteps = p.SaeWarmupSteps, DeadWindowTokens = p.SaeDeadWindow, Seed = seed, CheckpointEverySteps = 100,
    };

    DemoStage SaeStage() => new()
    {
        Name = "sae", Folder = SaeRoot, Inputs = [Rec(ActsDir)],
        Settings = SaeOptions.ToJson(),
        Run = ctx =>
        {
            bool resume = ctx.CanResume && Directory.Exists(Path.Combine(SaeRoot, SaeTrainer.CheckpointDir));
            var results = SaeTrainStage.Run(new SaeTrainStageOptions { Acts = ActsDir, OutDir = SaeRoot, Training = SaeOptions, Resume = resume, Force = !resume },
                ctx.Progress, ctx.Cancel).Saes;
            var m = results[0].Metrics;
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"{p.SaeWidth:N0} latents (top-{p.SaeK}) on {DemoFormat.Count(p.SaeTokens)} activations: explained variance {m.ExplainedVariance:0.000}, L0 {m.L0:0.0}, dead {m.Dead}"),
                new JsonObject { ["directory"] = results[0].Directory });
        },
    };

    DemoStage EvalStage() => new()
    {
        Name = "eval", Folder = EvalDir, Inputs = [Rec(SaeRoot), Rec(ModelDir), Rec(TokensDir), Rec(ActsDir)],
        Settings = new JsonObject { ["windows"] = p.EvalWindows, ["hook"] = DemoPreset.Hook.Name },
        Run = ctx =>
        {
            // The activation metrics on the rows the SAE trainer held out (the store's last: the SAE never trained on
            // them); the model-spliced losses on the validation split, which neither the harvest nor the SAE saw.
            var r = SaeEvalStage.Run(new SaeEvalStageOptions
            {
                Sae = SaeDir, Acts = ActsDir, HeldOut = true, Model = ModelDir, Data = TokensDir,
                Splice = new SpliceOptions { Windows = p.EvalWindows, Hook = DemoPreset.Hook }, Out = Path.Combine(EvalDir, "eval.json"),
            }, ctx.Progress, ctx.Cancel);
            var metrics = r.Metrics!;
            var l = r.Splice!.Losses;
            var results = new JsonObject
            {
                ["explained_variance"] = metrics.ExplainedVariance, ["l0"] = metrics.L0, ["dead"] = metrics.Dead, ["ultralow"] = metrics.Ultralow,
                ["ce_loss_score"] = l.CeLossScoreZero, ["ce_loss_score_mean"] = l.CeLossScoreMean, ["ce_clean"] = l.CeClean, ["ce_sae"] = l.CeSae, ["ce_zero"] = l.CeZero,
                ["kl_score"] = l.KlScoreZero, ["latents"] = r.Sae.DSae, ["holdout_rows"] = metrics.Tokens,
            };
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"explained variance {metrics.ExplainedVariance:0.000}, L0 {metrics.L0:0.0}, CE loss score {l.CeLossScoreZero:0.000} (loss {l.CeClean:0.000} → {l.CeSae:0.000} spliced, {l.CeZero:0.000} zero-ablated)"),
                results);
        },
    };

    DemoStage FeaturesStage() => new()
    {
        Name = "features", Folder = FeaturesDir, Inputs = [Rec(SaeRoot), Rec(ModelDir), Rec(TokensDir)],
        Settings = new JsonObject { ["tokens"] = p.FeatureTokens, ["split"] = "train", ["neurons"] = true },
        Run = ctx =>
        {
            var s = FeatureBuilder.Build(SaeDir, ModelDir, TokensDir, FeaturesDir,
                new FeatureBuildOptions { Tokens = p.FeatureTokens, Tokenizer = ModelDir }, ctx.Progress, ctx.Cancel);
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"{s.Features:N0} features ({s.DeadFeatures:N0} dead) and {s.Neurons:N0} neurons over {DemoFormat.Count(s.Tokens)} tokens, store {s.StoreBytes / 1e6:0.0} MB"),
                new JsonObject { ["features"] = s.Features, ["dead"] = s.DeadFeatures, ["neurons"] = s.Neurons, ["tokens"] = s.Tokens });
        },
    };

    /// <summary>The built-in explainer's results and failures: an explain stage that may not resume starts from none.</summary>
    void DeleteExplanations()
    {
        string results = Path.Combine(FeaturesDir, ExplanationFiles.Default);
        foreach (string file in new[] { results, ExplanationStore.FailuresPathFor(results) })
            if (File.Exists(file)) File.Delete(file);
    }

    DemoStage ExplainStage() => new()
    {
        Name = "explain", Folder = FeaturesDir, RecordFile = ExplainRecord, Inputs = [Rec(FeaturesDir)],
        Settings = new JsonObject { ["explainer"] = "builtin", ["seed"] = 0 },
        Run = ctx =>
        {
            // Continue an interrupted attempt's file; otherwise start from none.
            if (!ctx.CanResume) DeleteExplanations();
            var r = Explain.ExplainStage.RunAsync(FeaturesDir, new ExplainSettings(), ctx.Progress, ctx.Cancel).GetAwaiter().GetResult();
            var features = r.Kinds.FirstOrDefault(k => k.Kind == "feature");
            var neurons = r.Kinds.FirstOrDefault(k => k.Kind == "neuron");
            string Kind(KindSummary? k, string name) => k is null ? "" : string.Create(CultureInfo.InvariantCulture,
                $"; {name}: simulation r {k.SimulationPearson:0.00} vs top-token r {k.TopTokenPearson:0.00}");
            var results = new JsonObject { ["explained"] = r.Summary.Explained + r.Summary.Skipped, ["failed"] = r.Summary.Failed };
            if (features != null) { results["feature_simulation_pearson"] = features.SimulationPearson; results["feature_top_token_pearson"] = features.TopTokenPearson; }
            if (neurons != null) { results["neuron_simulation_pearson"] = neurons.SimulationPearson; results["neuron_top_token_pearson"] = neurons.TopTokenPearson; }
            return new DemoStageResult($"{r.Summary.Explained + r.Summary.Skipped:N0} units explained by the built-in explainer{Kind(features, "features")}{Kind(neurons, "neurons")}", results);
        },
    };

    /// <summary>Model B: A's shape, data and budget from the next seed.</summary>
    DemoStage ModelBStage() => new()
    {
        Name = "model-b", Folder = ModelBDir, Inputs = [Rec(TokensDir)],
        Settings = (JsonObject)JsonSerializer.SerializeToNode(ModelOptionsFor(options.Seed + 1))!,
        Run = ctx =>
        {
            bool resume = ctx.CanResume && ModelTrainStage.HasCheckpoint(ModelBDir);
            var r = ModelTrainStage.Run(new ModelTrainStageOptions { Data = TokensDir, OutDir = ModelBDir, Train = ModelOptionsFor(options.Seed + 1), Resume = resume, Force = !resume, Tokenizer = TokenizerDir },
                ctx.Progress, ctx.Cancel);
            string loss = r.Train.ValidationLoss is double vl ? $"val loss {vl:0.00}" : $"train loss {r.Train.LastLoss:0.00}";
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture, $"model B (seed {options.Seed + 1}), {DemoFormat.Count(r.Tokens)} tokens, {loss}"),
                new JsonObject { ["tokens"] = r.Tokens, ["val_loss"] = r.Train.ValidationLoss });
        },
    };

    DemoStage ActsBStage() => new()
    {
        Name = "acts-b", Folder = ActsBDir, Inputs = [Rec(ModelBDir), Rec(TokensDir)],
        Settings = new JsonObject { ["hook"] = DemoPreset.Hook.Name, ["tokens"] = p.HarvestTokens, ["dtype"] = "BF16", ["seed"] = options.Seed + 1 },
        Run = ctx =>
        {
            bool resume = ctx.CanResume && File.Exists(Path.Combine(ActsBDir, "layout.json"));
            var h = Harvester.Harvest(ModelBDir, TokensDir, ActsBDir,
                new HarvestOptions { Hook = DemoPreset.Hook, Tokens = p.HarvestTokens, DType = DType.BF16, Seed = options.Seed + 1 },
                ctx.Progress, ctx.Cancel, overwrite: true, resume: resume);
            return new DemoStageResult($"{DemoFormat.Count(h.Rows)} activations of model B", new JsonObject { ["rows"] = h.Rows });
        },
    };

    DemoStage SaeBStage() => SaeTrainingStage("sae-b", ActsBDir, SaeBRoot, SaeOptionsFor([p.SaeWidth], options.Seed + 1), "model B's dictionary");

    /// <summary>The widths below the SAE's for the split families: a half, a quarter and an eighth, each at least 2k (TopK needs room).</summary>
    internal int[] SmallerWidths => new[] { p.SaeWidth / 8, p.SaeWidth / 4, p.SaeWidth / 2 }.Where(w => w >= 2 * p.SaeK).ToArray();

    DemoStage WidthsStage() => SaeTrainingStage("sae-widths", ActsDir, WidthsRoot, SaeOptionsFor(SmallerWidths, options.Seed), "A's smaller dictionaries");

    DemoStage SaeTrainingStage(string name, string acts, string root, SaeTrainingOptions training, string what) => new()
    {
        Name = name, Folder = root, Inputs = [Rec(acts)],
        Settings = training.ToJson(),
        Run = ctx =>
        {
            bool resume = ctx.CanResume && Directory.Exists(Path.Combine(root, SaeTrainer.CheckpointDir));
            var saes = SaeTrainStage.Run(new SaeTrainStageOptions { Acts = acts, OutDir = root, Training = training, Resume = resume, Force = !resume }, ctx.Progress, ctx.Cancel).Saes;
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {string.Join(", ", saes.Select(s => $"{s.Name} (explained variance {s.Metrics.ExplainedVariance:0.000})"))}"),
                new JsonObject { ["directories"] = new JsonArray(saes.Select(s => (JsonNode)s.Directory).ToArray()) });
        },
    };

    /// <summary>A's features matched to B's over the same tokens (A = OUT, B = OUT/b as run folders), attached to A's store.</summary>
    DemoStage UniversalStage() => new()
    {
        Name = "universal", Folder = UniversalDir, Inputs = [Rec(SaeRoot), Rec(ModelDir), Rec(SaeBRoot), Rec(ModelBDir), Rec(TokensDir), Rec(FeaturesDir)],
        Settings = new JsonObject { ["tokens"] = p.FeatureTokens },
        Run = ctx =>
        {
            var (_, summary) = Universality.FeatureUniversalityStage.Run(new Universality.FeatureUniversalityOptions
            {
                A = Out, B = BDir, Data = TokensDir, Tokens = p.FeatureTokens, OutDir = UniversalDir, Force = true, FeaturesA = FeaturesDir,
            }, ctx.Progress, ctx.Cancel);
            double? Median(string key) => summary[key] is JsonNode n ? (double)n : null;
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"median best correlation A → B: features {Median("median_max_corr_features"):0.00}, neurons {Median("median_max_corr_neurons"):0.00}"),
                new JsonObject { ["median_max_corr_features"] = Median("median_max_corr_features"), ["median_max_corr_neurons"] = Median("median_max_corr_neurons") });
        },
    };

    /// <summary>Split families and the map across A's dictionaries (the smaller widths and the SAE), attached to A's store.</summary>
    DemoStage SplitsStage() => new()
    {
        Name = "splits", Folder = SplitsDir, Inputs = [Rec(WidthsRoot), Rec(SaeRoot), Rec(ActsDir), Rec(FeaturesDir)],
        Settings = new JsonObject { ["tokens"] = p.FeatureTokens, ["threshold"] = 0.4 },
        Run = ctx =>
        {
            var r = Universality.FeatureSplitsStage.Run(new Universality.FeatureSplitsOptions
            {
                Saes = [WidthsRoot, SaeDir], Acts = ActsDir, Tokens = p.FeatureTokens, Features = [FeaturesDir], OutDir = SplitsDir, Force = true,
            }, ctx.Progress, ctx.Cancel);
            return new DemoStageResult(string.Create(CultureInfo.InvariantCulture,
                $"widths {string.Join(" → ", r.Graph.Widths)}: {r.Graph.Families.Count:N0} split families, a map of {r.Summary["map_points"]} latents"),
                new JsonObject { ["families"] = r.Graph.Families.Count, ["map_points"] = r.Summary["map_points"]?.DeepClone() });
        },
    };

    DemoStage SiteStage() => new()
    {
        Name = "site", Folder = SiteDir,
        // The whole feature store folder (each file by size, time and ends): it holds the stages' records and every
        // explainer run's file, so explanations added after the demo (`mechanist explain --llm`) export the site again.
        Inputs = [FeaturesDir], FastHashInputs = true,
        Settings = new JsonObject { ["format"] = "static html", ["model"] = "f32" },
        Run = ctx =>
        {
            var site = StaticExport.Export(FeaturesDir, SiteDir, ctx.Progress, ctx.Cancel, WebPrecision.F32);
            return new DemoStageResult($"static site, {site.Bytes / 1e6:0.0} MB → {site.IndexPage}");
        },
    };
}
