using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class TokenStoreTests
{
    static (string Dir, List<string> Texts) Prepare(double validFraction = 0.3, long shardTokens = 1L << 27)
    {
        string dir = TestPaths.NewTempDir();
        var texts = Gpt2.Golden().Take(60).Select(g => g.Text).Where(t => t.Length > 0).ToList();
        File.WriteAllLines(Path.Combine(dir, "docs.jsonl"), texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        string store = Path.Combine(dir, "store");
        TokenStoreWriter.Prepare(new CorpusReader([Path.Combine(dir, "docs.jsonl")]), Gpt2.Tokenizer, store,
            new TokenStoreOptions { ValidFraction = validFraction, Seed = 5, ShardTokens = shardTokens }, IProgressReporter.None);
        return (store, texts);
    }

    [Fact]
    public void DocumentsRoundTripThroughBothSplitsAcrossShards()
    {
        var (store, texts) = Prepare(shardTokens: 1000);
        using var train = TokenStore.Open(store, "train");
        using var valid = TokenStore.Open(store, "valid");
        Assert.Equal(texts.Count, train.DocumentCount + valid.DocumentCount);
        Assert.True(valid.DocumentCount > 0 && train.DocumentCount > valid.DocumentCount);
        Assert.Equal("uint16", train.Dtype);
        Assert.Equal(Gpt2.Tokenizer.Hash, train.TokenizerHash);

        int t = 0, v = 0;
        for (int doc = 0; doc < texts.Count; doc++)
        {
            bool isValid = TokenStoreWriter.IsValid(5, doc, 0.3);
            var split = isValid ? valid : train;
            long index = isValid ? v++ : t++;
            long start = split.DocumentStart(index);
            long end = index + 1 < split.DocumentCount ? split.DocumentStart(index + 1) : split.Count;
            var ids = new int[end - start];
            split.ReadWindow(start, ids);
            Assert.Equal(50256, ids[^1]);
            Assert.Equal(Gpt2.Tokenizer.Encode(texts[doc]), ids[..^1]);
            Assert.Equal(index, split.DocumentOf(start));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => train.ReadWindow(train.Count - 2, new int[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => train.ReadWindow(-1, new int[1]));
    }

    [Fact]
    public void SamplerCoversEveryWindowOncePerEpochAndResumesExactly()
    {
        var (store, _) = Prepare(validFraction: 0);
        using var train = TokenStore.Open(store);
        var sampler = train.SampleWindows(context: 64, seed: 42);
        long n = sampler.WindowsPerEpoch;
        Assert.Equal(train.Count / 65, n);
        var firstEpoch = Enumerable.Range(0, (int)n).Select(_ => sampler.NextStart()).ToList();
        Assert.Equal(Enumerable.Range(0, (int)n).Select(i => (long)i * 65), firstEpoch.Order());
        Assert.NotEqual(firstEpoch, firstEpoch.Order()); // shuffled
        var secondEpoch = Enumerable.Range(0, 5).Select(_ => sampler.NextStart()).ToList();
        Assert.NotEqual(firstEpoch.Take(5), secondEpoch);

        var again = train.SampleWindows(64, 42);
        Assert.Equal(firstEpoch.Take(10), Enumerable.Range(0, 10).Select(_ => again.NextStart()));
        var resumed = train.SampleWindows(64, 42, position: n + 2);
        Assert.Equal(secondEpoch[2], resumed.NextStart());
        var window = new int[65];
        again.Next(window);
        var direct = new int[65];
        train.ReadWindow(firstEpoch[10], direct);
        Assert.Equal(direct, window);
    }

    [Fact]
    public void RefusesToOverwriteWithoutForceAndLeavesNoTemporaryFolders()
    {
        var (store, _) = Prepare();
        var e = Assert.ThrowsAny<UserError>(() => TokenStoreWriter.Prepare(new CorpusReader([Path.Combine(store, "..", "docs.jsonl")]),
            Gpt2.Tokenizer, store, new TokenStoreOptions(), IProgressReporter.None));
        Assert.Contains("--force", e.Message);
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(store)!));
    }

    [Fact]
    public void CorruptStoresAreClearErrors()
    {
        var (store, _) = Prepare(validFraction: 0);
        File.WriteAllBytes(Path.Combine(store, "train-00000.bin"), [1, 2, 3]);
        Assert.Contains("size", Assert.Throws<DataFormatError>(() => TokenStore.Open(store)).Message);
        File.WriteAllText(Path.Combine(store, "meta.json"), "{ nope");
        Assert.Contains("invalid JSON", Assert.Throws<DataFormatError>(() => TokenStore.Open(store)).Message);
        Assert.ThrowsAny<UserError>(() => TokenStore.Open(TestPaths.NewTempDir()));
    }

    [Fact]
    public void OutOfVocabularyTokensAreCaughtOnRead()
    {
        var (store, _) = Prepare(validFraction: 0);
        string shard = Path.Combine(store, "train-00000.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[10] = 0xFF; bytes[11] = 0xFF; // token 5 becomes 65535 > 50257
        File.WriteAllBytes(shard, bytes);
        using var train = TokenStore.Open(store);
        Assert.Throws<DataFormatError>(() => train.ReadWindow(0, new int[8]));
    }
}

public class WideTokenStoreTests
{
    [Fact]
    public void VocabulariesAbove65536UseUint32()
    {
        // 256 byte tokens, then enough special tokens that <|endoftext|> gets id 70,000.
        var tokens = Enumerable.Range(0, 256).Select(b => (byte[]?)[(byte)b]).ToList();
        var special = new Dictionary<string, int>();
        for (int id = 256; id < 70000; id++) { tokens.Add(null); special[$"<|s{id}|>"] = id; }
        tokens.Add(null);
        special["<|endoftext|>"] = 70000;
        var tokenizer = new BpeTokenizer(tokens, [], special);

        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "a.txt"), "héllo");
        string store = Path.Combine(dir, "store");
        var meta = TokenStoreWriter.Prepare(new CorpusReader([Path.Combine(dir, "a.txt")]), tokenizer, store,
            new TokenStoreOptions { ValidFraction = 0 }, IProgressReporter.None);
        Assert.Equal("uint32", meta.Dtype);
        using var train = TokenStore.Open(store);
        var ids = new int[(int)train.Count];
        train.ReadWindow(0, ids);
        Assert.Equal([.. tokenizer.Encode("héllo"), 70000], ids);
        Assert.Equal(4 * train.Count, new FileInfo(Path.Combine(store, "train-00000.bin")).Length);
    }
}
