using System.Text.Json.Nodes;
using Mechanist.Features;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Sae;
using Mechanist.Text;

namespace Mechanist.Universality;

/// <summary>What <c>universal features</c> reads and where it writes (see <see cref="FeatureUniversalityStage"/>).</summary>
public sealed record FeatureUniversalityOptions
{
    /// <summary>Run A: a run folder (model/ and sae/NAME/) or, with <see cref="Acts"/>, an SAE folder.</summary>
    public required string A { get; init; }
    public required string B { get; init; }
    /// <summary>Which dictionary of a run folder's sae/ (needed when it holds several).</summary>
    public string? SaeName { get; init; }
    /// <summary>The token store both models read (with run folders).</summary>
    public string? Data { get; init; }
    /// <summary>Instead of models: one activation file both dictionaries read, or one per model (same tokens).</summary>
    public IReadOnlyList<string> Acts { get; init; } = [];
    /// <summary>Tokens to read (default: with --data 10 M, or all the split holds when less; with --acts every row).</summary>
    public long? Tokens { get; init; }
    public string Split { get; init; } = "train";
    public int? Context { get; init; }
    public int? Batch { get; init; }
    public required string OutDir { get; init; }
    public bool Force { get; init; }
    /// <summary>A's feature store: the matches are attached to it (<c>ab/</c>) so its browser shows them.</summary>
    public string? FeaturesA { get; init; }
    /// <summary>B's feature store, for B's explanations beside the matches.</summary>
    public string? FeaturesB { get; init; }

    public const long DefaultTokens = 10_000_000;
}

/// <summary>
/// The one entry of A/B feature universality (docs/METHODS.md §3.4): resolves the two runs, checks they read the
/// same thing, correlates (<see cref="FeatureCorrelation"/>) and writes the folder atomically; nothing is written
/// when an input is refused.
/// </summary>
public static class FeatureUniversalityStage
{
    public static (FeatureUniversality Result, JsonObject Summary) Run(FeatureUniversalityOptions o, IProgressReporter? progress = null,
        CancellationToken cancel = default)
    {
        if (o.Tokens is < 2) throw new UserError($"--tokens {o.Tokens}: need at least 2");
        if (!o.Force && Directory.Exists(o.OutDir) && Directory.EnumerateFileSystemEntries(o.OutDir).Any())
            throw new UserError($"{o.OutDir}: already exists (use --force to replace it)");
        if ((o.Data != null) == (o.Acts.Count > 0)) throw new UserError("give either --data TOKENS (run folders with their models) or --acts FILE (activation rows the dictionaries read)");
        if (o.Acts.Count > 2) throw new UserError($"--acts takes one file (both dictionaries read it) or two (A's rows, B's rows), got {o.Acts.Count}");
        if (o.FeaturesB != null && o.FeaturesA == null) throw new UserError("--features-b gives B's explanations to the pages of A's store: give --features-a too");
        var runA = FeatureRun.Resolve(o.A, o.SaeName, "--a");
        var runB = FeatureRun.Resolve(o.B, o.SaeName, "--b");
        var saeA = SaeLensFormat.Load(runA.Sae);
        var saeB = SaeLensFormat.Load(runB.Sae);
        var hook = saeA.Metadata.Hook;
        if (saeB.Metadata.Hook != hook)
            throw new UserError($"{runB.Sae}: the dictionary reads {saeB.Metadata.Hook?.Name ?? "an unrecorded hook"}, but {runA.Sae} reads {hook?.Name ?? "an unrecorded hook"}: compare dictionaries of one hook point");

        using var storeA = o.FeaturesA == null ? null : FeatureStore.Open(o.FeaturesA);
        using var storeB = o.FeaturesB == null ? null : FeatureStore.Open(o.FeaturesB);
        if (storeA != null && storeA.UnitCount(UnitKind.Feature) != saeA.DSae)
            throw new UserError($"--features-a {o.FeaturesA}: a store of {storeA.UnitCount(UnitKind.Feature):N0} features, but dictionary A has {saeA.DSae:N0}");
        if (storeB != null && storeB.UnitCount(UnitKind.Feature) != saeB.DSae)
            throw new UserError($"--features-b {o.FeaturesB}: a store of {storeB.UnitCount(UnitKind.Feature):N0} features, but dictionary B has {saeB.DSae:N0}");
        IUnitBatches data;
        LogitWeightCorrelation.Models? models = null;
        if (o.Data != null)
        {
            if (runA.Model == null || runB.Model == null)
                throw new UserError($"{(runA.Model == null ? o.A : o.B)}: no model/ folder beside the dictionary; --data needs run folders (model/ and sae/), or use --acts");
            if (hook is not HookPoint at) throw new UserError($"{runA.Sae}: the dictionary does not say which hook it reads (hook_name in cfg.json)");
            long tokens = o.Tokens ?? DefaultTokens(o.Data, o.Split, o.Context ?? ModelFiles.ReadConfig(runA.Model).Context);
            var batches = ModelUnitBatches.Open([runA.Model, runB.Model], o.Data, tokens, o.Split, o.Context, o.Batch, at);
            models = new LogitWeightCorrelation.Models(batches.Model(0), batches.Model(1), at);
            data = batches;
        }
        else
        {
            data = StoreUnitBatches.Open(o.Acts, 1, o.Tokens, o.Batch ?? 4096, minimumFiles: 1);
            if (runA.Model != null && runB.Model != null && hook is HookPoint at)
                models = new LogitWeightCorrelation.Models(ModelFiles.Load(runA.Model), ModelFiles.Load(runB.Model), at);
        }
        using (data)
        {
            var result = FeatureCorrelation.Correlate(data, saeA, saeB, models, progress, cancel);
            var settings = new JsonObject
            {
                ["a"] = Path.GetFullPath(runA.Sae), ["b"] = Path.GetFullPath(runB.Sae),
                ["model_a"] = runA.Model == null ? null : Path.GetFullPath(runA.Model),
                ["model_b"] = runB.Model == null ? null : Path.GetFullPath(runB.Model),
                ["hook"] = hook?.Name, ["tokens"] = result.Tokens,
            };
            JsonObject summary;
            using (var staging = AtomicDirectory.Begin(o.OutDir, o.Force))
            {
                summary = FeatureUniversalityOutput.Write(staging.TempPath, result, settings);
                staging.Commit();
            }
            if (storeA != null) Attach(storeA.Directory, o.OutDir, result, storeB);
            return (result, summary);
        }
    }

    /// <summary>Copies the run's results into A's store (<c>ab/</c>, replaced as a whole) for its browser.</summary>
    static void Attach(string store, string outDir, FeatureUniversality r, FeatureStore? storeB)
    {
        using var staging = AtomicDirectory.Begin(Path.Combine(store, StoreAttachments.AbFolder), overwrite: true);
        var rows = new JsonArray();
        for (int a = 0; a < r.LatentsA; a++)
        {
            if (r.Match[a] < 0 || float.IsNaN(r.Correlation[a])) continue;
            string? explanation = storeB?.GetSummary(UnitKind.Feature, r.Match[a]).Explanation?.Text;
            rows.Add(new JsonArray(a, r.Match[a], Math.Round(r.Correlation[a], 5), float.IsNaN(r.LogitCorrelation[a]) ? null : Math.Round(r.LogitCorrelation[a], 5), explanation));
        }
        AtomicFile.WriteAllText(Path.Combine(staging.TempPath, StoreAttachments.AbMatchesFile), rows.ToJsonString());
        foreach (string f in new[] { FeatureUniversalityOutput.HistogramFile, FeatureUniversalityOutput.SummaryFile })
            File.Copy(Path.Combine(outDir, f), Path.Combine(staging.TempPath, f));
        staging.Commit();
    }

    /// <summary>10 M tokens, or as many whole windows as the split holds when fewer.</summary>
    static long DefaultTokens(string data, string split, int context)
    {
        using var store = TokenStore.Open(data, split);
        return Math.Min(FeatureUniversalityOptions.DefaultTokens, store.Count / context * context);
    }
}
