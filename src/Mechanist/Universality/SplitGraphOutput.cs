using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Plots;

namespace Mechanist.Universality;

/// <summary>
/// Writes a split graph into a folder: <c>splits.csv</c> (every edge: <c>width_a,a,width_b,b,sim,mc_ab,mc_ba</c>),
/// <c>families.json</c> (families largest first, each with its latents per width, each latent's best parent and its
/// sim, the edges that join the family, explanations where given), <c>families/family-ID.svg</c> (the largest
/// families drawn as trees, <see cref="SplitTreeChart"/>), <c>summary.json</c>, with a <see cref="DecoderMap"/>
/// <c>map.json</c> (the feature map's neighbour graph), and <c>manifest.json</c>, each atomically.
/// </summary>
public static class SplitGraphOutput
{
    public const string EdgesFile = "splits.csv";
    public const string FamiliesFile = "families.json";
    public const string SummaryFile = "summary.json";
    public const string PicturesFolder = "families";
    public const string Stage = "feature-splits";
    public const string EdgesHeader = "width_a,a,width_b,b,sim,mc_ab,mc_ba";

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="explain">The best explanation of (dictionary, latent), or null.</param>
    /// <param name="map">The decoder directions' neighbour graph for the browser's Map page, or null for none.</param>
    /// <param name="pictures">How many of the largest families to draw.</param>
    public static JsonObject Write(string dir, SplitGraph g, IReadOnlyList<string> dictionaries, Func<int, int, string?>? explain = null, DecoderMap? map = null,
        int pictures = 0)
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
            ["members"] = new JsonArray(Members(g, f, explain).Select(m => (JsonNode)new JsonObject
            {
                ["width"] = m.Width, ["latent"] = m.Latent, ["density"] = m.Density, ["explanation"] = m.Explanation,
                ["parent"] = m.Parent is { } p ? new JsonArray(p.Width, p.Latent) : null,
                ["parent_sim"] = m.Parent is null ? null : Math.Round(m.ParentSimilarity, 4),
            }).ToArray()),
            ["edges"] = new JsonArray(f.Edges.Select(e => (JsonNode)new JsonArray(g.Widths[e.Dictionary], e.A, g.Widths[e.Dictionary + 1], e.B, Math.Round(e.Similarity, 4))).ToArray()),
        }).ToArray());
        AtomicFile.WriteAllText(Path.Combine(dir, FamiliesFile), families.ToJsonString(Indented) + "\n");
        var drawn = g.Families.Take(pictures).ToList();
        if (drawn.Count > 0) Directory.CreateDirectory(Path.Combine(dir, PicturesFolder));
        foreach (var f in drawn)
            AtomicFile.WriteAllText(Path.Combine(dir, PictureFile(f.Id)), new SplitTreeChart(Title(g, f), g.Widths, Members(g, f, explain)).ToFile());
        var summary = new JsonObject
        {
            ["widths"] = new JsonArray(g.Widths.Select(w => (JsonNode)w).ToArray()),
            ["tokens"] = g.Tokens,
            ["threshold"] = g.Threshold,
            ["min_density"] = g.MinDensity,
            ["rule"] = RuleName(g.Rule),
            ["edges"] = g.Edges.Count,
            ["family_edges"] = g.Families.Sum(f => f.Edges.Count),
            ["families"] = g.Families.Count,
            ["largest_family"] = g.Families.Count == 0 ? 0 : g.Families[0].Members.Count,
            ["families_spanning_all_widths"] = g.Families.Count(f => f.Widths == g.Widths.Length),
            ["family_size_quantiles"] = g.Families.Count == 0 ? null : new JsonObject
            {
                ["p50"] = Quantile(g.Families, 0.5), ["p90"] = Quantile(g.Families, 0.9), ["p99"] = Quantile(g.Families, 0.99), ["max"] = g.Families[0].Members.Count,
            },
            ["pictures"] = new JsonArray(drawn.Select(f => (JsonNode)PictureFile(f.Id)).ToArray()),
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
                ["threshold"] = g.Threshold, ["min_density"] = g.MinDensity, ["rule"] = RuleName(g.Rule),
            },
            Outputs = [new(EdgesFile), new(FamiliesFile), new(SummaryFile), .. drawn.Select(f => new ManifestFile(PictureFile(f.Id))),
                .. map == null ? Array.Empty<ManifestFile>() : [new ManifestFile(DecoderMap.FileName)]],
            Contents = new JsonObject { ["summary"] = summary.DeepClone() },
        }.SaveTo(dir);
        return summary;
    }

    /// <summary>"tree" or "components", as the command line and summary.json spell the rule.</summary>
    public static string RuleName(SplitFamilyRule rule) => rule == SplitFamilyRule.Tree ? "tree" : "components";

    /// <summary>The picture of family <paramref name="id"/>, relative to the output folder.</summary>
    public static string PictureFile(int id) => $"{PicturesFolder}/family-{id}.svg";

    /// <summary>"Family 3: 1 → 3 → 7 latents (widths 512 → 1,024 → 2,048)".</summary>
    public static string Title(SplitGraph g, SplitFamily f)
    {
        var groups = f.Members.GroupBy(m => m.Dictionary).OrderBy(x => x.Key).ToList();
        return $"Family {f.Id}: {string.Join(" → ", groups.Select(x => x.Count()))} latents (widths {string.Join(" → ", groups.Select(x => g.Widths[x.Key].ToString("N0", Inv)))})";
    }

    /// <summary>A family's members with their density, explanation and best parent (within the family).</summary>
    public static List<Features.SplitMember> Members(SplitGraph g, SplitFamily f, Func<int, int, string?>? explain) =>
        f.Members.Select(m =>
        {
            int parent = g.Parent[m.Dictionary][m.Latent];
            return new Features.SplitMember(g.Widths[m.Dictionary], m.Latent, g.Density[m.Dictionary][m.Latent], explain?.Invoke(m.Dictionary, m.Latent),
                parent < 0 ? null : (g.Widths[m.Dictionary - 1], parent), g.ParentSimilarity[m.Dictionary][m.Latent]);
        }).ToList();

    static int Quantile(IReadOnlyList<SplitFamily> families, double q)
    {
        var sizes = families.Select(f => f.Members.Count).Order().ToArray();
        return sizes[Math.Min(sizes.Length - 1, (int)Math.Floor(q * sizes.Length))];
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
