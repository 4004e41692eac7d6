using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Mechanist.Text;

/// <summary>A stretch of one document's text; <see cref="EndsDocument"/> marks its last piece.</summary>
/// <param name="Document">Index of the document in reading order (0-based, over all files).</param>
public readonly record struct TextPiece(string Text, long Document, bool EndsDocument);

/// <summary>How to read a corpus.</summary>
public sealed record CorpusOptions
{
    /// <summary>The JSON Lines field that holds each document's text.</summary>
    public string TextField { get; init; } = "text";

    /// <summary>File-name patterns (<c>*</c>, <c>?</c>) picked up when an input is a folder; files named directly are always read.</summary>
    public IReadOnlyList<string> Include { get; init; } = DefaultInclude;

    /// <summary>Stop at the first bad line instead of counting it.</summary>
    public bool Strict { get; init; }

    public static readonly IReadOnlyList<string> DefaultInclude =
        ["*.txt", "*.text", "*.md", "*.jsonl", "*.ndjson", "*.txt.gz", "*.text.gz", "*.md.gz", "*.jsonl.gz", "*.ndjson.gz"];
}

/// <summary>
/// Streams documents from text files (one document per file), folders (recursive, filtered by include
/// patterns, in ordinal path order) and JSON Lines (one document per line, text in a configurable field),
/// each optionally gzip-compressed. Nothing is loaded whole: long documents arrive as several pieces, cut
/// only where <see cref="PreTokenizer.IsSafeCut"/> allows, so encoding the pieces equals encoding the whole.
/// Empty documents are skipped. Bad lines go to <see cref="Issues"/> with file and line number.
/// </summary>
public sealed class CorpusReader
{
    /// <summary>Pieces are cut at about this many characters.</summary>
    public const int PieceChars = 1 << 20;

    readonly CorpusOptions _options;
    readonly byte[] _field;
    long _finishedBytes;
    FileStream? _current;

    public CorpusReader(IReadOnlyList<string> inputs, CorpusOptions? options = null)
    {
        _options = options ?? new CorpusOptions();
        _field = Encoding.UTF8.GetBytes(_options.TextField);
        Files = ResolveFiles(inputs, _options.Include);
        TotalBytes = Files.Sum(f => new FileInfo(f).Length);
        Issues = new CorpusIssues(_options.Strict);
    }

    /// <summary>The files that will be read, in order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Size of all files on disk (compressed where they are), for progress.</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes of the files consumed so far (on disk), for progress; safe to read from another thread.</summary>
    public long BytesRead
    {
        get
        {
            long current = 0;
            try { current = Volatile.Read(ref _current)?.Position ?? 0; } catch (ObjectDisposedException) { }
            return Interlocked.Read(ref _finishedBytes) + current;
        }
    }

    public CorpusIssues Issues { get; }

    /// <summary>Documents read so far (those with text).</summary>
    public long Documents { get; private set; }

    /// <summary>Call after reading everything: an input with no text at all is a mistake, not an empty result.</summary>
    public void RequireText()
    {
        if (Documents > 0) return;
        string inputs = Files.Count == 1 ? Files[0] : $"{Files.Count} files";
        throw new UserError($"no text in {inputs}" + (Issues.Count > 0 ? $" ({Issues.Count:N0} bad line(s) skipped; first: {Issues.Examples[0]})" : " (the files are empty)"));
    }

    public static bool IsJsonLines(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Reads on a background task into batches of about <paramref name="charsPerBatch"/> characters, at most
    /// <paramref name="capacity"/> waiting: one core reads while the others work on the batches. Waiting on
    /// the task rethrows a reading error (bad file, --strict); cancelling <paramref name="stopping"/> frees it.
    /// </summary>
    public (BlockingCollection<List<TextPiece>> Batches, Task Reader) ReadBatchesInBackground(
        int charsPerBatch, int capacity, CancellationToken stopping, Action? afterBatch = null)
    {
        var batches = new BlockingCollection<List<TextPiece>>(boundedCapacity: capacity);
        var reader = Task.Run(() =>
        {
            try
            {
                var batch = new List<TextPiece>();
                long chars = 0;
                foreach (var piece in ReadPieces(stopping))
                {
                    batch.Add(piece);
                    chars += piece.Text.Length;
                    if (chars < charsPerBatch) continue;
                    batches.Add(batch, stopping);
                    batch = [];
                    chars = 0;
                    afterBatch?.Invoke();
                }
                if (batch.Count > 0) batches.Add(batch, stopping);
            }
            finally { batches.CompleteAdding(); }
        }, stopping);
        return (batches, reader);
    }

    public IEnumerable<TextPiece> ReadPieces(CancellationToken cancel = default)
    {
        foreach (string file in Files)
        {
            cancel.ThrowIfCancellationRequested();
            var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            Volatile.Write(ref _current, stream);
            try
            {
                Stream data = file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
                var lines = new LineReader(data, file);
                var pieces = IsJsonLines(file) ? ReadJsonLines(file, lines, cancel) : ReadTextFile(file, lines, cancel);
                foreach (var piece in pieces) yield return piece;
            }
            finally
            {
                Volatile.Write(ref _current, null);
                Interlocked.Add(ref _finishedBytes, stream.Length);
                stream.Dispose();
            }
        }
    }

    IEnumerable<TextPiece> ReadJsonLines(string file, LineReader lines, CancellationToken cancel)
    {
        while (lines.Next(keepNewline: false) is { } line)
        {
            if ((lines.LineNumber & 1023) == 0) cancel.ThrowIfCancellationRequested();
            var bytes = line.Span;
            if (bytes.Trim(" \t\r"u8).IsEmpty) continue;
            string? text = ParseLine(file, lines.LineNumber, bytes);
            if (string.IsNullOrEmpty(text)) continue;
            long document = Documents++;
            // A long document is still cut into pieces so that no consumer holds more than a piece at once.
            int start = 0;
            while (text.Length - start > 2 * PieceChars)
            {
                int cut = PreTokenizer.NextSafeCut(text, start + PieceChars);
                if (cut < 0) break;
                yield return new TextPiece(text[start..cut], document, false);
                start = cut;
            }
            yield return new TextPiece(start == 0 ? text : text[start..], document, true);
        }
    }

    string? ParseLine(string file, long lineNumber, ReadOnlySpan<byte> bytes)
    {
        if (!Utf8.IsValid(bytes)) { Issues.Report(file, lineNumber, "invalid UTF-8"); return null; }
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { Issues.Report(file, lineNumber, "not a JSON object"); return null; }
            string? text = null;
            bool found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool match = reader.ValueTextEquals(_field);
                reader.Read();
                if (match && !found)
                {
                    found = true;
                    if (reader.TokenType != JsonTokenType.String) { Issues.Report(file, lineNumber, $"field \"{_options.TextField}\" is {reader.TokenType}, not a string"); return null; }
                    text = reader.GetString();
                }
                else reader.Skip();
            }
            if (reader.Read()) { Issues.Report(file, lineNumber, "invalid JSON (text after the object)"); return null; }
            if (!found) { Issues.Report(file, lineNumber, $"missing field \"{_options.TextField}\""); return null; }
            return text;
        }
        catch (JsonException e)
        {
            Issues.Report(file, lineNumber, $"invalid JSON ({e.Message.Split(" LineNumber")[0]})");
            return null;
        }
    }

    IEnumerable<TextPiece> ReadTextFile(string file, LineReader lines, CancellationToken cancel)
    {
        var pending = new StringBuilder();
        long document = Documents;
        bool any = false;
        while (lines.Next(keepNewline: true) is { } line)
        {
            if ((lines.LineNumber & 1023) == 0) cancel.ThrowIfCancellationRequested();
            var bytes = line.Span;
            if (!Utf8.IsValid(bytes)) Issues.Report(file, lines.LineNumber, "invalid UTF-8 (replaced by U+FFFD)");
            pending.Append(Encoding.UTF8.GetString(bytes));
            if (pending.Length < 2 * PieceChars) continue;
            string text = pending.ToString();
            int cut = PreTokenizer.LastSafeCut(text, 0, PieceChars);
            if (cut < 0) cut = PreTokenizer.NextSafeCut(text, PieceChars);
            if (cut < 0) continue;
            if (!any) { Documents++; any = true; }
            yield return new TextPiece(text[..cut], document, false);
            pending.Clear().Append(text, cut, text.Length - cut);
        }
        if (pending.Length > 0 || any)
        {
            if (!any) Documents++;
            yield return new TextPiece(pending.ToString(), document, true);
        }
    }

    static IReadOnlyList<string> ResolveFiles(IReadOnlyList<string> inputs, IReadOnlyList<string> include)
    {
        if (inputs.Count == 0) throw new UserError("no corpus input given");
        var files = new List<string>();
        foreach (string input in inputs)
        {
            if (File.Exists(input)) files.Add(Path.GetFullPath(input));
            else if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => include.Any(p => GlobMatches(p, Path.GetFileName(f))))
                    .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new UserError($"no files matching {string.Join(", ", include)} under {input}");
                files.AddRange(found);
            }
            else throw new UserError($"corpus input not found: {input}");
        }
        return files;
    }

    /// <summary>Whole-name match with <c>*</c> (any run) and <c>?</c> (one character), case-insensitive.</summary>
    public static bool GlobMatches(string pattern, string name)
    {
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(name[n]))) { p++; n++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = n; }
            else if (star >= 0) { p = star + 1; n = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}

/// <summary>Reads a byte stream line by line without decoding, so that bad bytes can be reported by line.</summary>
sealed class LineReader(Stream stream, string path)
{
    byte[] _buffer = new byte[1 << 20];
    int _start, _end;
    bool _eof;

    public long LineNumber { get; private set; }

    /// <summary>The next line (valid until the next call), with its '\n' if asked; null at the end.</summary>
    public ReadOnlyMemory<byte>? Next(bool keepNewline)
    {
        int searched = 0;
        while (true)
        {
            int newline = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int length = searched + newline;
                var line = new ReadOnlyMemory<byte>(_buffer, _start, keepNewline ? length + 1 : length);
                _start += length + 1;
                LineNumber++;
                return line;
            }
            searched = _end - _start;
            if (_eof)
            {
                if (_start == _end) return null;
                var last = new ReadOnlyMemory<byte>(_buffer, _start, _end - _start);
                _start = _end;
                LineNumber++;
                return last;
            }
            Fill();
        }
    }

    void Fill()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read;
        try { read = stream.Read(_buffer, _end, _buffer.Length - _end); }
        catch (InvalidDataException e) { throw new DataFormatError(path, $"line {LineNumber + 1}", $"corrupt gzip data ({e.Message})", e); }
        if (read == 0) _eof = true;
        _end += read;
    }
}
