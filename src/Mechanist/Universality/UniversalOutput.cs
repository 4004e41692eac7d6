using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>Writes a finished run's outputs into a folder: <c>universal.csv</c>, <c>summary.json</c>, <c>manifest.json</c>.</summary>
public static class UniversalOutput
{
    public const string CsvFile = "universal.csv";
    public const string SummaryFile = "summary.json";
    public const string Stage = "universal-neurons";

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes each file atomically into <paramref name="dir"/> (which may already hold shards).</summary>
    /// <param name="neurons">Each model's neuron statistics, when known: model 0's are appended to universal.csv and
    /// each model gets <c>neurons-model{m}.csv</c> (model 0's with its universality columns); model 0's role
    /// experiments, when run, write their files (<see cref="RoleExperiments.WriteTo"/>) and go into the summary as "roles".</param>
    public static JsonObject Write(string dir, UniversalTable table, JsonObject? extraSummary = null, IReadOnlyList<NeuronReport>? neurons = null)
    {
        var summary = table.Summary();
        if (extraSummary != null) foreach (var (k, v) in extraSummary) summary[k] = v?.DeepClone();
        Directory.CreateDirectory(dir);
        var first = neurons?.FirstOrDefault();
        AtomicFile.WriteAllText(Path.Combine(dir, CsvFile), first == null ? table.ToCsv() : table.ToCsv(NeuronReport.Header, first.Row));
        for (int m = 0; m < (neurons?.Count ?? 0); m++)
        {
            var report = neurons![m];
            var layout = report.Statistics.Layout;
            var sb = new System.Text.StringBuilder();
            var header = new List<string> { "layer", "neuron" };
            header.AddRange(NeuronReport.Header);
            if (m == 0) header.AddRange(table.Header().Skip(2).Take(table.Result.Models + 3));
            sb.AppendJoin(',', header).Append('\n');
            for (int u = 0; u < layout.Units; u++)
            {
                var row = new List<string> { layout.LayerOf(u).ToString(), layout.NeuronOf(u).ToString() };
                row.AddRange(report.Row(u));
                if (m == 0) row.AddRange(table.Row(u).Skip(2).Take(table.Result.Models + 3));
                sb.AppendJoin(',', row).Append('\n');
            }
            AtomicFile.WriteAllText(Path.Combine(dir, $"neurons-model{m}.csv"), sb.ToString());
        }
        if (first?.Measured is RoleExperiments roles)
        {
            roles.WriteTo(dir);
            summary["roles"] = roles.Summary();
        }
        AtomicFile.WriteAllText(Path.Combine(dir, SummaryFile), summary.ToJsonString(Indented) + "\n");
        var manifest = new Manifest
        {
            Stage = Stage,
            Settings = NeuronCorrelation.Settings(table.Result.Options, table.Result.Layouts),
            Outputs = [new ManifestFile(CsvFile), new ManifestFile(SummaryFile)],
            Contents = new JsonObject { ["inputs"] = table.Result.Inputs.DeepClone(), ["summary"] = summary.DeepClone() },
        };
        manifest.SaveTo(dir);
        return summary;
    }
}
