using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// Bad corpora through `corpus prepare`: one clear error (exit 1) naming the file, where (row, line, byte) and the
/// field, and no token store left behind; <c>--skip-bad-rows</c> goes on and counts.
/// </summary>
public class CorpusBadInputTests
{
    static (string Dir, string Store) Folder()
    {
        string dir = TestPaths.NewTempDir();
        return (dir, Path.Combine(dir, "store"));
    }

    static string Fails(string store, params string[] args)
    {
        var (code, error) = CorpusFormatTests.Prepare(["--out", store, .. args]);
        Assert.True(code == 1, $"exit {code}: {error}");
        Assert.False(Directory.Exists(store), "a token store was left behind");
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(store)!), d => Path.GetFileName(d).StartsWith('.')); // no staging folder
        return error;
    }

    [Fact]
    public void ATruncatedZstdFileIsRefused()
    {
        var (dir, store) = Folder();
        var whole = File.ReadAllBytes(CorpusFiles.WriteZstd(Path.Combine(dir, "whole.jsonl.zst"), CorpusFiles.JsonLinesBytes(CorpusFiles.Documents)));
        string cut = Path.Combine(dir, "pile.jsonl.zst");
        File.WriteAllBytes(cut, whole[..(whole.Length * 2 / 3)]);
        string error = Fails(store, "--input", cut);
        Assert.Contains("pile.jsonl.zst: compressed byte", error);
        Assert.Contains("truncated", error);
        Assert.Contains("truncated", Fails(store, "--input", cut, "--skip-bad-rows")); // a damaged file is not a bad row
    }

    [Theory]
    [InlineData(4)]     // only the size field of the trailer is gone: every line decompresses
    [InlineData(-1)]    // cut in the middle of the deflate data
    public void ATruncatedGzipFileIsRefused(int cutBytes)
    {
        var (dir, store) = Folder();
        var whole = File.ReadAllBytes(CorpusFiles.WriteGzip(Path.Combine(dir, "whole.jsonl.gz"), CorpusFiles.JsonLinesBytes(CorpusFiles.Documents)));
        string cut = Path.Combine(dir, "pile.jsonl.gz");
        File.WriteAllBytes(cut, whole[..(cutBytes > 0 ? whole.Length - cutBytes : whole.Length / 2)]);
        string error = Fails(store, "--input", cut);
        Assert.Contains("pile.jsonl.gz: compressed byte", error);
        Assert.Contains("truncated", error);
    }

    [Fact]
    public void GzipMembersJoinedWithCatAreReadWhole()
    {
        var (dir, store) = Folder();
        var first = File.ReadAllBytes(CorpusFiles.WriteGzip(Path.Combine(dir, "a.gz"), CorpusFiles.JsonLinesBytes(CorpusFiles.Documents.Take(2))));
        var second = File.ReadAllBytes(CorpusFiles.WriteGzip(Path.Combine(dir, "b.gz"), CorpusFiles.JsonLinesBytes(CorpusFiles.Documents.Skip(2))));
        string joined = Path.Combine(dir, "joined.jsonl.gz");
        File.WriteAllBytes(joined, [.. first, .. second]);
        var reader = new CorpusReader([joined]);
        Assert.Equal(CorpusFiles.Documents.Length, reader.ReadPieces().Count(p => p.EndsDocument));

        File.WriteAllBytes(joined, [.. first, .. second[..^4]]); // and the last member cut short is still caught
        Assert.Contains("truncated", Fails(store, "--input", joined));
    }

    [Fact]
    public void AParquetFileWithoutTheTextColumnNamesTheColumnsItHas()
    {
        var (dir, store) = Folder();
        string parquet = CorpusFiles.WriteParquet(Path.Combine(dir, "train-00000.parquet"), CorpusFiles.Documents, textColumn: "content");
        string error = Fails(store, "--input", parquet);
        Assert.Contains("train-00000.parquet: column \"text\": not in this file (--text-field); its columns are id, content, meta.pile_set_name", error);
        Assert.Contains("column \"meta.lang\"", Fails(store, "--input", parquet, "--text-field", "content", "--source-field", "meta.lang"));
        Assert.Equal(0, CorpusFormatTests.Prepare("--out", store, "--input", parquet, "--text-field", "content").Code);
    }

    [Fact]
    public void AWrongTextFieldNamesTheLineTheFieldAndTheKeysThereAre()
    {
        var (dir, store) = Folder();
        string jsonl = CorpusFiles.WriteJsonl(Path.Combine(dir, "pile.jsonl"));
        string error = Fails(store, "--input", jsonl, "--text-field", "content");
        Assert.Contains("pile.jsonl: line 1 (byte 0): missing field \"content\" (--text-field); the line has keys \"text\", \"meta\"", error);
        Assert.Contains("missing field \"meta.lang\" (--source-field)", Fails(store, "--input", jsonl, "--source-field", "meta.lang"));
    }

    [Fact]
    public void ANonUtf8ByteIsNamedByLineAndByteOffset()
    {
        var (dir, store) = Folder();
        string jsonl = Path.Combine(dir, "latin1.jsonl");
        var bytes = new List<byte>(CorpusFiles.JsonLinesBytes(CorpusFiles.Documents.Take(1)));
        int lineStart = bytes.Count;
        bytes.AddRange(Encoding.Latin1.GetBytes("{\"text\": \"caf\u00e9\"}\n"));
        File.WriteAllBytes(jsonl, bytes.ToArray());
        string error = Fails(store, "--input", jsonl);
        Assert.Contains($"latin1.jsonl: line 2 (byte {lineStart + 13}): invalid UTF-8", error);
    }

    [Fact]
    public void AJsonLineThatIsNotAnObjectIsNamedAndSkipBadRowsGoesOnCounting()
    {
        var (dir, store) = Folder();
        string jsonl = Path.Combine(dir, "mixed.jsonl");
        File.WriteAllText(jsonl, CorpusFiles.JsonLine(CorpusFiles.Documents[0]) + "\n[\"an\", \"array\"]\n\"a string\"\n" + CorpusFiles.JsonLine(CorpusFiles.Documents[1]) + "\n");
        Assert.Contains("mixed.jsonl: line 2 (byte ", Fails(store, "--input", jsonl));

        var (code, error) = CorpusFormatTests.Prepare("--out", store, "--input", jsonl, "--skip-bad-rows", "--valid-fraction", "0");
        Assert.True(code == 0, error);
        Assert.Contains("\"bad_lines\": 2,", File.ReadAllText(Path.Combine(store, TokenStoreWriter.MetaFile)));
        using var train = TokenStore.Open(store);
        Assert.Equal(2, train.DocumentCount);
        var reader = new CorpusReader([jsonl], new CorpusOptions { SkipBadRows = true });
        _ = reader.ReadPieces().Count();
        Assert.StartsWith("skipped or repaired 2 bad row(s); first: ", reader.Issues.Summary());
        Assert.Contains("mixed.jsonl: line 3 (byte ", reader.Issues.Examples[1]);
    }

    [Fact]
    public void BinaryFilesThatAreNotACorpusFormatAreRefused()
    {
        var (dir, store) = Folder();
        string named = Path.Combine(dir, "pile.jsonl.zst");
        File.WriteAllText(named, "{\"text\": \"not compressed at all\"}\n");
        Assert.Contains("pile.jsonl.zst: byte 0: the name says Zstandard", Fails(store, "--input", named));

        string xz = Path.Combine(dir, "pile.jsonl.xz");
        File.WriteAllBytes(xz, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1, 2, 3]);
        Assert.Contains("this is xz data", Fails(store, "--input", xz));

        string binary = Path.Combine(dir, "weights.txt");
        File.WriteAllBytes(binary, [(byte)'a', (byte)'b', 0, 0, 1, 2]);
        Assert.Contains("weights.txt: byte 2: binary data", Fails(store, "--input", binary));
    }
}
