using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>One model-0 neuron's row of universal.csv as the browser shows it (NaN / "" where the run had no statistics).</summary>
public sealed record UniversalNeuron(int Layer, int Neuron, double[] MaxCorr, double MeanMaxCorr, double Baseline, double Excess, bool IsUniversal,
    double Sparsity, string Family, string FamilyFeature, double FamilyVr, string Role);

/// <summary>
/// A universal-neurons run attached to a feature store for its browser (<c>STORE/universal/</c>, written by
/// <c>universal neurons --features STORE</c>): universal.csv, summary.json and, when model 0's interventions ran,
/// entropy-intervention.csv. The store's neurons are those of its hook's layer.
/// </summary>
public sealed class UniversalAttachment
{
    public const string Folder = "universal";

    readonly Dictionary<(int, int), UniversalNeuron> _byNeuron;

    UniversalAttachment(List<UniversalNeuron> rows, JsonObject? summary, EntropyIntervention? entropy)
    {
        Rows = rows; Summary = summary; Entropy = entropy;
        _byNeuron = rows.ToDictionary(r => (r.Layer, r.Neuron));
    }

    public IReadOnlyList<UniversalNeuron> Rows { get; }
    public JsonObject? Summary { get; }
    public EntropyIntervention? Entropy { get; }
    public int Layers => Rows.Count == 0 ? 0 : Rows.Max(r => r.Layer) + 1;

    public UniversalNeuron? For(int layer, int neuron) => _byNeuron.GetValueOrDefault((layer, neuron));

    /// <summary>Copies a finished run's outputs into <c>STORE/universal/</c> (replaced as a whole).</summary>
    public static void Attach(string storeDir, string runDir)
    {
        using var staging = AtomicDirectory.Begin(Path.Combine(storeDir, Folder), overwrite: true);
        foreach (string f in new[] { UniversalOutput.CsvFile, UniversalOutput.SummaryFile, EntropyIntervention.CsvFile, EntropyIntervention.PlotFile })
            if (File.Exists(Path.Combine(runDir, f))) File.Copy(Path.Combine(runDir, f), Path.Combine(staging.TempPath, f));
        staging.Commit();
    }

    /// <summary>The attached run of a store, or null when there is none.</summary>
    public static UniversalAttachment? Load(string storeDir)
    {
        string dir = Path.Combine(storeDir, Folder), csv = Path.Combine(dir, UniversalOutput.CsvFile);
        if (!File.Exists(csv)) return null;
        var lines = File.ReadAllLines(csv);
        if (lines.Length == 0) throw new DataFormatError(csv, "", "empty: expected a header line");
        var header = Fields(lines[0]);
        int Col(string name) => Array.IndexOf(header, name);
        int layer = Col("layer"), neuron = Col("neuron"), mean = Col("mean_max_corr"), baseline = Col("baseline"), excess = Col("excess_corr"), universal = Col("is_universal");
        if (layer < 0 || neuron < 0 || excess < 0 || universal < 0) throw new DataFormatError(csv, "header", "expected the universal.csv columns layer, neuron, …, excess_corr, is_universal");
        var seeds = header.Select((h, i) => (h, i)).Where(x => x.h.StartsWith("max_corr_", StringComparison.Ordinal)).Select(x => x.i).ToArray();
        int sparsity = Col("sparsity"), family = Col("family"), feature = Col("family_feature"), vr = Col("family_vr"), role = Col("role");
        var rows = new List<UniversalNeuron>(lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = Fields(lines[i]);
            if (f.Length != header.Length) throw new DataFormatError(csv, $"line {i + 1}", $"{f.Length} fields, the header has {header.Length}");
            double Num(int c) => c < 0 || f[c] is "" or "nan" ? double.NaN : double.Parse(f[c], CultureInfo.InvariantCulture);
            string Text(int c) => c < 0 ? "" : f[c];
            try
            {
                rows.Add(new UniversalNeuron(int.Parse(f[layer], CultureInfo.InvariantCulture), int.Parse(f[neuron], CultureInfo.InvariantCulture),
                    [.. seeds.Select(Num)], Num(mean), Num(baseline), Num(excess), f[universal] == "true", Num(sparsity), Text(family), Text(feature), Num(vr), Text(role)));
            }
            catch (FormatException) { throw new DataFormatError(csv, $"line {i + 1}", "expected numbers in the numeric columns"); }
        }
        string summary = Path.Combine(dir, UniversalOutput.SummaryFile), entropy = Path.Combine(dir, EntropyIntervention.CsvFile);
        var width = rows.Count == 0 ? 1 : rows.Max(r => r.Neuron) + 1;
        return new UniversalAttachment(rows, File.Exists(summary) ? JsonNode.Parse(File.ReadAllText(summary)) as JsonObject : null,
            File.Exists(entropy) ? EntropyIntervention.Parse(entropy, new UnitLayout(rows.Count == 0 ? 1 : rows.Max(r => r.Layer) + 1, width)) : null);
    }

    /// <summary>One CSV line's fields; a quoted field may hold commas and doubled quotes (the run writes line breaks as \n).</summary>
    internal static string[] Fields(string line)
    {
        var fields = new List<string>();
        var sb = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return [.. fields];
    }
}
