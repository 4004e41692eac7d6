using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>
/// Writes a split graph into a folder: <c>splits.csv</c> (every edge: <c>width_a,a,width_b,b,sim,mc_ab,mc_ba</c>),
/// <c>families.json</c> (families largest first, each with its latents per width and its edges, explanations where
/// given), <c>summary.json</c>, with a <see cref="DecoderMap"/> <c>map.json</c> (the feature map's neighbour graph), and
/// <c>manifest.json</c>, each atomically.
/// </summary>
public static class SplitGraphOutput
{
    public const string EdgesFile = "splits.csv";
    public const string FamiliesFile = "families.json";
    public const string SummaryFile = "summary.json";
    public const string Stage = "feature-splits";
    public const string EdgesHeader = "width_a,a,width_b,b,sim,mc_ab,mc_ba";

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="explain">The best explanation of (dictionary, latent), or null.</param>
    /// <param name="map">The decoder directions' neighbour graph for the browser's Map page, or null for none.</param>
    public static JsonObject Write(string dir, SplitGraph g, IReadOnlyList<string> dictionaries, Func<int, int, string?>? explain = null, DecoderMap? map = null)
    {
        Directory.CreateDirectory(dir);
        var sb = new StringBuilder(EdgesHeader).Append('\n');
        foreach (var e in g.Edges)
            sb.Append(g.Widths[e.Dictionary]).Append(',').Append(e.A).Append(',').Append(g.Widths[e.Dictionary + 1]).Append(',').Append(e.B).Append(',')
              .Append(e.Similarity.ToString("0.####", Inv)).Append(',').Append(e.SmallToLarge.ToString("0.####", Inv)).Append(',')
              .Append(e.LargeToSmall.ToString("0.####", Inv)).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(dir, EdgesFile), sb.ToString());
        var families = new JsonArray(g.Families.Select(f => (JsonNode)new JsonObject
        {
            ["id"] = f.Id,
            ["size"] = f.Members.Count,
            ["widths"] = f.Widths,
            ["members"] = new JsonArray(f.Members.Select(m => (JsonNode)new JsonObject
            {
                ["width"] = g.Widths[m.Dictionary], ["latent"] = m.Latent, ["density"] = g.Density[m.Dictionary][m.Latent],
                ["explanation"] = explain?.Invoke(m.Dictionary, m.Latent),
            }).ToArray()),
            ["edges"] = new JsonArray(f.Edges.Select(e => (JsonNode)new JsonArray(g.Widths[e.Dictionary], e.A, g.Widths[e.Dictionary + 1], e.B, Math.Round(e.Similarity, 4))).ToArray()),
        }).ToArray());
        AtomicFile.WriteAllText(Path.Combine(dir, FamiliesFile), families.ToJsonString(Indented) + "\n");
        var summary = new JsonObject
        {
            ["widths"] = new JsonArray(g.Widths.Select(w => (JsonNode)w).ToArray()),
            ["tokens"] = g.Tokens,
            ["threshold"] = g.Threshold,
            ["min_density"] = g.MinDensity,
            ["edges"] = g.Edges.Count,
            ["families"] = g.Families.Count,
            ["largest_family"] = g.Families.Count == 0 ? 0 : g.Families[0].Members.Count,
            ["families_spanning_all_widths"] = g.Families.Count(f => f.Widths == g.Widths.Length),
        };
        if (map != null)
        {
            summary["map_points"] = map.Points.Count;
            AtomicFile.WriteAllText(Path.Combine(dir, DecoderMap.FileName), map.ToJson(explain));
        }
        AtomicFile.WriteAllText(Path.Combine(dir, SummaryFile), summary.ToJsonString(Indented) + "\n");
        new Manifest
        {
            Stage = Stage,
            Settings = new JsonObject
            {
                ["dictionaries"] = new JsonArray(dictionaries.Select(d => (JsonNode)Path.GetFullPath(d)).ToArray()),
                ["threshold"] = g.Threshold, ["min_density"] = g.MinDensity,
            },
            Outputs = [new(EdgesFile), new(FamiliesFile), new(SummaryFile), .. map == null ? Array.Empty<ManifestFile>() : [new ManifestFile(DecoderMap.FileName)]],
            Contents = new JsonObject { ["summary"] = summary.DeepClone() },
        }.SaveTo(dir);
        return summary;
    }

    /// <summary>
    /// Copies the families and the map into a feature store (<c>splits/</c>, replaced as a whole), so its pages show each
    /// feature's family and the site has a Map page.
    /// </summary>
    public static void Attach(string store, string outDir)
    {
        using var staging = AtomicDirectory.Begin(Path.Combine(store, Features.StoreAttachments.SplitsFolder), overwrite: true);
        File.Copy(Path.Combine(outDir, FamiliesFile), Path.Combine(staging.TempPath, FamiliesFile));
        if (File.Exists(Path.Combine(outDir, DecoderMap.FileName)))
            File.Copy(Path.Combine(outDir, DecoderMap.FileName), Path.Combine(staging.TempPath, DecoderMap.FileName));
        staging.Commit();
    }
}
