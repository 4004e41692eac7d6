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
    public static StepLog Open(string path, long? resumeStep, Action<string>? warn = null)
    {
        if (resumeStep is long step) Trim(path, step, warn);
        else if (File.Exists(path)) File.Delete(path);
        return new StepLog(path);
    }

    /// <summary>
    /// Keeps the lines whose "step" is at most <paramref name="upToStep"/> (atomically) and returns them.
    /// Repair: a last line without its newline was cut short by a crash while being written; it is dropped and
    /// <paramref name="warn"/> (standard error by default) says so. Any other line that is not a JSON object with
    /// an integer "step" means the log was damaged some other way: a <see cref="DataFormatError"/> naming the line,
    /// and the file is left as it was.
    /// </summary>
    public static List<JsonObject> Trim(string path, long upToStep, Action<string>? warn = null)
    {
        var kept = new List<JsonObject>();
        if (!File.Exists(path)) return kept;
        string text = File.ReadAllText(path);
        var lines = new List<string>();
        int number = 0;
        for (int start = 0; start < text.Length;)
        {
            int newline = text.IndexOf('\n', start);
            bool complete = newline >= 0;
            string line = text[start..(complete ? newline : text.Length)];
            start = complete ? newline + 1 : text.Length;
            number++;
            if (line.Length == 0) continue;
            var o = ParseEntry(line);
            if (o == null && !complete)
            {
                (warn ?? (m => Console.Error.WriteLine($"warning: {m}")))(
                    $"{path}: line {number}: dropped a last line cut short by a crash ({Encoding.UTF8.GetByteCount(line)} bytes without a newline)");
                break;
            }
            if (o == null) throw new DataFormatError(path, $"line {number}", "not a JSON object with an integer \"step\"; the log is damaged (fix or delete that line to resume)");
            if (o["step"]!.GetValue<long>() > upToStep) continue;
            kept.Add(o);
            lines.Add(line);
        }
        AtomicFile.WriteAllText(path, lines.Count == 0 ? "" : string.Join("\n", lines) + "\n");
        return kept;
    }

    /// <summary>The line as a JSON object with an integer "step", or null.</summary>
    static JsonObject? ParseEntry(string line)
    {
        try
        {
            return JsonNode.Parse(line) is JsonObject o && o["step"] is JsonValue v && v.TryGetValue(out long _) ? o : null;
        }
        catch (JsonException) { return null; }
    }

    public void Write(JsonObject entry)
    {
        _writer.Write(entry.ToJsonString());
        _writer.Write('\n');
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();
}
