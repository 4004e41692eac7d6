using Mechanist.Features;

namespace Mechanist.Explain;

/// <summary>What `mechanist explain` (and the demo) asks of the explain stage.</summary>
public sealed record ExplainSettings
{
    /// <summary>The chat server to explain and simulate with; null for the built-in explainer and rule simulator.</summary>
    public ChatOptions? Llm { get; init; }
    public PromptStyle Style { get; init; } = PromptStyle.Marked;
    /// <summary>Seed of the split into explanation and held-out examples.</summary>
    public int Seed { get; init; }
    /// <summary>Units in flight at once with an LLM (the built-in explainer uses every core).</summary>
    public int Concurrency { get; init; } = 4;
    /// <summary>"feature" or "neuron" to explain only that kind; null for all.</summary>
    public string? Kind { get; init; }
    public IReadOnlySet<int>? Ids { get; init; }
    public int? Limit { get; init; }
    /// <summary>Results file; null for this explainer run's own file in the feature store (or beside evidence.jsonl): <see cref="ExplanationFiles.FileName"/>.</summary>
    public string? OutPath { get; init; }
}

public sealed record ExplainStageResult(string OutPath, RunSummary Summary, IReadOnlyList<KindSummary> Kinds, ChatUsage? Usage);

/// <summary>
/// The explain stage as one call: read units from a feature store (or an evidence.jsonl), explain and score
/// each, append results to the explainer run's own file as they finish (<see cref="ExplanationFiles"/>: the
/// built-in explainer's beside an LLM's, each resumable), resume what an earlier run of the same explainer left.
/// </summary>
public static class ExplainStage
{
    const string StoreManifest = "features.json", EvidenceFileName = "evidence.jsonl";

    /// <summary>Where results go for <paramref name="features"/>: this explainer run's file in the store folder, or beside the evidence file.</summary>
    public static string OutPath(string features, ExplainSettings settings) =>
        settings.OutPath ?? Path.Combine(IsStore(features) ? Path.GetFullPath(features) : Path.GetDirectoryName(EvidencePath(features))!,
            ExplanationFiles.FileName(settings.Llm is null ? BuiltinExplainer.Name : LlmExplainer.Name, settings.Llm?.Model, settings.Seed));

    public static async Task<ExplainStageResult> RunAsync(string features, ExplainSettings settings, IProgressReporter progress, CancellationToken cancel)
    {
        if (settings.Limit is < 0) throw new UserError("--limit must be at least 0");
        if (settings.Kind is not (null or "feature" or "neuron")) throw new UserError($"--kind: expected feature or neuron, not '{settings.Kind}'");
        if (settings.Concurrency < 1) throw new UserError($"--concurrency {settings.Concurrency}: must be at least 1");
        bool isStore = IsStore(features);
        string? evidence = isStore ? null : EvidencePath(features);
        if (evidence is not null && File.ReadLines(evidence).All(string.IsNullOrWhiteSpace))
            throw new UserError($"{evidence}: no units to explain (the file is empty; expected one unit's evidence per line)");
        string outPath = OutPath(features, settings);

        // Cut off a torn last line (a write interrupted by a crash) before the feature store reads the file.
        ExplanationStore.Open(outPath).Dispose();
        using var featureStore = isStore ? FeatureStore.Open(features) : null;
        var (units, total) = featureStore is not null ? FromStore(featureStore, settings) : FromEvidence(evidence!, settings);

        using var chat = settings.Llm is null ? null : new ChatClient(settings.Llm);
        IExplainer explainer = chat is null ? new BuiltinExplainer() : new LlmExplainer(chat, settings.Style);
        ISimulator simulator = chat is null ? new RuleSimulator() : new LlmSimulator(chat);
        IDetector detector = chat is null ? new RuleSimulator() : new LlmDetector(chat);

        using var store = ExplanationStore.Open(outPath);
        RefuseMixing(store, chat is null ? BuiltinExplainer.Name : LlmExplainer.Name, chat?.Options.Model, settings.Seed);

        using var bar = progress.Start("explaining", total, "unit");
        var run = new ExplainRun(explainer, simulator, detector)
        {
            Seed = settings.Seed,
            Concurrency = chat is null ? Numerics.Parallelism.Threads : settings.Concurrency,
            Server = settings.Llm?.BaseUrl,
            OnSkipped = _ => bar.Advance(1),
            OnResult = _ =>
            {
                bar.Advance(1);
                if (chat?.Usage is { } u)
                    bar.SetStatus($"tokens {u.PromptTokens:N0} in / {u.CompletionTokens:N0} out, {u.FailedRequests} failed requests");
            },
        };
        var summary = await run.RunAsync(units, store, cancel).ConfigureAwait(false);
        return new ExplainStageResult(outPath, summary, KindSummary.Of(store.Results), chat?.Usage);
    }

    /// <summary>
    /// Resuming must not mix explainers, models or splits in one file: their scores are not comparable. Each run
    /// has its own file in a store, so this refuses only a --out file that another run wrote.
    /// </summary>
    static void RefuseMixing(ExplanationStore store, string explainer, string? model, int seed)
    {
        var other = store.Results.FirstOrDefault(r => r.Explanation != BuiltinExplainer.NeverFires
            && (r.Explainer != explainer || r.Model != model || r.Seed != seed));
        if (other is not null)
            throw new UserError($"{store.Path} already holds explanations by {other.Explainer}{(other.Model is null ? "" : " model " + other.Model)} " +
                                $"with seed {other.Seed}; this run is {explainer}{(model is null ? "" : " model " + model)} " +
                                $"with seed {seed}: give --out another file");
    }

    static (IEnumerable<UnitEvidence>, long) FromStore(FeatureStore store, ExplainSettings s)
    {
        UnitKind? kind = s.Kind is null ? null : s.Kind == "neuron" ? UnitKind.Neuron : UnitKind.Feature;
        var units = FeatureStoreEvidence.Read(store, kind, s.Ids is null ? null : s.Ids.Contains);
        long total = store.Kinds.Where(k => kind is null || k == kind)
            .Sum(k => (long)(s.Ids is null ? store.UnitCount(k) : s.Ids.Count(id => store.Contains(k, id))));
        return Limit(units, total, s.Limit);
    }

    static (IEnumerable<UnitEvidence>, long) FromEvidence(string path, ExplainSettings s)
    {
        var units = EvidenceFile.Read(path);
        if (s.Kind is { } kind) units = units.Where(u => u.Kind == kind);
        if (s.Ids is { } ids) units = units.Where(u => ids.Contains(u.Id));
        long total = s.Ids?.Count ?? (s.Kind is null ? File.ReadLines(path).Count(l => !string.IsNullOrWhiteSpace(l)) : 0);
        return Limit(units, total, s.Limit);
    }

    static (IEnumerable<UnitEvidence>, long) Limit(IEnumerable<UnitEvidence> units, long total, int? limit) =>
        limit is { } m ? (units.Take(m), total == 0 ? m : Math.Min(total, m)) : (units, total);

    static bool IsStore(string features) => File.Exists(Path.Combine(features, StoreManifest));

    static string EvidencePath(string features)
    {
        if (Directory.Exists(features))
        {
            string file = Path.Combine(features, EvidenceFileName);
            if (!File.Exists(file))
                throw new UserError($"--features: {features} is neither a feature store (no {StoreManifest}, see `mechanist features build`) nor a folder with {EvidenceFileName}");
            return Path.GetFullPath(file);
        }
        if (File.Exists(features)) return Path.GetFullPath(features);
        throw new UserError($"--features: {features} does not exist");
    }
}
