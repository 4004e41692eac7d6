using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class BpeTrainerTests
{
    static readonly string[] Texts =
    [
        "the cat sat on the mat. the cat is fat.",
        "The theory of the thing: they then thought that these were there.",
        "low lower lowest newer newest wider widest 123 1234 12345",
        "שלום שלום 안녕 안녕 👍👍 \r\n\r\n  indented   code();",
    ];

    [Fact]
    public void LearnsTheMostFrequentPairFirstAndRoundTrips()
    {
        var tokenizer = BpeTrainer.Train(Texts, 300);
        Assert.Equal(300, tokenizer.VocabSize);
        Assert.Equal(299, tokenizer.EndOfText);
        // " t" (Ġt) or "th" — "he" and "th" are the top pairs; check the first merge is indeed the most frequent pair.
        var counts = new Dictionary<(byte, byte), int>();
        foreach (string text in Texts)
            foreach (string piece in PreTokenizer.Split(text))
            {
                byte[] b = System.Text.Encoding.UTF8.GetBytes(piece);
                for (int i = 0; i + 1 < b.Length; i++) counts[(b[i], b[i + 1])] = counts.GetValueOrDefault((b[i], b[i + 1])) + 1;
            }
        int top = counts.Values.Max();
        var best = counts.Where(p => p.Value == top).Select(p => p.Key).Order().First(); // ties: smallest bytes
        Assert.Equal((best.Item1, best.Item2), ((byte)tokenizer.Merges[0].Left, (byte)tokenizer.Merges[0].Right));
        foreach (string text in Texts) Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.True(tokenizer.Encode(Texts[0]).Length < System.Text.Encoding.UTF8.GetByteCount(Texts[0]) * 3 / 4);
    }

    [Fact]
    public void IsDeterministicAndSavesLoadably()
    {
        var a = BpeTrainer.Train(Texts, 320);
        var b = BpeTrainer.Train(Texts.Reverse(), 320); // counting order must not matter
        Assert.Equal(a.Hash, b.Hash);
        string dir = TestPaths.NewTempDir();
        TokenizerFiles.Save(a, dir);
        var loaded = TokenizerFiles.Load(dir);
        Assert.Equal(a.Hash, loaded.Hash);
        Assert.Equal(a.EndOfText, loaded.EndOfText);
    }

    [Fact]
    public void StopsEarlyWhenTheCorpusRunsOutOfPairs()
    {
        var tokenizer = BpeTrainer.Train(["abab"], 1000);
        Assert.True(tokenizer.VocabSize < 1000);
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.EndOfText);
        Assert.Equal([tokenizer.VocabSize - 2], tokenizer.Encode("abab"));
    }

    [Fact]
    public void TooSmallVocabularyIsAUserError() => Assert.ThrowsAny<UserError>(() => BpeTrainer.Train(Texts, 100));

    [Fact]
    public void TrainsFromACorpusReader()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllLines(Path.Combine(dir, "a.jsonl"), Texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        var fromCorpus = BpeTrainer.Train(new CorpusReader([dir]), 300, IProgressReporter.None);
        Assert.Equal(BpeTrainer.Train(Texts, 300).Hash, fromCorpus.Hash);
    }
}
