using System.Text;
using System.Text.Json;

namespace Mechanist.Explain;

/// <summary>
/// explanations.jsonl: one JSON object per line, appended as each unit finishes. Each line goes to the
/// operating system in one write (so a killed process leaves whole lines), and the file is fsynced at
/// least once a second and on close. A torn last line from a power cut is cut off on reopening. When a unit
/// appears twice the last line wins; units with an explanation are skipped by a resumed run.
/// </summary>
public sealed class ExplanationStore : IDisposable
{
    readonly FileStream _file;
    readonly object _gate = new();
    readonly Dictionary<(string, int), ExplanationResult> _results;
    long _lastSync = Environment.TickCount64;
    int _unsynced;

    public string Path { get; }

    ExplanationStore(string path, FileStream file, Dictionary<(string, int), ExplanationResult> results)
    {
        Path = path; _file = file; _results = results;
    }

    /// <summary>Opens (or creates) the file for appending, reading what earlier runs finished.</summary>
    public static ExplanationStore Open(string path)
    {
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var (results, validLength) = ReadFrom(file, path);
            if (validLength < file.Length) file.SetLength(validLength); // torn last line
            file.Seek(0, SeekOrigin.End);
            return new ExplanationStore(path, file, results);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Every unit's latest result in a finished or partial file, for the browser and reports.</summary>
    public static IReadOnlyList<ExplanationResult> ReadAll(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ReadFrom(file, path).Results.Values.OrderBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Id).ToList();
    }

    static (Dictionary<(string, int), ExplanationResult> Results, long ValidLength) ReadFrom(FileStream file, string path)
    {
        var results = new Dictionary<(string, int), ExplanationResult>();
        file.Seek(0, SeekOrigin.Begin);
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        int start = 0, line = 0;
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0) return (results, start); // no newline: an unfinished write
            line++;
            var span = bytes.AsSpan(start, end - start);
            if (span.Trim((byte)' ').Length > 0)
            {
                ExplanationResult? r;
                try { r = JsonSerializer.Deserialize<ExplanationResult>(span, ExplanationResult.Json); }
                catch (JsonException e) { throw new DataFormatError(path, $"line {line}", $"not a valid explanation record ({e.Message})", e); }
                if (r is null) throw new DataFormatError(path, $"line {line}", "null record");
                results[(r.Kind, r.Id)] = r;
            }
            start = end + 1;
        }
        return (results, bytes.Length);
    }

    public bool IsFinished(string kind, int id)
    {
        lock (_gate) return _results.TryGetValue((kind, id), out var r) && r.Explanation is not null;
    }

    public IReadOnlyList<ExplanationResult> Results
    {
        get { lock (_gate) return _results.Values.ToList(); }
    }

    public void Append(ExplanationResult result)
    {
        byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, ExplanationResult.Json) + "\n");
        lock (_gate)
        {
            _file.Write(line);
            _file.Flush(flushToDisk: false); // in the OS: survives the process being killed
            _results[(result.Kind, result.Id)] = result;
            if (++_unsynced >= 64 || Environment.TickCount64 - _lastSync >= 1000) Sync();
        }
    }

    void Sync()
    {
        _file.Flush(flushToDisk: true);
        _unsynced = 0;
        _lastSync = Environment.TickCount64;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            Sync();
            _file.Dispose();
        }
    }
}
