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
    public static JsonObject Write(string dir, UniversalTable table, JsonObject? extraSummary = null)
    {
        var summary = table.Summary();
        if (extraSummary != null) foreach (var (k, v) in extraSummary) summary[k] = v?.DeepClone();
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, CsvFile), table.ToCsv());
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
