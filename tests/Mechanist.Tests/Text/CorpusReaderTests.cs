using System.IO.Compression;
using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class CorpusReaderTests
{
    static List<(string Text, long Document)> Documents(CorpusReader reader)
    {
        var docs = new List<(string, long)>();
        var current = new StringBuilder();
        foreach (var piece in reader.ReadPieces())
        {
            current.Append(piece.Text);
            if (piece.EndsDocument) { docs.Add((current.ToString(), piece.Document)); current.Clear(); }
        }
        return docs;
    }

    static void WriteGzip(string path, string content)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(content));
    }

    [Fact]
    public void ReadsFoldersRecursivelyInOrderWithIncludePatterns()
    {
        string dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "b.txt"), "second\r\nfile");
        File.WriteAllText(Path.Combine(dir, "a.jsonl"), "{\"text\": \"one\"}\n\n{\"id\": 3, \"text\": \"two\", \"x\": [1, {\"y\": 2}]}\n");
        WriteGzip(Path.Combine(dir, "sub", "c.jsonl.gz"), "{\"text\": \"three\"}\n");
        File.WriteAllText(Path.Combine(dir, "ignored.csv"), "not read");
        var docs = Documents(new CorpusReader([dir]));
        Assert.Equal(["one", "two", "second\r\nfile", "three"], docs.Select(d => d.Text));
        Assert.Equal([0L, 1, 2, 3], docs.Select(d => d.Document));

        var onlyText = Documents(new CorpusReader([dir], new CorpusOptions { Include = ["*.txt"] }));
        Assert.Equal(["second\r\nfile"], onlyText.Select(d => d.Text));
    }

    [Fact]
    public void BadLinesAreCountedWithFileLineAndByteWhenSkipping()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "bad.jsonl");
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\": \"good\"}\n{\"text\": \"broken\n{\"other\": \"x\"}\n{\"text\": 5}\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\": \"bad "));
        bytes.Add(0xFF);
        bytes.AddRange(Encoding.UTF8.GetBytes("\"}\n[1, 2]\n{\"text\": \"also good\"}\n"));
        File.WriteAllBytes(path, bytes.ToArray());
        var reader = new CorpusReader([path], new CorpusOptions { SkipBadRows = true });
        Assert.Equal(["good", "also good"], Documents(reader).Select(d => d.Text));
        Assert.Equal(5, reader.Issues.Count);
        Assert.Contains("bad.jsonl: line 2 (byte 17): invalid JSON", reader.Issues.Examples[0]);
        Assert.Contains("bad.jsonl: line 3 (byte 34): missing field \"text\"", reader.Issues.Examples[1]);
        Assert.Contains("bad.jsonl: line 4 (byte 49): field \"text\" is Number", reader.Issues.Examples[2]);
        Assert.Contains("bad.jsonl: line 5 (byte 75): invalid UTF-8", reader.Issues.Examples[3]); // the 0xFF, 14 bytes into line 5
        Assert.Contains("bad.jsonl: line 6 (byte 79): not a JSON object", reader.Issues.Examples[4]);

        var e = Assert.Throws<DataFormatError>(() => Documents(new CorpusReader([path])));
        Assert.Equal("line 2 (byte 17)", e.Field);
    }

    [Fact]
    public void CustomFieldIsRead()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "c.jsonl");
        File.WriteAllText(path, "{\"text\": \"no\", \"content\": \"yes\"}\n");
        Assert.Equal(["yes"], Documents(new CorpusReader([path], new CorpusOptions { TextField = "content" })).Select(d => d.Text));
    }

    [Fact]
    public void InvalidUtf8InTextFilesIsAnErrorOrWithSkipReplacedAndReported()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "t.txt");
        File.WriteAllBytes(path, [(byte)'o', (byte)'k', (byte)'\n', (byte)'x', 0xC3, (byte)'\n']);
        var e = Assert.Throws<DataFormatError>(() => Documents(new CorpusReader([path])));
        Assert.Equal("line 2 (byte 4)", e.Field);
        var reader = new CorpusReader([path], new CorpusOptions { SkipBadRows = true });
        Assert.Equal(["ok\nx\uFFFD\n"], Documents(reader).Select(d => d.Text));
        Assert.Contains("t.txt: line 2 (byte 4): invalid UTF-8", reader.Issues.Examples[0]);
    }

    [Fact]
    public void CorruptGzipAndMissingInputsAreClearErrors()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "x.jsonl.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Throws<DataFormatError>(() => Documents(new CorpusReader([path])));
        Assert.ThrowsAny<UserError>(() => new CorpusReader([Path.Combine(dir, "missing.txt")]));
        Assert.ThrowsAny<UserError>(() => new CorpusReader([TestPaths.NewTempDir()]));
    }

    [Fact]
    public void LongTextFilesArriveInPiecesThatEncodeLikeTheWhole()
    {
        var random = new Random(11);
        string[] words = ["alpha", "beta", "  ", "\n", "\n\n", "γάμμα", "42", "!!", "\t", "it's"];
        var sb = new StringBuilder();
        while (sb.Length < 3 * CorpusReader.PieceChars) sb.Append(words[random.Next(words.Length)]).Append(random.Next(3) == 0 ? "" : " ");
        string text = sb.ToString();
        string path = Path.Combine(TestPaths.NewTempDir(), "long.txt");
        File.WriteAllText(path, text);
        var pieces = new CorpusReader([path]).ReadPieces().ToList();
        Assert.True(pieces.Count >= 2);
        Assert.Equal(text, string.Concat(pieces.Select(p => p.Text)));
        var joined = pieces.SelectMany(p => PreTokenizer.Split(p.Text)).ToList();
        Assert.Equal(PreTokenizer.Split(text), joined);
    }

    [Theory]
    [InlineData("*.jsonl.gz", "a.jsonl.gz", true)]
    [InlineData("*.jsonl", "a.jsonl.gz", false)]
    [InlineData("data-??.txt", "DATA-01.txt", true)]
    [InlineData("*", "anything", true)]
    public void GlobPatterns(string pattern, string name, bool matches) => Assert.Equal(matches, CorpusReader.GlobMatches(pattern, name));
}
