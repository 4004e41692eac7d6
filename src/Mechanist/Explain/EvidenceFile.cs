using System.Text;
using System.Text.Json;

namespace Mechanist.Explain;

/// <summary>
/// evidence.jsonl: one <see cref="UnitEvidence"/> per line in snake_case JSON, e.g.
/// {"id":3,"kind":"feature","density":0.001,"max_activation":5.2,
///  "top":[{"tokens":[" the"," cat"],"activations":[0,5.2],"position":12}],
///  "intervals":[{"label":"0.4–0.8","low":0.4,"high":0.8,"records":[...]}],"random":[...]}.
/// The other input of `mechanist explain` besides a feature store (evidence from elsewhere, tests); validated
/// on reading, with errors naming the file, the line and the field.
/// </summary>
public static class EvidenceFile
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reads units lazily, one line at a time, so large files need not fit in memory.</summary>
    public static IEnumerable<UnitEvidence> Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: no such file");
        int line = 0;
        foreach (string text in File.ReadLines(path, Encoding.UTF8))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            UnitEvidence? unit;
            try { unit = JsonSerializer.Deserialize<UnitEvidence>(text, Json); }
            catch (JsonException e) { throw new DataFormatError(path, $"line {line}", $"not a unit's evidence ({e.Message})", e); }
            if (unit is null) throw new DataFormatError(path, $"line {line}", "null");
            Validate(unit, path, line);
            yield return unit;
        }
    }

    /// <summary>Writes atomically (a temporary file in the same folder, flushed, then renamed).</summary>
    public static void Write(string path, IEnumerable<UnitEvidence> units) =>
        Mechanist.IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            foreach (var u in units) writer.WriteLine(JsonSerializer.Serialize(u, Json));
        });

    static void Validate(UnitEvidence u, string path, int line)
    {
        string at = $"line {line} (unit {u.Id})";
        if (string.IsNullOrWhiteSpace(u.Kind)) throw new DataFormatError(path, $"{at}: kind", "missing");
        if (u.Kind is not ("feature" or "neuron")) throw new DataFormatError(path, $"{at}: kind", $"'{u.Kind}' is not feature or neuron");
        if (!double.IsFinite(u.Density) || u.Density < 0 || u.Density > 1) throw new DataFormatError(path, $"{at}: density", $"{u.Density} is not in [0, 1]");
        if (!float.IsFinite(u.MaxActivation)) throw new DataFormatError(path, $"{at}: max_activation", "not finite");
        if (u.Top is null || u.Intervals is null || u.Random is null) throw new DataFormatError(path, at, "top, intervals and random are required (may be empty)");
        for (int i = 0; i < u.Top.Count; i++) Check(u.Top[i], path, $"{at}: top[{i}]");
        for (int s = 0; s < u.Intervals.Count; s++)
        {
            var iv = u.Intervals[s];
            if (iv?.Records is null) throw new DataFormatError(path, $"{at}: intervals[{s}]", "records missing");
            for (int i = 0; i < iv.Records.Count; i++) Check(iv.Records[i], path, $"{at}: intervals[{s}].records[{i}]");
        }
        for (int i = 0; i < u.Random.Count; i++) Check(u.Random[i], path, $"{at}: random[{i}]");
    }

    static void Check(ActivationRecord? r, string path, string field)
    {
        if (r?.Tokens is null || r.Activations is null) throw new DataFormatError(path, field, "tokens and activations are required");
        if (r.Tokens.Length != r.Activations.Length)
            throw new DataFormatError(path, field, $"{r.Tokens.Length} tokens but {r.Activations.Length} activations");
        if (r.Tokens.Any(t => t is null)) throw new DataFormatError(path, $"{field}.tokens", "null token");
        if (r.Activations.Any(a => !float.IsFinite(a))) throw new DataFormatError(path, $"{field}.activations", "non-finite value");
    }
}
