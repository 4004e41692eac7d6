using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Circuits;

/// <summary>
/// A circuit study's result: the JSON report (nodes, edges, losses, sweep, the circuit, the seven controls) and the
/// loss-vs-k chart. Saved as a folder <c>report.json</c> + <c>loss-vs-k.svg</c>, which the browser's circuit page reads.
/// </summary>
public sealed record CircuitReport(JsonObject Json, string SweepSvg)
{
    public const string ReportFile = "report.json";
    public const string ChartFile = "loss-vs-k.svg";

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Task => (string)Json["task"]!;

    /// <summary>Writes the folder whole or not at all.</summary>
    public void Save(string dir, bool overwrite = true) => AtomicDirectory.Create(dir, tmp =>
    {
        File.WriteAllText(Path.Combine(tmp, ReportFile), Json.ToJsonString(Indented) + "\n");
        File.WriteAllText(Path.Combine(tmp, ChartFile), SweepSvg);
    }, overwrite);

    public static CircuitReport Load(string dir)
    {
        string path = Path.Combine(dir, ReportFile);
        if (!File.Exists(path)) throw new UserError($"{dir}: no {ReportFile} (is this a circuit report folder?)");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatError(path, "(root)", "not a JSON object"); }
        catch (JsonException e) { throw new DataFormatError(path, "(json)", e.Message, e); }
        if (json["task"] is not JsonValue task || !task.TryGetValue(out string? name) || !System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9_-]+$"))
            throw new DataFormatError(path, "task", "missing, or not a task name (letters, digits, _ and -)");
        string chart = Path.Combine(dir, ChartFile);
        return new CircuitReport(json, File.Exists(chart) ? File.ReadAllText(chart) : "");
    }
}
