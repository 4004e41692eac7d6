using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mechanist.IO;

/// <summary>
/// A training log: one JSON object per line, each with a "step", appended and flushed as training goes so that
/// `tail -f` and plotting tools can follow it. A run resumed from a checkpoint first drops the lines written after
/// the checkpoint's step (they describe steps that will be taken again), so the log always matches the weights.
/// </summary>
public sealed class StepLog : IDisposable
{
    readonly StreamWriter _writer;

    StepLog(string path) =>
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));

    /// <summary>Opens <paramref name="path"/> for appending: empty for a fresh run, trimmed to steps ≤ <paramref name="resumeStep"/> on resume.</summary>
    public static StepLog Open(string path, long? resumeStep)
    {
        if (resumeStep is long step) Trim(path, step);
        else if (File.Exists(path)) File.Delete(path);
        return new StepLog(path);
    }

    /// <summary>
    /// Keeps the lines whose "step" is at most <paramref name="upToStep"/> (atomically) and returns them; lines cut
    /// short by a crash are dropped.
    /// </summary>
    public static List<JsonObject> Trim(string path, long upToStep)
    {
        var kept = new List<JsonObject>();
        if (!File.Exists(path)) return kept;
        var lines = new List<string>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0) continue;
            JsonObject? o;
            try { o = JsonNode.Parse(line) as JsonObject; } catch (JsonException) { continue; }
            if (o == null) continue;
            long st = o["step"] is JsonValue v && v.TryGetValue(out long s) ? s : long.MaxValue;
            if (st > upToStep) continue;
            kept.Add(o);
            lines.Add(line);
        }
        AtomicFile.WriteAllText(path, lines.Count == 0 ? "" : string.Join("\n", lines) + "\n");
        return kept;
    }

    public void Write(JsonObject entry)
    {
        _writer.Write(entry.ToJsonString());
        _writer.Write('\n');
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();
}
