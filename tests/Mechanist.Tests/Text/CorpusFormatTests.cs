using System.CommandLine;
using Mechanist.Cli.Commands;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>Zstandard and Parquet corpora, made with the libraries, read through `corpus prepare` to the same store as plain JSON Lines.</summary>
public class CorpusFormatTests
{
    internal static (int Code, string Error) Prepare(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(CorpusCommands.Create());
        var error = new StringWriter();
        string[] split = args.Contains("--valid-fraction") ? [] : ["--valid-fraction", "0.3"];
        int code = Mechanist.Cli.CommandLine.Run(root, ["corpus", "prepare", "--tokenizer", Gpt2.Dir, .. split, .. args], error);
        return (code, error.ToString());
    }

    /// <summary>Every file of the store except meta.json (which names the inputs): shards, document starts, sources.</summary>
    static Dictionary<string, byte[]> StoreFiles(string store) =>
        Directory.GetFiles(store).Where(f => Path.GetFileName(f) != TokenStoreWriter.MetaFile)
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    static void AssertSameStore(string expected, string actual)
    {
        var a = StoreFiles(expected);
        var b = StoreFiles(actual);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs");
    }

    [Fact]
    public void ZstdGzipAndParquetGiveTheTokensAndSourcesOfPlainJsonLines()
    {
        string dir = TestPaths.NewTempDir();
        string jsonl = CorpusFiles.WriteJsonl(Path.Combine(dir, "pile.jsonl"));
        var bytes = File.ReadAllBytes(jsonl);
        string zst = CorpusFiles.WriteZstd(Path.Combine(dir, "pile.jsonl.zst"), bytes);
        string gz = CorpusFiles.WriteGzip(Path.Combine(dir, "pile.jsonl.gz"), bytes);
        string parquet = CorpusFiles.WriteParquet(Path.Combine(dir, "pile.parquet"), CorpusFiles.Documents);
        Directory.CreateDirectory(Path.Combine(dir, "shards"));
        CorpusFiles.WriteParquet(Path.Combine(dir, "shards", "train-00000-of-00002.parquet"), CorpusFiles.Documents.Take(3), rowsPerGroup: 2);
        CorpusFiles.WriteParquet(Path.Combine(dir, "shards", "train-00001-of-00002.parquet"), CorpusFiles.Documents.Skip(3), rowsPerGroup: 2);

        string Store(string name, params string[] input)
        {
            string store = Path.Combine(dir, name);
            var (code, error) = Prepare(["--out", store, "--input", .. input]);
            Assert.True(code == 0, error);
            return store;
        }
        string plain = Store("plain", jsonl);
        AssertSameStore(plain, Store("zst", zst));
        AssertSameStore(plain, Store("gz", gz));
        AssertSameStore(plain, Store("parquet", parquet));
        AssertSameStore(plain, Store("folder", Path.Combine(dir, "shards")));
        AssertSameStore(plain, Store("glob", Path.Combine(dir, "shards", "train-*.parquet")));

        // The tokens are the documents' own, and each document kept its meta.pile_set_name.
        using var train = TokenStore.Open(plain, "train");
        using var valid = TokenStore.Open(plain, "valid");
        Assert.Equal(["Pile-CC", "Github", "Wikipedia (en)", "FreeLaw"], train.SourceLabels);
        int t = 0, v = 0;
        for (int doc = 0; doc < CorpusFiles.Documents.Length; doc++)
        {
            var split = TokenStoreWriter.IsValid(0, doc, 0.3) ? valid : train;
            long index = split == valid ? v++ : t++;
            long start = split.DocumentStart(index);
            long end = index + 1 < split.DocumentCount ? split.DocumentStart(index + 1) : split.Count;
            var ids = new int[end - start];
            split.ReadWindow(start, ids);
            Assert.Equal(Gpt2.Tokenizer.Encode(CorpusFiles.Documents[doc].Text), ids[..^1]);
            Assert.Equal(CorpusFiles.Documents[doc].Source, split.SourceLabels[split.DocumentSource(index)]);
        }
    }

    [Fact]
    public void TextFieldAndSourceFieldReachNestedFieldsAndTheFileNameIsTheFallbackSource()
    {
        string dir = TestPaths.NewTempDir();
        string nested = Path.Combine(dir, "nested.jsonl");
        File.WriteAllLines(nested, ["{\"body\": {\"text\": \"inner one\"}, \"lang\": \"en\"}", "{\"lang\": 7, \"body\": {\"text\": \"inner two\"}}"]);
        var reader = new CorpusReader([nested], new CorpusOptions { TextField = "body.text", SourceField = "lang" });
        var pieces = reader.ReadPieces().ToList();
        Assert.Equal(["inner one", "inner two"], pieces.Select(p => p.Text));
        Assert.Equal(["en", "7"], pieces.Select(p => reader.SourceLabels[p.Source]));

        // --field is the old name of --text-field; without meta.* fields each document is labelled by its file.
        string plain = Path.Combine(dir, "plain.jsonl"), text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(plain, "{\"content\": \"no meta here\"}\n");
        File.WriteAllText(text, "a text file");
        string store = Path.Combine(dir, "store");
        var (code, error) = Prepare("--out", store, "--input", plain, text, "--field", "content", "--valid-fraction", "0");
        Assert.True(code == 0, error);
        using var train = TokenStore.Open(store);
        Assert.Equal(["plain.jsonl", "notes.txt"], train.SourceLabels);
        Assert.Equal([0, 1], new[] { train.DocumentSource(0), train.DocumentSource(1) });
    }

    [Fact]
    public void AStoreWithoutSourceFilesStillOpens()
    {
        string dir = TestPaths.NewTempDir();
        string store = Path.Combine(dir, "store");
        Assert.Equal(0, Prepare("--out", store, "--input", CorpusFiles.WriteJsonl(Path.Combine(dir, "a.jsonl"))).Code);
        // As written before sources were kept: no sources.json, no document_sources in meta.json.
        File.Delete(Path.Combine(store, TokenStoreWriter.SourceLabelsFile));
        string meta = File.ReadAllText(Path.Combine(store, TokenStoreWriter.MetaFile));
        File.WriteAllText(Path.Combine(store, TokenStoreWriter.MetaFile), System.Text.RegularExpressions.Regex.Replace(meta, "\"document_sources\": \"[^\"]+\",?", ""));
        using var train = TokenStore.Open(store);
        Assert.False(train.HasSources);
        Assert.Empty(train.SourceLabels);
        Assert.Equal(-1, train.DocumentSource(0));
    }
}
