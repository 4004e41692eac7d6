using System.Text.Json.Nodes;
using Mechanist.Features;
using Mechanist.IO;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>What `features splits` (and the demo's splits stage) is asked for.</summary>
public sealed record FeatureSplitsOptions
{
    /// <summary>Dictionaries of different widths that read one hook, or folders holding them.</summary>
    public required IReadOnlyList<string> Saes { get; init; }
    /// <summary>The activation store or [N, d] .npy the dictionaries read.</summary>
    public required string Acts { get; init; }
    /// <summary>Rows to read; null for all.</summary>
    public long? Tokens { get; init; }
    public double Threshold { get; init; } = 0.4;
    public double MinDensity { get; init; } = 1e-5;
    /// <summary>How edges make families: best-parent trees (the default) or connected components.</summary>
    public SplitFamilyRule Rule { get; init; } = SplitFamilyRule.Tree;
    /// <summary>How many of the largest families to draw (families/family-ID.svg).</summary>
    public int Pictures { get; init; } = 10;
    /// <summary>Feature stores of some of the dictionaries: their explanations go into the output, and the families and the map are attached to each.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];
    public required string OutDir { get; init; }
    public bool Force { get; init; }
}

/// <summary>The split graph and the summary written, with the explanations of the family members that have one.</summary>
public sealed record FeatureSplitsResult(SplitGraph Graph, JsonObject Summary, IReadOnlyDictionary<(int Dictionary, int Latent), string> Explanations);

/// <summary>
/// Feature splitting as one call (docs/METHODS.md §3.5): loads the dictionaries, builds the split graph over the rows
/// (<see cref="FeatureSplits"/>) and the map's neighbour graph (<see cref="DecoderMap"/>), writes them atomically
/// (<see cref="SplitGraphOutput"/>) and attaches them to the given feature stores.
/// </summary>
public static class FeatureSplitsStage
{
    public static FeatureSplitsResult Run(FeatureSplitsOptions o, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        if (o.Pictures < 0) throw new UserError($"--pictures {o.Pictures}: give 0 or more families to draw");
        if (!o.Force && Directory.Exists(o.OutDir) && Directory.EnumerateFileSystemEntries(o.OutDir).Any())
            throw new UserError($"{o.OutDir}: already exists (use --force to replace it)");
        var dirs = Dictionaries(o.Saes);
        var loaded = dirs.Select(SaeLensFormat.Load).ToArray();
        var order = Enumerable.Range(0, dirs.Count).OrderBy(i => loaded[i].DSae).ToArray();
        var hooks = loaded.Select(d => d.Metadata.Hook).Distinct().ToArray();
        if (hooks.Length > 1) throw new UserError($"the dictionaries read different hooks ({string.Join(", ", hooks.Select(h => h?.Name ?? "unrecorded"))}): splitting compares dictionaries of one hook");
        var stores = Stores(o.Features, order.Select(i => loaded[i].DSae).ToArray());
        try
        {
            SplitGraph graph;
            using (var rows = StoreUnitBatches.Open([o.Acts], 1, o.Tokens, minimumFiles: 1))
                graph = FeatureSplits.Build(loaded, rows, o.Threshold, o.MinDensity, o.Rule, progress, cancel);
            string? Explain(int k, int latent) => stores[k]?.GetSummary(UnitKind.Feature, latent).Explanation?.Text;
            JsonObject summary;
            using (var staging = AtomicDirectory.Begin(o.OutDir, o.Force))
            {
                var map = DecoderMap.Build(order.Select(i => loaded[i]).ToArray(), graph.Density, graph.MinDensity);
                summary = SplitGraphOutput.Write(staging.TempPath, graph, order.Select(i => dirs[i]).ToArray(), Explain, map, o.Pictures);
                staging.Commit();
            }
            foreach (var store in stores) if (store != null) SplitGraphOutput.Attach(store.Directory, o.OutDir);
            var explanations = new Dictionary<(int, int), string>();
            foreach (var f in graph.Families)
                foreach (var (k, latent) in f.Members)
                    if (Explain(k, latent) is string text) explanations[(k, latent)] = text;
            return new FeatureSplitsResult(graph, summary, explanations);
        }
        finally
        {
            foreach (var store in stores) store?.Dispose();
        }
    }

    /// <summary>The given folders, or, for a folder that is not a dictionary itself, the dictionaries directly inside it.</summary>
    static List<string> Dictionaries(IReadOnlyList<string> given)
    {
        var dirs = new List<string>();
        foreach (string g in given)
        {
            if (File.Exists(Path.Combine(g, SaeLensFormat.ConfigFile))) { dirs.Add(g); continue; }
            if (!Directory.Exists(g)) throw new UserError($"--sae {g}: no such folder");
            var inside = SaeLensFormat.DictionariesIn(g);
            if (inside.Length == 0) throw new UserError($"--sae {g}: neither a dictionary ({SaeLensFormat.ConfigFile}) nor a folder holding dictionaries");
            dirs.AddRange(inside);
        }
        return dirs;
    }

    /// <summary>Per dictionary (in width order), the feature store built from it when one was given (for its explanations).</summary>
    static FeatureStore?[] Stores(IReadOnlyList<string> dirs, int[] widths)
    {
        var result = new FeatureStore?[widths.Length];
        foreach (string dir in dirs)
        {
            var store = FeatureStore.Open(dir);
            int width = store.UnitCount(UnitKind.Feature);
            int k = Array.IndexOf(widths, width);
            if (k < 0)
            {
                store.Dispose();
                foreach (var s in result) s?.Dispose();
                throw new UserError($"--features {dir}: a store of {width:N0} features, but the dictionaries have widths {string.Join(", ", widths)}");
            }
            result[k] = store;
        }
        return result;
    }
}
