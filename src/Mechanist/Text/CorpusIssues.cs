namespace Mechanist.Text;

/// <summary>
/// Bad rows met while reading a corpus (invalid JSON or UTF-8, a missing field, a line that is not an object):
/// unless skipping was asked for (<c>--skip-bad-rows</c>) the first one is fatal, an error naming the file,
/// the row and its byte offset, and the field; when skipping they are counted and the first few kept.
/// </summary>
public sealed class CorpusIssues(bool skipBadRows)
{
    const int KeptExamples = 10;
    readonly List<string> _examples = [];

    public bool SkipBadRows { get; } = skipBadRows;
    public long Count { get; private set; }

    /// <summary>"file: where: problem" for the first few issues.</summary>
    public IReadOnlyList<string> Examples => _examples;

    /// <param name="where">The row, e.g. "line 12 (byte 3,456)" or "row 7".</param>
    public void Report(string file, string where, string problem)
    {
        if (!SkipBadRows) throw new DataFormatError(file, where, problem + " (--skip-bad-rows skips such rows and counts them)");
        Count++;
        if (_examples.Count < KeptExamples) _examples.Add($"{file}: {where}: {problem}");
    }

    /// <summary>A one-paragraph summary for the user, or null when nothing was wrong.</summary>
    public string? Summary() => Count == 0 ? null
        : $"skipped or repaired {Count:N0} bad row(s); first: " + string.Join("; ", _examples) + (Count > _examples.Count ? "; ..." : "");
}
