namespace Mechanist.Text;

/// <summary>
/// Bad input lines met while reading a corpus (invalid JSON, missing field, invalid UTF-8): counted and
/// the first few kept with file and line number, or, when <see cref="Strict"/>, the first one is fatal.
/// </summary>
public sealed class CorpusIssues(bool strict)
{
    const int KeptExamples = 10;
    readonly List<string> _examples = [];

    public bool Strict { get; } = strict;
    public long Count { get; private set; }

    /// <summary>"file:line: problem" for the first few issues.</summary>
    public IReadOnlyList<string> Examples => _examples;

    public void Report(string file, long line, string problem)
    {
        if (Strict) throw new DataFormatError(file, $"line {line}", problem + " (--strict stops at the first bad line)");
        Count++;
        if (_examples.Count < KeptExamples) _examples.Add($"{file}:{line}: {problem}");
    }

    /// <summary>A one-paragraph summary for the user, or null when nothing was wrong.</summary>
    public string? Summary() => Count == 0 ? null
        : $"skipped or repaired {Count:N0} bad line(s); first: " + string.Join("; ", _examples) + (Count > _examples.Count ? "; ..." : "");
}
