using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Features;

/// <summary>A/B match of one A feature: its best B feature and their correlations, with B's explanation when known.</summary>
public sealed record AbMatch(int A, int B, float Correlation, float? LogitCorrelation, string? BExplanation);

/// <summary>
/// One member of a split family: a latent of some dictionary width, with its explanation when known and its parent, the
/// latent of the next smaller width it is most similar to (sim <c>ParentSimilarity</c>), or null for a root.
/// </summary>
public sealed record SplitMember(int Width, int Latent, double Density, string? Explanation, (int Width, int Latent)? Parent = null, double ParentSimilarity = 0);

/// <summary>
/// Results other commands attach to a feature store for the browser: <c>ab/</c> (written by
/// <c>universal features --features-a</c>: matches.json, [a, b, corr, logit_corr|null, B's explanation|null] per
/// matched A feature; histogram.svg; summary.json) and
/// <c>splits/families.json</c> and <c>splits/map.json</c> (written by <c>features splits --features</c>: the split
/// families, and the neighbour graph of the decoder directions the Map page lays out) and <c>universal/</c> (written by
/// <c>universal neurons --features</c>, <see cref="Universality.UniversalAttachment"/>). Each is optional; a store
/// without them shows no A/B, split, map or universal-neuron sections.
/// </summary>
public sealed class StoreAttachments
{
    public const string AbFolder = "ab";
    public const string SplitsFolder = "splits";
    public const string AbMatchesFile = "matches.json";
    /// <summary>Circuit reports (<c>circuit prune --features</c>): one folder per task, <c>circuits/TASK/report.json</c> + <c>loss-vs-k.svg</c>.</summary>
    public const string CircuitsFolder = "circuits";

    readonly Dictionary<int, AbMatch> _matches = [];
    readonly Dictionary<int, (int Family, IReadOnlyList<SplitMember> Members)> _families = [];
    readonly SortedDictionary<int, IReadOnlyList<SplitMember>> _familiesById = [];

    public bool HasAb { get; private set; }
    /// <summary>Circuit reports attached with <c>circuit prune --features</c>, by task name.</summary>
    public IReadOnlyList<Circuits.CircuitReport> Circuits { get; private set; } = [];
    public Circuits.CircuitReport? Circuit(string task) => Circuits.FirstOrDefault(c => c.Task == task);
    public bool HasSplits => _familiesById.Count > 0;
    /// <summary>The attached universal-neurons run, or null.</summary>
    public Universality.UniversalAttachment? Universal { get; private set; }
    /// <summary>The map's neighbour graph (<c>splits/map.json</c>, as written by <c>features splits</c>), or null when none is attached.</summary>
    public string? MapFile { get; private set; }
    public IReadOnlyCollection<AbMatch> Matches => _matches.Values;
    /// <summary>The A/B summary (medians features vs neurons, tokens...), or null.</summary>
    public JsonObject? AbSummary { get; private set; }
    /// <summary>The features-vs-neurons histogram, a standalone SVG document, or null.</summary>
    public string? AbHistogram { get; private set; }
    /// <summary>The width of this store's dictionary in the split families.</summary>
    public int Width { get; private set; }

    public AbMatch? Match(int feature) => _matches.GetValueOrDefault(feature);

    public (int Family, IReadOnlyList<SplitMember> Members)? Family(int feature) => _families.TryGetValue(feature, out var f) ? f : null;

    /// <summary>Every attached split family by id (largest first as written), including those without a latent of this width.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<SplitMember>> Families => _familiesById;

    /// <summary>The dictionary widths the attached families span, smallest first.</summary>
    public IReadOnlyList<int> SplitWidths { get; private set; } = [];

    public static StoreAttachments Load(string storeDir, int features)
    {
        var a = new StoreAttachments { Width = features, Universal = Universality.UniversalAttachment.Load(storeDir) };
        string ab = Path.Combine(storeDir, AbFolder);
        string matches = Path.Combine(ab, AbMatchesFile);
        if (File.Exists(matches))
        {
            a.HasAb = true;
            try
            {
                foreach (var row in JsonNode.Parse(File.ReadAllText(matches))!.AsArray())
                {
                    var r = row!.AsArray();
                    var m = new AbMatch((int)r[0]!, (int)r[1]!, (float)r[2]!, (float?)r[3], (string?)r[4]);
                    a._matches[m.A] = m;
                }
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new DataFormatError(matches, "", "expected an array of [a, b, corr, logit_corr, explanation] rows");
            }
            string summary = Path.Combine(ab, "summary.json");
            if (File.Exists(summary)) a.AbSummary = JsonNode.Parse(File.ReadAllText(summary)) as JsonObject;
            string histogram = Path.Combine(ab, "histogram.svg");
            if (File.Exists(histogram)) a.AbHistogram = File.ReadAllText(histogram);
        }
        string circuits = Path.Combine(storeDir, CircuitsFolder);
        if (Directory.Exists(circuits))
            a.Circuits = Directory.GetDirectories(circuits).Order(StringComparer.Ordinal)
                .Where(d => File.Exists(Path.Combine(d, Mechanist.Circuits.CircuitReport.ReportFile))).Select(Mechanist.Circuits.CircuitReport.Load).ToList();
        string families = Path.Combine(storeDir, SplitsFolder, "families.json");
        if (File.Exists(families))
        {
            if (JsonNode.Parse(File.ReadAllText(families)) is not JsonArray all) throw new DataFormatError(families, "", "expected an array of families");
            try
            {
                foreach (var f in all)
                {
                    var members = f!["members"]!.AsArray().Select(m => new SplitMember((int)m!["width"]!, (int)m["latent"]!, (double)m["density"]!,
                        (string?)m["explanation"], m["parent"] is JsonArray p ? ((int)p[0]!, (int)p[1]!) : null, (double?)m["parent_sim"] ?? 0)).ToList();
                    int id = (int)f["id"]!;
                    a._familiesById[id] = members;
                    foreach (var m in members.Where(m => m.Width == features)) a._families[m.Latent] = (id, members);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new DataFormatError(families, "", "expected families with an id and members {width, latent, density, explanation, parent?}");
            }
            a.SplitWidths = a._familiesById.Values.SelectMany(f => f.Select(m => m.Width)).Distinct().Order().ToArray();
        }
        string map = Path.Combine(storeDir, SplitsFolder, "map.json");
        if (File.Exists(map)) a.MapFile = map;
        return a;
    }
}
