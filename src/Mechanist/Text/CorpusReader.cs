using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Mechanist.Text;

/// <summary>A stretch of one document's text; <see cref="EndsDocument"/> marks its last piece.</summary>
/// <param name="Document">Index of the document in reading order (0-based, over all files).</param>
/// <param name="Source">The document's source label, an index into <see cref="CorpusReader.SourceLabels"/>.</param>
public readonly record struct TextPiece(string Text, long Document, bool EndsDocument, int Source = 0);

/// <summary>
/// Streams documents from text files (one document per file), folders (recursive, filtered by include
/// patterns, in ordinal path order), globs (<c>data/train-*.parquet</c>), JSON Lines (one document per line,
/// text in a configurable field, nested fields by dotted path) and Parquet (one document per row, text in a
/// column), text and JSON Lines optionally gzip- or Zstandard-compressed. The format is decided by
/// <see cref="CorpusFormat.Detect"/>; other binary files are refused. Nothing is loaded whole: long documents
/// arrive as several pieces, cut only where <see cref="PreTokenizer.IsSafeCut"/> allows, so encoding the pieces
/// equals encoding the whole. Every document carries a source label (<see cref="CorpusOptions.SourceField"/>).
/// Empty documents are skipped; a bad row is an error naming the file, the row and the field, or with
/// <see cref="CorpusOptions.SkipBadRows"/> is counted in <see cref="Issues"/>.
/// </summary>
public sealed class CorpusReader
{
    /// <summary>Pieces are cut at about this many characters.</summary>
    public const int PieceChars = 1 << 20;

    readonly CorpusOptions _options;
    readonly JsonFields _fields;     // [text, source fields...]
    readonly JsonFields.Value[] _values;
    readonly List<string> _labels = [];
    readonly Dictionary<string, int> _labelIds = new(StringComparer.Ordinal);
    long _finishedBytes;
    long _parquetBytes;  // progress inside the current Parquet file (it is read by row group, not in order)
    FileStream? _current;

    public CorpusReader(IReadOnlyList<string> inputs, CorpusOptions? options = null)
    {
        _options = options ?? new CorpusOptions();
        if (string.IsNullOrWhiteSpace(_options.TextField) || _options.TextField.Split('.').Any(s => s.Length == 0))
            throw new UserError($"--text-field \"{_options.TextField}\" is not a field name (use dots for nested fields: meta.body)");
        if (_options.SourceField != null && (_options.SourceField.Length == 0 || _options.SourceField.Split('.').Any(s => s.Length == 0)))
            throw new UserError($"--source-field \"{_options.SourceField}\" is not a field name (use dots for nested fields: meta.pile_set_name)");
        SourceFields = _options.SourceField != null ? [_options.SourceField] : CorpusOptions.DefaultSourceFields;
        _fields = new JsonFields([_options.TextField, .. SourceFields]);
        _values = new JsonFields.Value[1 + SourceFields.Count];
        Files = ResolveFiles(inputs, _options.Include);
        TotalBytes = Files.Sum(f => new FileInfo(f).Length);
        Issues = new CorpusIssues(_options.SkipBadRows);
    }

    /// <summary>The files that will be read, in order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Fields tried in order for each document's source label (the file name when none is present).</summary>
    public IReadOnlyList<string> SourceFields { get; }

    /// <summary>Size of all files on disk (compressed where they are), for progress.</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes of the files consumed so far (on disk), for progress; safe to read from another thread.</summary>
    public long BytesRead
    {
        get
        {
            long current = Interlocked.Read(ref _parquetBytes);
            try { current = Math.Max(current, Volatile.Read(ref _current)?.Position ?? 0); } catch (ObjectDisposedException) { }
            return Interlocked.Read(ref _finishedBytes) + current;
        }
    }

    public CorpusIssues Issues { get; }

    /// <summary>Documents read so far (those with text).</summary>
    public long Documents { get; private set; }

    /// <summary>The source labels met so far, index = <see cref="TextPiece.Source"/>; complete once reading has finished.</summary>
    public IReadOnlyList<string> SourceLabels => _labels;

    /// <summary>Call after reading everything: an input with no text at all is a mistake, not an empty result.</summary>
    public void RequireText()
    {
        if (Documents > 0) return;
        string inputs = Files.Count == 1 ? Files[0] : $"{Files.Count} files";
        throw new UserError($"no text in {inputs}" + (Issues.Count > 0 ? $" ({Issues.Count:N0} bad row(s) skipped; first: {Issues.Examples[0]})" : " (the files are empty)"));
    }

    /// <summary>
    /// Reads on a background task into batches of about <paramref name="charsPerBatch"/> characters, at most
    /// <paramref name="capacity"/> waiting: one core reads (and decompresses) while the others work on the
    /// batches. Waiting on the task rethrows a reading error (bad file, bad row); cancelling
    /// <paramref name="stopping"/> frees it.
    /// </summary>
    public (BlockingCollection<List<TextPiece>> Batches, Task Reader) ReadBatchesInBackground(
        int charsPerBatch, int capacity, CancellationToken stopping, Action? afterBatch = null)
    {
        var batches = new BlockingCollection<List<TextPiece>>(boundedCapacity: capacity);
        var reader = Task.Factory.StartNew(() =>
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
        }, stopping, TaskCreationOptions.LongRunning, TaskScheduler.Default); // its own thread, not a pool worker the encoders need
        return (batches, reader);
    }

    public IEnumerable<TextPiece> ReadPieces(CancellationToken cancel = default)
    {
        foreach (string file in Files)
        {
            cancel.ThrowIfCancellationRequested();
            var format = CorpusFormat.Detect(file);
            var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            Volatile.Write(ref _current, stream);
            try
            {
                IEnumerable<TextPiece> pieces;
                if (format.Parquet) pieces = ReadParquet(file, stream, cancel);
                else
                {
                    Stream data = format.Compression switch
                    {
                        CorpusCompression.Gzip => new GZipStream(stream, CompressionMode.Decompress),
                        CorpusCompression.Zstd => new ZstdSharp.DecompressionStream(stream, 1 << 17),
                        _ => stream,
                    };
                    var lines = new LineReader(data, file, stream, format.Compression);
                    pieces = format.JsonLines ? ReadJsonLines(file, lines, cancel) : ReadTextFile(file, lines, cancel);
                }
                foreach (var piece in pieces) yield return piece;
            }
            finally
            {
                Volatile.Write(ref _current, null);
                Interlocked.Add(ref _finishedBytes, stream.Length);
                Interlocked.Exchange(ref _parquetBytes, 0);
                stream.Dispose();
            }
        }
    }

    int Label(string label)
    {
        if (_labelIds.TryGetValue(label, out int id)) return id;
        id = _labels.Count;
        _labels.Add(label);
        _labelIds[label] = id;
        return id;
    }

    /// <summary>One document's pieces: a long text is still cut so that no consumer holds more than a piece at once.</summary>
    IEnumerable<TextPiece> Document(string text, int source)
    {
        long document = Documents++;
        int start = 0;
        while (text.Length - start > 2 * PieceChars)
        {
            int cut = PreTokenizer.NextSafeCut(text, start + PieceChars);
            if (cut < 0) break;
            yield return new TextPiece(text[start..cut], document, false, source);
            start = cut;
        }
        yield return new TextPiece(start == 0 ? text : text[start..], document, true, source);
    }

    IEnumerable<TextPiece> ReadJsonLines(string file, LineReader lines, CancellationToken cancel)
    {
        int fileLabel = -1;
        while (lines.Next(keepNewline: false) is { } line)
        {
            if ((lines.LineNumber & 1023) == 0) cancel.ThrowIfCancellationRequested();
            if (line.Span.Trim(" \t\r"u8).IsEmpty) continue;
            if (!ParseLine(file, lines, line.Span, out string? text, out string? source) || string.IsNullOrEmpty(text)) continue;
            int label = source != null ? Label(source) : fileLabel >= 0 ? fileLabel : fileLabel = Label(Path.GetFileName(file));
            foreach (var piece in Document(text, label)) yield return piece;
        }
    }

    /// <summary>The text and source of one JSON line; false (after reporting it) for a bad row.</summary>
    bool ParseLine(string file, LineReader lines, ReadOnlySpan<byte> bytes, out string? text, out string? source)
    {
        text = source = null;
        if (!Utf8.IsValid(bytes))
        {
            Issues.Report(file, $"line {lines.LineNumber:N0} (byte {lines.LineOffset + InvalidUtf8At(bytes):N0})", "invalid UTF-8 (not a UTF-8 byte sequence)");
            return false;
        }
        try
        {
            if (!_fields.TryRead(bytes, _values)) { Issues.Report(file, lines.Where, "not a JSON object (each line must be {\"" + _options.TextField + "\": ...})"); return false; }
        }
        catch (JsonException e)
        {
            Issues.Report(file, lines.Where, $"invalid JSON ({e.Message.Split(" LineNumber")[0]})");
            return false;
        }
        var t = _values[0];
        if (!t.Found)
        {
            Issues.Report(file, lines.Where, $"missing field \"{_options.TextField}\" (--text-field); the line has {KeyList(JsonFields.TopLevelKeys(bytes))}");
            return false;
        }
        if (t.Kind != JsonTokenType.String) { Issues.Report(file, lines.Where, $"field \"{_options.TextField}\" is {t.Kind}, not a string"); return false; }
        text = t.Text;
        for (int i = 1; i < _values.Length; i++)
        {
            var s = _values[i];
            if (!s.Found) continue;
            if (s.Text == null) { Issues.Report(file, lines.Where, $"field \"{SourceFields[i - 1]}\" (the source label) is {s.Kind}, not a string or number"); return false; }
            source = s.Text;
            break;
        }
        if (source == null && _options.SourceField != null)
        {
            Issues.Report(file, lines.Where, $"missing field \"{_options.SourceField}\" (--source-field); the line has {KeyList(JsonFields.TopLevelKeys(bytes))}");
            return false;
        }
        return true;
    }

    static string KeyList(List<string> keys) => keys.Count == 0 ? "no keys" : "keys " + string.Join(", ", keys.Take(12).Select(k => $"\"{k}\"")) + (keys.Count > 12 ? ", ..." : "");

    static int InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out int used) != System.Buffers.OperationStatus.Done) return at;
            at += used;
        }
        return at;
    }

    IEnumerable<TextPiece> ReadParquet(string file, FileStream stream, CancellationToken cancel)
    {
        using var columns = new ParquetColumns(file, stream, _options.TextField, SourceFields, _options.SourceField != null);
        int fileLabel = columns.HasSource ? -1 : Label(Path.GetFileName(file));
        long row = 0;
        for (int group = 0; group < columns.RowGroups; group++)
        {
            cancel.ThrowIfCancellationRequested();
            var (texts, sources) = columns.ReadRowGroup(group, cancel);
            for (int i = 0; i < texts.Length; i++)
            {
                row++;
                string? text = texts[i];
                if (text == null) { Issues.Report(file, $"row {row:N0}", $"column \"{_options.TextField}\" is null"); continue; }
                if (text.Length == 0) continue;
                int label = fileLabel;
                if (sources != null)
                {
                    if (sources[i] is not { } s) { Issues.Report(file, $"row {row:N0}", $"column \"{SourceFields.First()}\" (the source label) is null"); continue; }
                    label = Label(s);
                }
                foreach (var piece in Document(text, label)) yield return piece;
            }
            Interlocked.Exchange(ref _parquetBytes, stream.Length * (group + 1) / columns.RowGroups);
        }
    }

    IEnumerable<TextPiece> ReadTextFile(string file, LineReader lines, CancellationToken cancel)
    {
        var pending = new StringBuilder();
        long document = Documents;
        int label = -1;
        bool any = false;
        while (lines.Next(keepNewline: true) is { } line)
        {
            if ((lines.LineNumber & 1023) == 0) cancel.ThrowIfCancellationRequested();
            var bytes = line.Span;
            if (!Utf8.IsValid(bytes))
                Issues.Report(file, $"line {lines.LineNumber:N0} (byte {lines.LineOffset + InvalidUtf8At(bytes):N0})", "invalid UTF-8 (replaced by U+FFFD)");
            pending.Append(Encoding.UTF8.GetString(bytes));
            if (pending.Length < 2 * PieceChars) continue;
            string text = pending.ToString();
            int cut = PreTokenizer.LastSafeCut(text, 0, PieceChars);
            if (cut < 0) cut = PreTokenizer.NextSafeCut(text, PieceChars);
            if (cut < 0) continue;
            if (!any) { Documents++; any = true; label = Label(Path.GetFileName(file)); }
            yield return new TextPiece(text[..cut], document, false, label);
            pending.Clear().Append(text, cut, text.Length - cut);
        }
        if (pending.Length > 0 || any)
        {
            if (!any) { Documents++; label = Label(Path.GetFileName(file)); }
            yield return new TextPiece(pending.ToString(), document, true, label);
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
            else if (Path.GetFileName(input).IndexOfAny(['*', '?']) >= 0)
            {
                // A quoted glob ('data/train-*.parquet'): the shell left it to us; the pattern is in the file name only.
                string dir = Path.GetDirectoryName(input) is { Length: > 0 } d ? d : ".";
                string pattern = Path.GetFileName(input);
                var found = Directory.Exists(dir)
                    ? Directory.EnumerateFiles(dir).Where(f => GlobMatches(pattern, Path.GetFileName(f))).Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList()
                    : [];
                if (found.Count == 0) throw new UserError($"no files match {input}");
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
