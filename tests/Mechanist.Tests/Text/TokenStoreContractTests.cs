using System.Text.Json.Nodes;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// What <see cref="TokenStore"/> promises about a store written by hand: every broken field of meta.json, every
/// missing or wrong-sized file is refused with the file and the field named; reads are exact across shard
/// boundaries and empty shards; out-of-vocabulary ids are caught at the token that holds them.
/// </summary>
public class TokenStoreContractTests
{
    // Two documents: [1 2 3 4 EOT] [5 6 EOT], split over shards of 5 and 3 tokens.
    static HandTokenStore Base(bool sources = false) =>
        HandTokenStore.Make([[1, 2, 3, 4, 99], [5, 6, 99]], [0, 5],
            sources: sources ? [0, 1] : null, labels: sources ? ["web", "books"] : null);

    [Fact]
    public void ReadsTokensDocumentsAndSourcesAcrossShards()
    {
        var h = Base(sources: true);
        using var store = h.Open();
        Assert.Equal(8, store.Count);
        Assert.Equal(2, store.DocumentCount);
        Assert.Equal(100, store.VocabSize);
        Assert.Equal(99, store.EndOfText);
        Assert.Equal("abc123", store.TokenizerHash);
        Assert.Equal("uint16", store.Dtype);
        var all = new int[8];
        store.ReadWindow(0, all);
        Assert.Equal([1, 2, 3, 4, 99, 5, 6, 99], all);
        var across = new int[3];
        store.ReadWindow(4, across);
        Assert.Equal([99, 5, 6], across);
        Assert.Equal(5, store[5]);
        Assert.Equal(99, store[7]);
        store.ReadWindow(8, Span<int>.Empty); // an empty window at the end is a valid no-op

        Assert.Equal([0L, 0, 0, 0, 0, 1, 1, 1], Enumerable.Range(0, 8).Select(i => store.DocumentOf(i)));
        Assert.Equal(5, store.DocumentStart(1));
        Assert.True(store.HasSources);
        Assert.Equal(["web", "books"], store.SourceLabels);
        Assert.Equal(0, store.DocumentSource(0));
        Assert.Equal(1, store.DocumentSource(1));
    }

    [Fact]
    public void OutOfRangeReadsNameTheWindowAndTheSplit()
    {
        using var store = Base().Open();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadWindow(6, new int[3]));
        Assert.Contains("[6, 9)", e.Message);
        Assert.Contains("train", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadWindow(-1, new int[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.DocumentOf(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.DocumentOf(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => store[8]);
    }

    [Fact]
    public void StoreWithoutSourcesHasNone()
    {
        var h = Base();
        h.Train["document_sources"] = 5; // not a string: treated as absent, like a store written before sources
        using var store = h.Open();
        Assert.False(store.HasSources);
        Assert.Empty(store.SourceLabels);
        Assert.Equal(-1, store.DocumentSource(1));
    }

    [Fact]
    public void SourceLabelsFileDefaultsToSourcesJsonAndFollowsMeta()
    {
        var h = Base(sources: true);
        h.Meta.Remove("source_labels");
        using (var store = h.Open()) Assert.Equal(["web", "books"], store.SourceLabels);
        h.Meta["source_labels"] = 3; // not a string: the default name
        using (var store = h.Open()) Assert.Equal(["web", "books"], store.SourceLabels);
        File.Move(h.PathOf("sources.json"), h.PathOf("labels.json"));
        h.Meta["source_labels"] = "labels.json";
        using (var store = h.Open()) Assert.Equal(["web", "books"], store.SourceLabels);
    }

    [Fact]
    public void EmptyShardsAreSkippedAndDisposeCleanly()
    {
        var h = HandTokenStore.Make([[], [1, 2], [], [3, 99], []], [0]);
        var store = h.Open();
        Assert.Equal(4, store.Count);
        var ids = new int[4];
        store.ReadWindow(0, ids);
        Assert.Equal([1, 2, 3, 99], ids);
        Assert.Equal(3, store[2]);
        store.Dispose();
    }

    [Fact]
    public void Uint16HoldsAVocabularyOfExactly65536()
    {
        var h = HandTokenStore.Make([[65535, 65535]], [0], vocab: 65536);
        using var store = h.Open();
        Assert.Equal(65535, store[1]);
        h.Meta["tokenizer"]!["vocab_size"] = 65537;
        Assert.Contains("65537", h.Refuses("dtype").Problem);
    }

    [Fact]
    public void IdEqualToTheVocabularySizeIsRefusedAtItsToken()
    {
        // uint16: the bad id is token 2 of the second shard; reading from shard offset 1 puts it at position 1 of the read.
        var h = HandTokenStore.Make([[1, 2, 3], [4, 5, 100, 6]], [0]);
        using (var store = h.Open())
        {
            Assert.Equal(5, store[4]);
            var e = Assert.Throws<DataFormatError>(() => store.ReadWindow(4, new int[3]));
            Assert.Equal(h.PathOf("train-00001.bin"), e.FilePath);
            Assert.Equal("token 2", e.Field);
            Assert.Contains("id 100", e.Problem);
            Assert.Contains("vocabulary of 100", e.Problem);
            var first = Assert.Throws<DataFormatError>(() => store.ReadWindow(5, new int[1])); // the bad id first in the read
            Assert.Equal("token 2", first.Field);
        }
        // uint32, vocabulary above 65536.
        var wide = HandTokenStore.Make([[69999, 70000]], [0], dtype: "uint32", vocab: 70000);
        using (var store = wide.Open())
        {
            Assert.Equal(69999, store[0]);
            Assert.Equal("token 1", Assert.Throws<DataFormatError>(() => store.ReadWindow(0, new int[2])).Field);
        }
    }

    [Fact]
    public void MissingStoreAndBadDocumentsNameTheFile()
    {
        string empty = TestPaths.NewTempDir();
        var missing = Assert.Throws<UserError>(() => TokenStore.Open(empty));
        Assert.Contains(empty, missing.Message);
        Assert.Contains("meta.json", missing.Message);

        var h = Base();
        File.WriteAllText(h.MetaPath, "[1, 2]");
        var notObject = Assert.Throws<DataFormatError>(() => TokenStore.Open(h.Dir));
        Assert.Equal("(document)", notObject.Field);
        Assert.Contains("JSON object", notObject.Problem);
        File.WriteAllText(h.MetaPath, "{ nope");
        var invalid = Assert.Throws<DataFormatError>(() => TokenStore.Open(h.Dir));
        Assert.Equal("(document)", invalid.Field);
        Assert.Equal(h.MetaPath, invalid.FilePath);
    }

    public static TheoryData<string> MetaBreakages() => [.. Breakages.Keys];

    /// <summary>One broken field of meta.json each, and the field the error must name.</summary>
    static readonly Dictionary<string, (Action<JsonObject, JsonObject> Break, string Field)> Breakages = new()
    {
        ["format missing"] = ((m, _) => m.Remove("format"), "format"),
        ["format a number"] = ((m, _) => m["format"] = 7, "format"),
        ["format another"] = ((m, _) => m["format"] = "other.tokens", "format"),
        ["tokenizer missing"] = ((m, _) => m.Remove("tokenizer"), "tokenizer"),
        ["tokenizer a string"] = ((m, _) => m["tokenizer"] = "gpt2", "tokenizer"),
        ["hash missing"] = ((m, _) => m["tokenizer"]!.AsObject().Remove("hash"), "tokenizer.hash"),
        ["vocab negative"] = ((m, _) => m["tokenizer"]!["vocab_size"] = -1, "tokenizer.vocab_size"),
        ["vocab a string"] = ((m, _) => m["tokenizer"]!["vocab_size"] = "100", "tokenizer.vocab_size"),
        ["eot missing"] = ((m, _) => m["tokenizer"]!.AsObject().Remove("end_of_text"), "tokenizer.end_of_text"),
        ["dtype missing"] = ((m, _) => m.Remove("dtype"), "dtype"),
        ["dtype int8"] = ((m, _) => m["dtype"] = "int8", "dtype"),
        ["splits missing"] = ((m, _) => m.Remove("splits"), "splits.train"),
        ["train missing"] = ((m, _) => m["splits"]!.AsObject().Remove("train"), "splits.train"),
        ["shards missing"] = ((_, t) => t.Remove("shards"), "splits.train.shards"),
        ["shards an object"] = ((_, t) => t["shards"] = new JsonObject(), "splits.train.shards"),
        ["second shard file missing"] = ((_, t) => t["shards"]![1]!.AsObject().Remove("file"), "splits.train.shards[1].file"),
        ["shard file in a folder"] = ((_, t) => t["shards"]![0]!["file"] = "sub/train-00000.bin", "splits.train.shards[0].file"),
        ["shard file with backslash"] = ((_, t) => t["shards"]![0]!["file"] = "sub\\train-00000.bin", "splits.train.shards[0].file"),
        ["shard file with dots"] = ((_, t) => t["shards"]![0]!["file"] = "..train-00000.bin", "splits.train.shards[0].file"),
        ["shard tokens missing"] = ((_, t) => t["shards"]![0]!.AsObject().Remove("tokens"), "splits.train.shards[0].tokens"),
        ["shard absent"] = ((_, t) => t["shards"]![1]!["file"] = "train-00009.bin", "splits.train.shards[1]"),
        ["split tokens wrong"] = ((_, t) => t["tokens"] = 9, "splits.train.tokens"),
        ["split tokens missing"] = ((_, t) => t.Remove("tokens"), "splits.train.tokens"),
        ["document starts missing"] = ((_, t) => t.Remove("document_starts"), "splits.train.document_starts"),
        ["document starts absent"] = ((_, t) => t["document_starts"] = "nope.docs.bin", "splits.train.document_starts"),
        ["documents wrong"] = ((_, t) => t["documents"] = 3, "splits.train.documents"),
        ["labels absent"] = ((m, _) => m["source_labels"] = "nope.json", "source_labels"),
        ["sources absent"] = ((_, t) => t["document_sources"] = "nope.sources.bin", "splits.train.document_sources"),
    };

    [Theory]
    [MemberData(nameof(MetaBreakages))]
    public void BrokenMetaFieldIsNamed(string breakage)
    {
        var h = Base(sources: true);
        using (h.Open()) { } // intact, it opens
        var (breakIt, field) = Breakages[breakage];
        breakIt(h.Meta, h.Train);
        h.Refuses(field);
    }

    [Fact]
    public void AnotherSplitIsNamedWhenMissing()
    {
        var h = Base();
        Assert.Contains("no such split", h.Refuses("splits.valid", split: "valid").Problem);
    }

    [Fact]
    public void VocabularyBeyondIntIsRefused()
    {
        // 2^32 + 100 would wrap to a plausible 100 if narrowed unchecked.
        var h = Base();
        h.Meta["tokenizer"]!["vocab_size"] = 4294967396L;
        Assert.Contains("too large", h.Refuses("tokenizer.vocab_size").Problem);
        h = Base();
        h.Meta["tokenizer"]!["end_of_text"] = 4294967395L;
        Assert.Contains("too large", h.Refuses("tokenizer.end_of_text").Problem);
        var widest = HandTokenStore.Make([[1, 2]], [0], dtype: "uint32", vocab: int.MaxValue); // the largest that fits
        using var store = widest.Open();
        Assert.Equal(int.MaxValue, store.VocabSize);
    }

    [Fact]
    public void WrongSizedFilesNameTheFileAndSize()
    {
        var h = Base(sources: true);
        File.WriteAllBytes(h.PathOf("train-00001.bin"), [1, 0, 2, 0]);
        Assert.Contains("3 tokens of 2 bytes", h.Refuses("size", h.PathOf("train-00001.bin")).Problem);

        h = Base(sources: true);
        File.WriteAllBytes(h.PathOf("train.docs.bin"), new byte[7]);
        h.Refuses("size", h.PathOf("train.docs.bin"));

        h = Base(sources: true);
        File.WriteAllBytes(h.PathOf("train.sources.bin"), new byte[4]);
        Assert.Contains("2 documents", h.Refuses("size", h.PathOf("train.sources.bin")).Problem);
    }

    [Theory]
    [InlineData(new long[] { -1, 5 }, "offset 0")]
    [InlineData(new long[] { 0, 8 }, "offset 1")]   // the count itself is past the end
    [InlineData(new long[] { 0, 9 }, "offset 1")]
    [InlineData(new long[] { 5, 0 }, "offset 1")]   // out of order
    [InlineData(new long[] { 0, 0 }, "offset 1")]   // a repeated start is an empty document
    public void BadDocumentStartsNameTheOffset(long[] starts, string field)
    {
        var h = Base();
        File.WriteAllBytes(h.PathOf("train.docs.bin"), HandTokenStore.Int64s(starts));
        Assert.Contains("0..7", h.Refuses(field, h.PathOf("train.docs.bin")).Problem);
    }

    [Fact]
    public void BadSourceLabelsNameTheFile()
    {
        var h = Base(sources: true);
        File.WriteAllBytes(h.PathOf("train.sources.bin"), HandTokenStore.UInt32s([1, 2]));
        var e = h.Refuses("document 1", h.PathOf("train.sources.bin"));
        Assert.Contains("label 2", e.Problem);
        Assert.Contains("2 labels", e.Problem);

        foreach (string labels in new[] { "{ nope", "null", "[1, 2]" })
        {
            h = Base(sources: true);
            File.WriteAllText(h.PathOf("sources.json"), labels);
            Assert.Contains("JSON array of strings", h.Refuses("(document)", h.PathOf("sources.json")).Problem);
        }
    }

    [Fact]
    public void SamplerRefusesBadContextsAndPositions()
    {
        using var store = Base().Open(); // 8 tokens
        Assert.Throws<ArgumentOutOfRangeException>(() => store.SampleWindows(0, 1));
        Assert.Equal(4, store.SampleWindows(1, 1).WindowsPerEpoch);
        Assert.Equal(1, store.SampleWindows(7, 1).WindowsPerEpoch);
        var tooLong = Assert.Throws<UserError>(() => store.SampleWindows(8, 1));
        Assert.Contains("8 tokens", tooLong.Message);
        Assert.Contains("window of 9", tooLong.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.SampleWindows(1, 1, position: -1));
        var sampler = store.SampleWindows(1, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Seek(-1));
        Assert.Throws<ArgumentException>(() => sampler.Next(new int[3]));
    }

    [Fact]
    public void SamplerOrderIsFixedBySeedAndEpoch()
    {
        // The order is part of the checkpoint format: a saved Position must mean the same windows in every build.
        var h = HandTokenStore.Make([Enumerable.Range(0, 20).ToArray()], [0]);
        using var store = h.Open();
        var sampler = store.SampleWindows(1, seed: 42);
        Assert.Equal(0, sampler.Epoch);
        var starts = Enumerable.Range(0, 20).Select(_ => sampler.NextStart() / 2).ToArray();
        Assert.Equal(2, sampler.Epoch);
        Assert.Equal(GoldenOrder, string.Join(",", starts));
        var seeked = store.SampleWindows(1, seed: 42);
        seeked.Seek(13);
        Assert.Equal(1, seeked.Epoch);
        Assert.Equal(starts[13] * 2, seeked.NextStart());
        var window = new int[2];
        seeked.Next(window);
        Assert.Equal([(int)starts[14] * 2, (int)starts[14] * 2 + 1], window);
    }

    const string GoldenOrder = "9,7,6,2,1,8,4,3,5,0,5,0,2,9,1,7,8,6,4,3"; // seed 42, 10 windows, epochs 0 and 1
}
