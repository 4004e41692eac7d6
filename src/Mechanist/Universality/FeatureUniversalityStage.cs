using System.Text.Json.Nodes;
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
        var runA = FeatureRun.Resolve(o.A, o.SaeName, "--a");
        var runB = FeatureRun.Resolve(o.B, o.SaeName, "--b");
        var saeA = SaeLensFormat.Load(runA.Sae);
        var saeB = SaeLensFormat.Load(runB.Sae);
        var hook = saeA.Metadata.Hook;
        if (saeB.Metadata.Hook != hook)
            throw new UserError($"{runB.Sae}: the dictionary reads {saeB.Metadata.Hook?.Name ?? "an unrecorded hook"}, but {runA.Sae} reads {hook?.Name ?? "an unrecorded hook"}: compare dictionaries of one hook point");

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
            return (result, summary);
        }
    }

    /// <summary>10 M tokens, or as many whole windows as the split holds when fewer.</summary>
    static long DefaultTokens(string data, string split, int context)
    {
        using var store = TokenStore.Open(data, split);
        return Math.Min(FeatureUniversalityOptions.DefaultTokens, store.Count / context * context);
    }
}
