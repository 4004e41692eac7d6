using System.Text;
using System.Text.Json;

namespace Mechanist.Explain;

/// <summary>
/// One explainer run's results, two JSON Lines files appended as each unit finishes: the results file
/// (units with an explanation, e.g. <c>explanations.jsonl</c>; the feature store reads every run's, see
/// <see cref="ExplanationFiles"/>) and its <c>*.failures.jsonl</c> beside it (units whose explainer failed, with their error counts; a
/// resumed run retries them). When a unit appears twice in a file the last line wins; units in
/// explanations.jsonl are skipped by a resumed run.
/// </summary>
public sealed class ExplanationStore : IDisposable
{
    readonly JsonLinesLog _done, _failed;
    readonly object _gate = new();
    readonly Dictionary<(string, int), ExplanationResult> _results, _failures;

    public string Path { get; }
    public string FailuresPath { get; }

    ExplanationStore(string path, JsonLinesLog done, JsonLinesLog failed,
        Dictionary<(string, int), ExplanationResult> results, Dictionary<(string, int), ExplanationResult> failures)
    {
        Path = path; FailuresPath = failed.Path; _done = done; _failed = failed; _results = results; _failures = failures;
    }

    public static string FailuresPathFor(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            System.IO.Path.GetFileNameWithoutExtension(path) + ".failures.jsonl");

    /// <summary>Opens (or creates) both files for appending, reading what earlier runs finished.</summary>
    public static ExplanationStore Open(string path)
    {
        var done = JsonLinesLog.Open(path, requireExplanation: true, out var results);
        try
        {
            var failed = JsonLinesLog.Open(FailuresPathFor(path), requireExplanation: false, out var failures);
            return new ExplanationStore(path, done, failed, results, failures);
        }
        catch
        {
            done.Dispose();
            throw;
        }
    }

    /// <summary>Every explained unit's latest result, in (kind, id) order.</summary>
    public static IReadOnlyList<ExplanationResult> ReadAll(string path) =>
        JsonLinesLog.Read(path, requireExplanation: true).Values.OrderBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Id).ToList();

    /// <summary>
    /// Every line of a results file with its line number, in file order (a unit may appear more than once;
    /// the last wins): for readers that check each record against something else, e.g. a feature store's ids.
    /// </summary>
    public static IReadOnlyList<(int Line, ExplanationResult Result)> ReadLines(string path) =>
        JsonLinesLog.ReadLines(path, requireExplanation: true);

    /// <summary>Units that failed and have not been explained since, with their errors.</summary>
    public static IReadOnlyList<ExplanationResult> ReadFailures(string path)
    {
        var done = File.Exists(path) ? JsonLinesLog.Read(path, true) : [];
        string failures = FailuresPathFor(path);
        if (!File.Exists(failures)) return [];
        return JsonLinesLog.Read(failures, false).Values.Where(r => !done.ContainsKey((r.Kind, r.Id)))
            .OrderBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Id).ToList();
    }

    public bool IsFinished(string kind, int id)
    {
        lock (_gate) return _results.ContainsKey((kind, id));
    }

    public IReadOnlyList<ExplanationResult> Results
    {
        get { lock (_gate) return _results.Values.ToList(); }
    }

    public void Append(ExplanationResult result)
    {
        lock (_gate)
        {
            if (result.Explanation is null)
            {
                _failed.Append(result);
                _failures[(result.Kind, result.Id)] = result;
            }
            else
            {
                _done.Append(result);
                _results[(result.Kind, result.Id)] = result;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _done.Dispose();
            _failed.Dispose();
        }
    }
}

/// <summary>
/// An append-only JSON Lines file of results. Each line goes to the operating system in one write (a
/// killed process leaves whole lines); the file is fsynced at least once a second and on close; a torn
/// last line (power cut mid-write) is cut off on opening.
/// </summary>
sealed class JsonLinesLog : IDisposable
{
    readonly FileStream _file;
    long _lastSync = Environment.TickCount64;
    int _unsynced;

    public string Path { get; }

    JsonLinesLog(string path, FileStream file) { Path = path; _file = file; }

    public static JsonLinesLog Open(string path, bool requireExplanation, out Dictionary<(string, int), ExplanationResult> results)
    {
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            long valid;
            (results, valid) = ReadFrom(file, path, requireExplanation);
            if (valid < file.Length) file.SetLength(valid);
            file.Seek(0, SeekOrigin.End);
            return new JsonLinesLog(path, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public static Dictionary<(string, int), ExplanationResult> Read(string path, bool requireExplanation)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ReadFrom(file, path, requireExplanation).Results;
    }

    public static List<(int Line, ExplanationResult Result)> ReadLines(string path, bool requireExplanation)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ParseLines(file, path, requireExplanation).Lines;
    }

    static (Dictionary<(string, int), ExplanationResult> Results, long ValidLength) ReadFrom(FileStream file, string path, bool requireExplanation)
    {
        var (lines, valid) = ParseLines(file, path, requireExplanation);
        var results = new Dictionary<(string, int), ExplanationResult>();
        foreach (var (_, r) in lines) results[(r.Kind, r.Id)] = r;
        return (results, valid);
    }

    /// <summary>The whole lines of the file, parsed; the length up to the last newline (a torn last line is left out).</summary>
    static (List<(int Line, ExplanationResult Result)> Lines, long ValidLength) ParseLines(FileStream file, string path, bool requireExplanation)
    {
        var results = new List<(int, ExplanationResult)>();
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
            if (span.Trim((byte)' ').Trim((byte)'\r').Length > 0)
            {
                ExplanationResult? r;
                try { r = JsonSerializer.Deserialize<ExplanationResult>(span, ExplanationResult.Json); }
                catch (JsonException e) { throw new DataFormatError(path, $"line {line}", $"not a valid explanation record ({e.Message})", e); }
                if (r is null) throw new DataFormatError(path, $"line {line}", "null record");
                if (requireExplanation && string.IsNullOrEmpty(r.Explanation)) throw new DataFormatError(path, $"line {line}.explanation", "missing");
                if (r.Kind is not ("feature" or "neuron")) throw new DataFormatError(path, $"line {line}.kind", $"expected \"feature\" or \"neuron\", found \"{r.Kind}\"");
                results.Add((line, r));
            }
            start = end + 1;
        }
        return (results, bytes.Length);
    }

    public void Append(ExplanationResult result)
    {
        _file.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(result, ExplanationResult.Json) + "\n"));
        _file.Flush(flushToDisk: false); // in the OS now: survives the process being killed
        if (++_unsynced >= 64 || Environment.TickCount64 - _lastSync >= 1000)
        {
            _file.Flush(flushToDisk: true);
            _unsynced = 0;
            _lastSync = Environment.TickCount64;
        }
    }

    public void Dispose()
    {
        _file.Flush(flushToDisk: true);
        _file.Dispose();
    }
}
