using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// What <see cref="CorpusReader"/> promises beyond the formats themselves: option and input refusals that name
/// the option or the input, progress that adds up to the files' size, batches closed as soon as they are full,
/// cancellation inside a file, long documents in pieces, source labels and bad-row messages.
/// </summary>
public class CorpusReaderContractTests
{
    static string Write(string dir, string name, string content)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    static string JsonLines(params string[] texts) =>
        string.Concat(texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t }) + "\n"));

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("meta..body")]
    [InlineData(".body")]
    public void BadTextFieldIsRefusedNamingTheOption(string field)
    {
        string path = Write(TestPaths.NewTempDir(), "a.jsonl", JsonLines("x"));
        var e = Assert.Throws<UserError>(() => new CorpusReader([path], new CorpusOptions { TextField = field }));
        Assert.Contains($"--text-field \"{field}\"", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("meta..source")]
    [InlineData("source.")]
    public void BadSourceFieldIsRefusedNamingTheOption(string field)
    {
        string path = Write(TestPaths.NewTempDir(), "a.jsonl", JsonLines("x"));
        var e = Assert.Throws<UserError>(() => new CorpusReader([path], new CorpusOptions { SourceField = field }));
        Assert.Contains($"--source-field \"{field}\"", e.Message);
    }

    [Fact]
    public void NestedFieldNamesAreAccepted()
    {
        string path = Write(TestPaths.NewTempDir(), "a.jsonl", "{\"meta\": {\"body\": \"hi\", \"src\": \"s\"}}\n");
        var reader = new CorpusReader([path], new CorpusOptions { TextField = "meta.body", SourceField = "meta.src" });
        Assert.Equal(["hi"], reader.ReadPieces().Select(p => p.Text));
        Assert.Equal(["s"], reader.SourceLabels);
    }

    [Fact]
    public void ProgressCountsEveryFileOnceAndEndsAtTheTotal()
    {
        string dir = TestPaths.NewTempDir();
        string a = Write(dir, "a.jsonl", JsonLines("first", "second"));
        string b = Write(dir, "b.txt", "a plain text document\n");
        string c = CorpusFiles.WriteParquet(Path.Combine(dir, "c.parquet"), CorpusFiles.Documents.Take(3), rowsPerGroup: 2);
        var reader = new CorpusReader([a, b, c]);
        long[] sizes = [.. new[] { a, b, c }.Select(f => new FileInfo(f).Length)];
        Assert.Equal(sizes.Sum(), reader.TotalBytes);
        Assert.Equal(0, reader.BytesRead);
        var seen = new List<(long Document, long Bytes)>();
        foreach (var piece in reader.ReadPieces()) seen.Add((piece.Document, reader.BytesRead));
        Assert.Equal(reader.TotalBytes, reader.BytesRead);
        // While the first file is read, progress is inside it; while the second, past the first.
        Assert.InRange(seen[0].Bytes, 1, sizes[0]);
        Assert.InRange(seen[2].Bytes, sizes[0] + 1, sizes[0] + sizes[1]);
        Assert.All(seen.Skip(3), s => Assert.InRange(s.Bytes, sizes[0] + sizes[1] + 1, reader.TotalBytes));
        Assert.Equal(6, reader.Documents);
    }

    [Fact]
    public void RequireTextNamesTheEmptyInputAndTheSkippedRows()
    {
        string dir = TestPaths.NewTempDir();
        string empty = Write(dir, "empty.jsonl", "\n  \n");
        var one = new CorpusReader([empty]);
        one.ReadPieces().ToList();
        var e = Assert.Throws<UserError>(one.RequireText);
        Assert.Contains($"no text in {empty} (the files are empty)", e.Message);

        string other = Write(dir, "other.txt", "");
        var two = new CorpusReader([empty, other]);
        two.ReadPieces().ToList();
        Assert.Contains("no text in 2 files", Assert.Throws<UserError>(two.RequireText).Message);

        string bad = Write(dir, "bad.jsonl", "[1]\n{\"text\": \"\"}\n");
        var skipping = new CorpusReader([bad], new CorpusOptions { SkipBadRows = true });
        Assert.Empty(skipping.ReadPieces());
        var skipped = Assert.Throws<UserError>(skipping.RequireText).Message;
        Assert.Contains("1 bad row(s) skipped; first: ", skipped);
        Assert.Contains("bad.jsonl: line 1", skipped);

        var good = new CorpusReader([Write(dir, "good.jsonl", JsonLines("x"))]);
        good.ReadPieces().ToList();
        good.RequireText();
    }

    [Fact]
    public void EmptyJsonTextIsSkippedNotCounted()
    {
        string path = Write(TestPaths.NewTempDir(), "a.jsonl", JsonLines("one", "", "two"));
        var reader = new CorpusReader([path]);
        var pieces = reader.ReadPieces().ToList();
        Assert.Equal(["one", "two"], pieces.Select(p => p.Text));
        Assert.Equal([0L, 1], pieces.Select(p => p.Document));
        Assert.Equal(2, reader.Documents);
        Assert.Equal(0, reader.Issues.Count);
    }

    [Theory]
    [InlineData(5, new[] { 2, 2, 1 })]
    [InlineData(4, new[] { 2, 2 })]
    public void BatchesCloseAsSoonAsTheyHoldEnoughCharacters(int documents, int[] batchSizes)
    {
        string path = Write(TestPaths.NewTempDir(), "a.jsonl", JsonLines([.. Enumerable.Range(0, documents).Select(i => $"document{i}")])); // 9 chars each
        int afterBatch = 0;
        var (batches, task) = new CorpusReader([path]).ReadBatchesInBackground(18, 8, CancellationToken.None, () => afterBatch++);
        var got = batches.GetConsumingEnumerable().ToList();
        task.Wait();
        Assert.Equal(batchSizes, got.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, documents).Select(i => $"document{i}"), got.SelectMany(b => b).Select(p => p.Text));
        Assert.Equal(documents / 2, afterBatch); // once per full batch, not for the last partial one
    }

    [Fact]
    public void CancellingStopsBeforeAFileAndInsideAJsonLinesFile()
    {
        string path = Write(TestPaths.NewTempDir(), "many.jsonl", JsonLines([.. Enumerable.Range(0, 1100).Select(i => $"d{i}")]));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => new CorpusReader([path]).ReadPieces(cancelled.Token).ToList());

        using var later = new CancellationTokenSource();
        int read = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in new CorpusReader([path]).ReadPieces(later.Token)) { read++; later.Cancel(); }
        });
        Assert.InRange(read, 1, 1024);
    }

    [Fact]
    public void ALongJsonDocumentArrivesInPiecesOfOneDocument()
    {
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < 2 * CorpusReader.PieceChars + 300_000; i++) sb.Append("word").Append(i % 97).Append(i % 13 == 0 ? ".\n" : " ");
        string text = sb.ToString();
        string path = Write(TestPaths.NewTempDir(), "long.jsonl", JsonLines("short", text, "after"));
        var reader = new CorpusReader([path]);
        var pieces = reader.ReadPieces().ToList();
        var longPieces = pieces.Where(p => p.Document == 1).ToList();
        Assert.True(longPieces.Count >= 2, $"{longPieces.Count} piece(s)");
        Assert.Equal(text, string.Concat(longPieces.Select(p => p.Text)));
        Assert.All(longPieces[..^1], p => Assert.False(p.EndsDocument));
        Assert.True(longPieces[^1].EndsDocument);
        Assert.All(longPieces, p => Assert.InRange(p.Text.Length, 1, 2 * CorpusReader.PieceChars));
        Assert.Equal(PreTokenizer.Split(text), longPieces.SelectMany(p => PreTokenizer.Split(p.Text)));
        Assert.Equal(["short", "after"], pieces.Where(p => p.Document != 1).Select(p => p.Text));
        Assert.Equal(3, reader.Documents);
    }

    [Fact]
    public void ALongTextFileIsOneDocumentInPiecesOfAboutPieceChars()
    {
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < 2 * CorpusReader.PieceChars + 300_000; i++) sb.Append("line ").Append(i).Append(" of a long file\n");
        string text = sb.ToString();
        string dir = TestPaths.NewTempDir();
        string first = Write(dir, "a.txt", "before\n");
        string path = Write(dir, "long.txt", text);
        var reader = new CorpusReader([first, path]);
        var pieces = reader.ReadPieces().ToList();
        Assert.Equal(2, reader.Documents);
        Assert.Equal(["a.txt", "long.txt"], reader.SourceLabels);
        var longPieces = pieces.Skip(1).ToList();
        Assert.True(longPieces.Count >= 2, $"{longPieces.Count} piece(s)");
        Assert.All(longPieces, p => Assert.Equal(1, p.Document));
        Assert.All(longPieces, p => Assert.Equal(1, p.Source));
        Assert.All(longPieces[..^1], p => Assert.False(p.EndsDocument));
        Assert.True(longPieces[^1].EndsDocument);
        Assert.All(longPieces[..^1], p => Assert.InRange(p.Text.Length, CorpusReader.PieceChars / 2, 2 * CorpusReader.PieceChars));
        Assert.Equal(text, string.Concat(longPieces.Select(p => p.Text)));

        // Cancelled after its first piece, the file is not read to its end.
        using var stop = new CancellationTokenSource();
        int read = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in new CorpusReader([path]).ReadPieces(stop.Token)) { read++; stop.Cancel(); }
        });
        Assert.Equal(1, read);
    }

    [Fact]
    public void SourceLabelsComeFromTheFirstFieldFoundElseTheFileName()
    {
        string path = Write(TestPaths.NewTempDir(), "mixed.jsonl",
            "{\"text\": \"a\", \"meta\": {\"pile_set_name\": \"Pile-CC\", \"source\": \"other\"}}\n" +
            "{\"text\": \"b\"}\n" +
            "{\"text\": \"c\", \"meta\": {\"source\": \"web\"}}\n" +
            "{\"text\": \"d\"}\n");
        var reader = new CorpusReader([path]);
        Assert.Equal([0, 1, 2, 1], reader.ReadPieces().Select(p => p.Source));
        Assert.Equal(["Pile-CC", "mixed.jsonl", "web"], reader.SourceLabels);
    }

    [Fact]
    public void ASourceLabelThatIsNotAStringIsABadRow()
    {
        string path = Write(TestPaths.NewTempDir(), "s.jsonl",
            "{\"text\": \"a\", \"meta\": {\"pile_set_name\": {\"x\": 1}}}\n{\"text\": \"b\"}\n");
        var e = Assert.Throws<DataFormatError>(() => new CorpusReader([path]).ReadPieces().ToList());
        Assert.Equal("line 1 (byte 0)", e.Field);
        Assert.Contains("field \"meta.pile_set_name\" (the source label) is StartObject, not a string or number", e.Problem);

        var skipping = new CorpusReader([path], new CorpusOptions { SkipBadRows = true });
        Assert.Equal(["b"], skipping.ReadPieces().Select(p => p.Text));
        Assert.Equal(1, skipping.Issues.Count);
    }

    [Fact]
    public void AMissingSourceFieldIsABadRowWhenOneIsAskedFor()
    {
        string path = Write(TestPaths.NewTempDir(), "s.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\", \"src\": \"x\"}\n");
        var e = Assert.Throws<DataFormatError>(() => new CorpusReader([path], new CorpusOptions { SourceField = "src" }).ReadPieces().ToList());
        Assert.Contains("missing field \"src\" (--source-field); the line has keys \"text\"", e.Problem);
        var skipping = new CorpusReader([path], new CorpusOptions { SourceField = "src", SkipBadRows = true });
        Assert.Equal(["b"], skipping.ReadPieces().Select(p => p.Text));
        Assert.Equal(["x"], skipping.SourceLabels);
    }

    [Fact]
    public void BadRowMessagesSayWhatTheLineHas()
    {
        string twelve = "{" + string.Join(", ", Enumerable.Range(0, 12).Select(i => $"\"k{i}\": 1")) + "}";
        string thirteen = "{" + string.Join(", ", Enumerable.Range(0, 13).Select(i => $"\"k{i}\": 1")) + "}";
        string path = Write(TestPaths.NewTempDir(), "b.jsonl", "{}\n" + twelve + "\n" + thirteen + "\n\"str\"\n{\"text\": tru}\n");
        var reader = new CorpusReader([path], new CorpusOptions { SkipBadRows = true });
        Assert.Empty(reader.ReadPieces());
        var ex = reader.Issues.Examples;
        Assert.EndsWith("missing field \"text\" (--text-field); the line has no keys", ex[0]);
        Assert.EndsWith("the line has keys " + string.Join(", ", Enumerable.Range(0, 12).Select(i => $"\"k{i}\"")), ex[1]);
        Assert.EndsWith("the line has keys " + string.Join(", ", Enumerable.Range(0, 12).Select(i => $"\"k{i}\"")) + ", ...", ex[2]);
        Assert.EndsWith("not a JSON object (each line must be {\"text\": ...})", ex[3]);
        Assert.Contains("invalid JSON (", ex[4]);
        Assert.DoesNotContain("LineNumber", ex[4]);
    }

    [Fact]
    public void InputsThatResolveToNothingAreNamed()
    {
        Assert.Contains("no corpus input given", Assert.Throws<UserError>(() => new CorpusReader([])).Message);
        string dir = TestPaths.NewTempDir();
        Write(dir, "a.bin", "x");
        var folder = Assert.Throws<UserError>(() => new CorpusReader([dir], new CorpusOptions { Include = ["*.txt", "*.jsonl"] })).Message;
        Assert.Contains("*.txt, *.jsonl", folder);
        Assert.Contains(dir, folder);
        string noDir = Path.Combine(dir, "absent", "*.txt");
        Assert.Contains($"no files match {noDir}", Assert.Throws<UserError>(() => new CorpusReader([noDir])).Message);
        string noMatch = Path.Combine(dir, "*.txt");
        Assert.Contains($"no files match {noMatch}", Assert.Throws<UserError>(() => new CorpusReader([noMatch])).Message);
    }

    [Fact]
    public void AGlobWhoseNameStartsWithAStarFindsItsFiles()
    {
        string dir = TestPaths.NewTempDir();
        string b = Write(dir, "b.txt", "two");
        string a = Write(dir, "a.txt", "one");
        Write(dir, "c.md", "no");
        var reader = new CorpusReader([Path.Combine(dir, "*.txt")]);
        Assert.Equal([a, b], reader.Files);
        Assert.Equal(["one", "two"], reader.ReadPieces().Select(p => p.Text));
    }

    [Theory]
    [InlineData("ab", "xab", false)]
    [InlineData("abc", "xbc", false)]
    [InlineData("abc", "ab", false)]
    [InlineData("abc*", "abc", true)]
    [InlineData("a**", "a", true)]
    [InlineData("a*c", "abbbc", true)]
    [InlineData("a*c", "abbbd", false)]
    public void GlobMatchesWholeNames(string pattern, string name, bool matches) =>
        Assert.Equal(matches, CorpusReader.GlobMatches(pattern, name));
}
