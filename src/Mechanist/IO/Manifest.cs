using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mechanist.IO;

/// <summary>A file named by a manifest: inputs by path and content hash, outputs by path relative to the folder.</summary>
public sealed record ManifestFile(string Path, string? Hash = null, long? Size = null);

/// <summary>
/// The <c>manifest.json</c> each pipeline stage writes into its output folder, so the folder explains
/// itself: which stage and tool version made it, when, with which settings, from which inputs (with
/// content hashes, see <see cref="ContentHash"/>), which outputs it holds, and a stage-specific
/// <see cref="Contents"/> object describing them (e.g. an activation store's shards). Written last and
/// atomically: a folder without a manifest is an unfinished stage.
/// <code>
/// { "stage": "acts harvest", "tool_version": "1.0.0", "created_utc": "2026-11-21T09:00:00.0000000+00:00",
///   "settings": {...}, "inputs": [{"path": "/runs/model", "hash": "sha256:...", "size": 123}],
///   "outputs": [{"path": "shard-00000.bin"}], "contents": {...} }
/// </code>
/// </summary>
public sealed class Manifest
{
    public const string FileName = "manifest.json";

    public required string Stage { get; init; }
    public string ToolVersion { get; init; } = CurrentToolVersion;
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    public JsonObject Settings { get; init; } = new();
    public List<ManifestFile> Inputs { get; init; } = [];
    public List<ManifestFile> Outputs { get; init; } = [];
    public JsonObject Contents { get; init; } = new();

    public static string CurrentToolVersion { get; } =
        typeof(Manifest).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Manifest).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Records an input file or folder with its content hash (fast hash for big inputs, see <see cref="ContentHash"/>).</summary>
    public void AddInput(string path, bool fastHash = false)
    {
        string full = System.IO.Path.GetFullPath(path);
        long? size = File.Exists(full) ? new FileInfo(full).Length : null;
        Inputs.Add(new ManifestFile(full, ContentHash.Of(full, fastHash), size));
    }

    /// <summary>Inputs whose content no longer matches the recorded hash (or that are gone).</summary>
    public IReadOnlyList<ManifestFile> ChangedInputs() =>
        Inputs.Where(i => i.Hash != null && !ContentHash.Matches(i.Path, i.Hash)).ToList();

    public static string PathIn(string dir) => System.IO.Path.Combine(dir, FileName);

    public static bool ExistsIn(string dir) => File.Exists(PathIn(dir));

    /// <summary>Writes <c>manifest.json</c> into <paramref name="dir"/> atomically.</summary>
    public void SaveTo(string dir) => AtomicFile.WriteAllText(PathIn(dir), ToJson());

    public string ToJson()
    {
        var root = new JsonObject
        {
            ["stage"] = Stage,
            ["tool_version"] = ToolVersion,
            ["created_utc"] = Created.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            ["settings"] = Settings.DeepClone(),
            ["inputs"] = FilesToJson(Inputs),
            ["outputs"] = FilesToJson(Outputs),
            ["contents"] = Contents.DeepClone(),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Loads <c>manifest.json</c> from a folder (or the file itself), validating every field.</summary>
    public static Manifest Load(string pathOrDir)
    {
        string path = Directory.Exists(pathOrDir) ? PathIn(pathOrDir) : pathOrDir;
        if (!File.Exists(path))
            throw new UserError(Directory.Exists(pathOrDir)
                ? $"{pathOrDir}: no {FileName}: the stage that writes this folder did not finish (or it is not a stage output folder)"
                : $"{path}: file not found");
        return Parse(path, File.ReadAllBytes(path));
    }

    internal static Manifest Parse(string path, byte[] bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new DataFormatError(path, "manifest", "not valid UTF-8");
        JsonNode? node;
        try { node = JsonNode.Parse(bytes); }
        catch (JsonException e) { throw new DataFormatError(path, "manifest", $"not valid JSON: {e.Message}"); }
        if (node is not JsonObject root) throw new DataFormatError(path, "manifest", "expected a JSON object");
        string createdText = RequireString(path, root, "created_utc");
        if (!DateTimeOffset.TryParse(createdText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var created))
            throw new DataFormatError(path, "created_utc", $"not a date and time: \"{createdText}\"");
        return new Manifest
        {
            Stage = RequireString(path, root, "stage"),
            ToolVersion = RequireString(path, root, "tool_version"),
            Created = created,
            Settings = OptionalObject(path, root, "settings"),
            Inputs = ParseFiles(path, root, "inputs"),
            Outputs = ParseFiles(path, root, "outputs"),
            Contents = OptionalObject(path, root, "contents"),
        };
    }

    static JsonArray FilesToJson(List<ManifestFile> files)
    {
        var array = new JsonArray();
        foreach (var f in files)
        {
            var o = new JsonObject { ["path"] = f.Path };
            if (f.Hash != null) o["hash"] = f.Hash;
            if (f.Size != null) o["size"] = f.Size;
            array.Add(o);
        }
        return array;
    }

    static List<ManifestFile> ParseFiles(string path, JsonObject root, string field)
    {
        var result = new List<ManifestFile>();
        if (!root.TryGetPropertyValue(field, out var node) || node == null) return result;
        if (node is not JsonArray array) throw new DataFormatError(path, field, "expected an array");
        for (int i = 0; i < array.Count; i++)
        {
            string where = $"{field}[{i}]";
            if (array[i] is not JsonObject o) throw new DataFormatError(path, where, "expected an object with a path");
            string p = RequireString(path, o, "path", where);
            string? hash = null;
            if (o["hash"] is JsonNode h)
            {
                if (h.GetValueKind() != JsonValueKind.String) throw new DataFormatError(path, $"{where}.hash", "not a string");
                hash = h.GetValue<string>();
                if (!hash.StartsWith("sha256:", StringComparison.Ordinal) && !hash.StartsWith("fast-sha256:", StringComparison.Ordinal))
                    throw new DataFormatError(path, $"{where}.hash", $"unknown hash kind \"{hash}\" (expected sha256: or fast-sha256:)");
            }
            long? size = null;
            if (o["size"] is JsonNode s)
            {
                if (s.GetValueKind() != JsonValueKind.Number || !long.TryParse(s.ToJsonString(), out long v) || v < 0)
                    throw new DataFormatError(path, $"{where}.size", "not a non-negative integer");
                size = v;
            }
            result.Add(new ManifestFile(p, hash, size));
        }
        return result;
    }

    static string RequireString(string path, JsonObject o, string field, string? prefix = null)
    {
        string name = prefix == null ? field : $"{prefix}.{field}";
        if (o[field] is not JsonNode n || n.GetValueKind() != JsonValueKind.String)
            throw new DataFormatError(path, name, "missing or not a string");
        return n.GetValue<string>();
    }

    static JsonObject OptionalObject(string path, JsonObject root, string field)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node == null) return new JsonObject();
        if (node is not JsonObject o) throw new DataFormatError(path, field, "expected a JSON object");
        return (JsonObject)o.DeepClone();
    }
}

/// <summary>
/// Typed, validating reads from a manifest's JSON objects (settings, contents). Errors name the file and
/// the field as <paramref name="prefix"/> + field (e.g. "contents." + "d").
/// </summary>
public static class JsonFields
{
    public static long GetLong(this JsonObject o, string path, string field, long min = long.MinValue, string prefix = "")
    {
        if (o[field] is not JsonNode n || n.GetValueKind() != JsonValueKind.Number
            || !long.TryParse(n.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new DataFormatError(path, prefix + field, "missing or not an integer");
        if (v < min) throw new DataFormatError(path, prefix + field, $"{v} is less than {min}");
        return v;
    }

    public static long? GetOptionalLong(this JsonObject o, string path, string field, long min = long.MinValue, string prefix = "") =>
        o[field] == null ? null : o.GetLong(path, field, min, prefix);

    public static double GetDouble(this JsonObject o, string path, string field, string prefix = "")
    {
        if (o[field] is not JsonNode n || n.GetValueKind() != JsonValueKind.Number)
            throw new DataFormatError(path, prefix + field, "missing or not a number");
        return double.Parse(n.ToJsonString(), CultureInfo.InvariantCulture);
    }

    public static string GetString(this JsonObject o, string path, string field, string prefix = "")
    {
        if (o[field] is not JsonNode n || n.GetValueKind() != JsonValueKind.String)
            throw new DataFormatError(path, prefix + field, "missing or not a string");
        return n.GetValue<string>();
    }

    public static string? GetOptionalString(this JsonObject o, string path, string field, string prefix = "") =>
        o[field] == null ? null : o.GetString(path, field, prefix);

    public static bool GetBool(this JsonObject o, string path, string field, string prefix = "")
    {
        if (o[field] is not JsonNode n || n.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            throw new DataFormatError(path, prefix + field, "missing or not true/false");
        return n.GetValueKind() == JsonValueKind.True;
    }

    public static JsonArray GetArray(this JsonObject o, string path, string field, string prefix = "") =>
        o[field] as JsonArray ?? throw new DataFormatError(path, prefix + field, "missing or not an array");

    public static JsonObject GetObject(this JsonObject o, string path, string field, string prefix = "") =>
        o[field] as JsonObject ?? throw new DataFormatError(path, prefix + field, "missing or not an object");
}
