using System.Diagnostics;
using System.Text.Json.Nodes;
using Mechanist.Sae;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Features.Statistics;

/// <summary>Settings of <see cref="FeatureBuilder.Build(string, string, string, string, FeatureBuildOptions, IProgressReporter, CancellationToken)"/>.</summary>
public sealed record FeatureBuildOptions
{
    /// <summary>Tokens to analyse, taken as consecutive windows from the start of the split (fewer if the split is shorter).</summary>
    public long Tokens { get; init; } = 10_000_000;
    public StatisticsSettings Statistics { get; init; } = new();
    /// <summary>Random contexts (the same positions for every unit): the explain stage's non-activating examples.</summary>
    public int RandomExamples { get; init; } = 20;
    /// <summary>Tokens per window the model sees; default: the SAE's context_size, else the model's context.</summary>
    public int? Context { get; init; }
    /// <summary>Tokens per forward pass (rounded down to whole windows, at least one).</summary>
    public int BatchTokens { get; init; } = 4096;
    /// <summary>Also keep statistics for the model's own neurons at the hook (<see cref="HookSite.MlpPost"/> only).</summary>
    public bool Neurons { get; init; } = true;
    public int LogitTokens { get; init; } = 10;
    public int Nearest { get; init; } = 10;
    public string Split { get; init; } = "train";
    /// <summary>Hook point; default: the SAE's (its cfg.json hook_name), else blocks.0.mlp.hook_post.</summary>
    public HookPoint? Hook { get; init; }
    /// <summary>Tokenizer folder or tokenizer.json for display strings; default: the model folder, then the token store's recorded tokenizer.</summary>
    public string? Tokenizer { get; init; }

    public void Validate()
    {
        if (Tokens < 1) throw new UserError("--tokens must be ≥ 1");
        if (BatchTokens < 1) throw new UserError("--batch-tokens must be ≥ 1");
        if (LogitTokens < 0 || Nearest < 0) throw new UserError("--logit-tokens and --nearest must be ≥ 0");
    }
}

/// <summary>What a build did.</summary>
public sealed record FeatureBuildSummary(string Directory, long Tokens, int Context, int Features, int Neurons, int DeadFeatures,
    double MeanL0, double Seconds, double PassSeconds, long StoreBytes)
{
    /// <summary>Explanation files of an earlier store in the folder, removed with it: they described its units.</summary>
    public IReadOnlyList<string> RemovedExplanations { get; init; } = [];

    /// <summary>Tokens per second of the activation pass (model + SAE + statistics).</summary>
    public double TokensPerSecond => PassSeconds > 0 ? Tokens / PassSeconds : 0;
}

/// <summary>
/// Builds a feature store (docs/METHODS.md §3): runs the model with the SAE over N tokens and keeps, per feature and
/// per neuron at the hook, the statistics of <see cref="UnitStatistics"/>, direct-path logit effects
/// (<see cref="LogitEffectCalculator"/>) and nearest neighbours (<see cref="NearestNeighbours"/>).
/// <code>
/// var summary = FeatureBuilder.Build(saeDir, modelDir, tokenStoreDir, outDir, new FeatureBuildOptions { Tokens = 1_000_000 }, progress);
/// using var store = FeatureStore.Open(outDir);
/// </code>
/// </summary>
public static class FeatureBuilder
{
    public const string Stage = "features build";

    /// <summary>Loads the SAE, the model and the token store from their folders and builds the store in <paramref name="outDir"/>.</summary>
    public static FeatureBuildSummary Build(string saeDir, string modelDir, string tokenStoreDir, string outDir,
        FeatureBuildOptions options, IProgressReporter progress, CancellationToken cancel = default)
    {
        options.Validate();
        var sae = SaeLensFormat.Load(saeDir);
        var model = ModelFiles.Load(modelDir);
        using var tokens = TokenStore.Open(tokenStoreDir, options.Split);
        var vocabulary = Vocabulary(options.Tokenizer, modelDir, tokenStoreDir, tokens, model.Config.Vocab);
        var manifest = new Manifest { Stage = Stage };
        manifest.AddInput(saeDir);
        manifest.AddInput(modelDir);
        manifest.AddInput(tokenStoreDir, fastHash: true);
        var source = new FeatureStoreSource { Model = Path.GetFullPath(modelDir), Sae = Path.GetFullPath(saeDir) };
        var earlier = Explain.ExplanationFiles.InStore(outDir).Select(f => Path.GetFileName(f)).ToList();
        return Build(model, sae, tokens, vocabulary, outDir, source, options, progress, cancel, manifest) with { RemovedExplanations = earlier };
    }

    /// <summary>Builds from loaded parts; <paramref name="manifest"/> (inputs filled in) is completed and saved beside the store.</summary>
    public static FeatureBuildSummary Build(Transformer<float> model, SparseAutoencoder sae, TokenStore tokens, IReadOnlyList<string> vocabulary,
        string outDir, FeatureStoreSource source, FeatureBuildOptions options, IProgressReporter progress, CancellationToken cancel = default,
        Manifest? manifest = null)
    {
        var clock = Stopwatch.StartNew();
        var settings = options.Statistics.Validate();
        var config = model.Config;
        var hook = config.Check(options.Hook ?? sae.Metadata.Hook ?? HookPoint.MlpPost(0));
        int width = hook.Width(config);
        if (width != sae.DIn) throw new UserError($"the SAE reads {sae.DIn} values per token but {hook} of this model has {width}");
        if (tokens.VocabSize > config.Vocab) throw new UserError($"the token store's vocabulary ({tokens.VocabSize}) is larger than the model's ({config.Vocab})");
        if (vocabulary.Count != config.Vocab) throw new ArgumentException($"vocabulary has {vocabulary.Count} strings, the model {config.Vocab} tokens");
        int context = options.Context ?? (sae.Metadata.ContextSize is int c && c >= 1 && c <= config.Context ? c : config.Context);
        if (context < 1 || context > config.Context) throw new UserError($"--context {context} must be in [1, {config.Context}] (the model's context)");
        if (options.RandomExamples < 0) throw new UserError("--random must be ≥ 0");
        long windows = Math.Min(options.Tokens / context, tokens.Count / context);
        if (windows < 1) throw new UserError($"need at least one window of {context} tokens: asked for {options.Tokens:N0} tokens, the {tokens.Split} split holds {tokens.Count:N0}");
        if (windows > int.MaxValue) throw new UserError("too many windows");
        bool atNeurons = hook.Site == HookSite.MlpPost;
        bool neurons = options.Neurons && atNeurons;

        var rng = new Rng(settings.Seed).Stream(0xFEA7);
        var picks = Enumerable.Range(0, options.RandomExamples).Select(_ => ((long)rng.NextInt((int)windows), rng.NextInt(context)))
            .Order().ToArray();
        var featureStats = new UnitStatistics(UnitKind.Feature, sae.DSae, context, settings, picks);
        var neuronStats = neurons ? new UnitStatistics(UnitKind.Neuron, width, context, settings, picks) : null;
        var tokenCounts = new long[config.Vocab];
        var sources = SourceBreakdown.For(tokens, windows * context, sae.DSae, neurons ? width : 0);

        // The pass: model to the hook, SAE encode, statistics. Each stage uses all cores in turn.
        int batchWindows = Math.Max(1, options.BatchTokens / context);
        var ids = new int[batchWindows * context];
        double l0Sum = 0;
        var passClock = Stopwatch.StartNew();
        using (var task = progress.Start("features: model + SAE", windows * context, "tok"))
        {
            for (long first = 0; first < windows; first += batchWindows)
            {
                cancel.ThrowIfCancellationRequested();
                int n = (int)Math.Min(batchWindows, windows - first);
                var batch = ids.AsSpan(0, n * context);
                tokens.ReadWindow(first * context, batch);
                foreach (int t in batch) tokenCounts[t]++;
                var acts = model.RunToHook(batch.ToArray(), n, context, hook).Reshape(-1, width);
                neuronStats?.Add(first, BatchActivations.Dense(acts));
                var codes = sae.Encode(acts);
                featureStats.Add(first, BatchActivations.Sparse(codes));
                sources?.Add(first * context, BatchActivations.Sparse(codes), neurons ? BatchActivations.Dense(acts) : null);
                l0Sum += codes.L0 * n;
                task.Advance(n * context);
                task.SetStatus($"L0 {l0Sum / (first + n):0.0}");
            }
        }
        double passSeconds = passClock.Elapsed.TotalSeconds;

        // Directions into the residual stream, for logit effects; decoder rows (or W_out rows) for neighbours.
        var decoder = sae.WDec.Value;
        Tensor? wOut = atNeurons ? model.Blocks[hook.Layer].MlpOutWeight?.Value : null;
        var featureDirections = ResidualDirections.Of(model, hook, decoder);
        var include = tokenCounts.Select(c => c > 0).ToArray();
        var gain = model.FinalNormGain.Value.Span;
        var unembed = model.UnembeddingRows.Value;
        var featureLogits = featureDirections != null
            ? LogitEffectCalculator.Compute(featureDirections, gain, unembed, include, options.LogitTokens, settings.HistogramBins) : null;
        var featureNearest = NearestNeighbours.Compute(decoder, options.Nearest);
        var neuronLogits = neurons ? LogitEffectCalculator.Compute(wOut!, gain, unembed, include, options.LogitTokens, settings.HistogramBins) : null;
        var neuronNearest = neurons ? NearestNeighbours.Compute(wOut!, options.Nearest) : null;

        long analysed = windows * context;
        source = source with { Hook = hook.Name, TokensAnalysed = analysed };
        int dead = 0;
        using (var writer = FeatureStoreWriter.Create(outDir, source, vocabulary, sae.DSae, neurons ? width : 0))
        {
            void Write(UnitStatistics stats, LogitEffects[]? logits, Neighbour[][] nearest, IProgressTask task)
            {
                Parallel.For(0, stats.Units, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Threads, CancellationToken = cancel }, u =>
                {
                    var record = stats.Record(u, tokens.ReadWindow) with { Logits = logits?[u] ?? LogitEffects.Empty, Nearest = nearest[u] };
                    writer.Add(record);
                    task.Advance(1);
                });
            }
            using (var task = progress.Start("features: writing store", sae.DSae + (neurons ? width : 0), "unit"))
            {
                Write(featureStats, featureLogits, featureNearest, task);
                if (neuronStats != null) Write(neuronStats, neuronLogits, neuronNearest!, task);
            }
            sources?.WriteTo(writer);
            writer.Complete();
        }
        for (int u = 0; u < sae.DSae; u++) if (featureStats.Count(u) == 0) dead++;

        manifest ??= new Manifest { Stage = Stage };
        manifest.Settings["tokens"] = analysed;
        manifest.Settings["context"] = context;
        manifest.Settings["split"] = tokens.Split;
        manifest.Settings["hook"] = hook.Name;
        manifest.Settings["top_examples"] = settings.TopExamples;
        manifest.Settings["context_radius"] = settings.ContextRadius;
        manifest.Settings["intervals"] = settings.Intervals;
        manifest.Settings["samples_per_interval"] = settings.SamplesPerInterval;
        manifest.Settings["histogram_bins"] = settings.HistogramBins;
        manifest.Settings["random_examples"] = options.RandomExamples;
        manifest.Settings["logit_tokens"] = options.LogitTokens;
        manifest.Settings["nearest"] = options.Nearest;
        manifest.Settings["seed"] = settings.Seed;
        manifest.Settings["neurons"] = neurons;
        foreach (string f in Directory.GetFiles(outDir).Select(Path.GetFileName).Order()!)
            if (f != Manifest.FileName) manifest.Outputs.Add(new ManifestFile(f!));
        manifest.Contents["features"] = sae.DSae;
        manifest.Contents["neurons"] = neurons ? width : 0;
        manifest.Contents["dead_features"] = dead;
        manifest.Contents["mean_l0"] = windows > 0 ? l0Sum / windows : 0;
        manifest.Contents["logit_effects"] = featureDirections != null ? "direct path: d·W_out·π·diag(γ_f)·W_U − median" : "none (hook does not write to the residual stream)";
        manifest.Contents["neuron_neighbours"] = "cosine of W_out rows";
        manifest.SaveTo(outDir);

        long bytes = Directory.GetFiles(outDir).Sum(f => new FileInfo(f).Length);
        return new FeatureBuildSummary(Path.GetFullPath(outDir), analysed, context, sae.DSae, neurons ? width : 0, dead,
            windows > 0 ? l0Sum / windows : 0, clock.Elapsed.TotalSeconds, passSeconds, bytes);
    }

    /// <summary>
    /// Display strings for every token id of the model: from <paramref name="tokenizer"/>, else the model folder,
    /// else the tokenizer path recorded in the token store, else the token store folder. The tokenizer must be the
    /// one that wrote the token store (same hash).
    /// </summary>
    public static IReadOnlyList<string> Vocabulary(string? tokenizer, string modelDir, string tokenStoreDir, TokenStore store, int modelVocab)
    {
        var candidates = new List<string>();
        if (tokenizer != null) candidates.Add(tokenizer);
        else
        {
            candidates.Add(modelDir);
            if (RecordedTokenizer(tokenStoreDir) is string recorded) candidates.Add(recorded);
            candidates.Add(tokenStoreDir);
        }
        foreach (string path in candidates)
        {
            bool present = File.Exists(path) || File.Exists(Path.Combine(path, TokenizerFiles.VocabFile)) || File.Exists(Path.Combine(path, TokenizerFiles.HuggingFaceFile));
            if (!present)
            {
                if (tokenizer != null) throw new UserError($"--tokenizer {tokenizer}: no tokenizer there (vocab.json + merges.txt, or tokenizer.json)");
                continue;
            }
            var bpe = TokenizerFiles.Load(path);
            if (bpe.Hash != store.TokenizerHash)
                throw new UserError($"the tokenizer in {path} is not the one that wrote the token store {tokenStoreDir} (hash {bpe.Hash[..12]}… vs {store.TokenizerHash[..Math.Min(12, store.TokenizerHash.Length)]}…)");
            return Enumerable.Range(0, modelVocab).Select(id => id < bpe.VocabSize ? bpe.TokenText(id) : $"<{id}>").ToArray();
        }
        throw new UserError($"no tokenizer found for display strings (looked in {string.Join(", ", candidates)}); pass --tokenizer");
    }

    static string? RecordedTokenizer(string tokenStoreDir)
    {
        try
        {
            var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(tokenStoreDir, TokenStoreWriter.MetaFile)));
            return meta?["tokenizer"]?["path"]?.GetValue<string>();
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }
}
