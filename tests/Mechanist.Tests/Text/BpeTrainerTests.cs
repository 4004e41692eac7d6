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
    public void EveryMergeMatchesABruteForceTrainer()
    {
        // The incremental trainer (pair counts updated only in the words a merge touches, a lazily corrected
        // heap) against the plain algorithm: recount every pair of every word after each merge and take the most
        // frequent, ties to the smallest (left bytes, right bytes). All merges to a 420-token vocabulary.
        AssertMergesMatchBruteForce(Texts, 420);
    }

    [Fact]
    public void EveryMergeOfRealTextMatchesABruteForceTrainer()
    {
        // Real text runs pairs down to zero while they still sit in the heap, and makes tokens whose bytes a later
        // merge spells again: the cases the small corpus above reaches rarely.
        AssertMergesMatchBruteForce(Gpt2.Golden().Take(12).Select(g => g.Text).ToList(), 700);
    }

    static void AssertMergesMatchBruteForce(IReadOnlyList<string> texts, int vocabSize)
    {
        var tokenizer = BpeTrainer.Train(texts, vocabSize);
        var expected = BruteForceMerges(texts, vocabSize - 257);
        var actual = tokenizer.Merges.Select(m => (Hex(tokenizer.TokenBytes(m.Left)), Hex(tokenizer.TokenBytes(m.Right)))).ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.True(expected[i] == actual[i], $"merge {i}: expected {expected[i]}, got {actual[i]}");
    }

    static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    /// <summary>Byte-pair encoding written for clarity, not speed: symbols are hex strings of their bytes.</summary>
    static List<(string Left, string Right)> BruteForceMerges(IEnumerable<string> texts, int merges)
    {
        var words = new Dictionary<string, long>();
        foreach (string text in texts)
            foreach (string piece in PreTokenizer.Split(text)) words[piece] = words.GetValueOrDefault(piece) + 1;
        var symbols = words.Select(w => (Parts: System.Text.Encoding.UTF8.GetBytes(w.Key).Select(b => Hex([b])).ToList(), Count: w.Value)).ToList();
        var result = new List<(string, string)>();
        while (result.Count < merges)
        {
            var counts = new Dictionary<(string, string), long>();
            foreach (var (parts, count) in symbols)
                for (int i = 0; i + 1 < parts.Count; i++) counts[(parts[i], parts[i + 1])] = counts.GetValueOrDefault((parts[i], parts[i + 1])) + count;
            if (counts.Count == 0) break;
            long top = counts.Values.Max();
            // Hex strings of bytes compare like the bytes when one is not a prefix of the other; compare bytes to be exact.
            var best = counts.Where(p => p.Value == top).Select(p => p.Key)
                .OrderBy(p => Convert.FromHexString(p.Item1), ByteOrder).ThenBy(p => Convert.FromHexString(p.Item2), ByteOrder).First();
            result.Add(best);
            foreach (var (parts, _) in symbols)
                for (int i = 0; i + 1 < parts.Count; i++)
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2) { parts[i] += parts[i + 1]; parts.RemoveAt(i + 1); }
        }
        return result;
    }

    static readonly Comparer<byte[]> ByteOrder = Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b));

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
    public void TooSmallVocabularyIsAUserErrorBeforeAnyTextIsRead()
    {
        static IEnumerable<string> Unreadable() { throw new InvalidOperationException("the texts were read"); yield break; }
        Assert.Contains("--vocab-size 256 is too small", Assert.Throws<UserError>(() => BpeTrainer.Train(Unreadable(), 256)).Message);
        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "bad.jsonl"), "{not json\n");
        Assert.Contains("--vocab-size 100", Assert.Throws<UserError>(() => BpeTrainer.Train(new CorpusReader([dir]), 100, IProgressReporter.None)).Message);
        Assert.Throws<UserError>(() => BpeTrainer.Learn(new() { ["ab"] = 3 }, 10, IProgressReporter.None, default));
    }

    [Fact]
    public void SmallestVocabularyHoldsTheBytesAndEndOfTextOnly()
    {
        var tokenizer = BpeTrainer.Train(Texts, 257);
        Assert.Equal(257, tokenizer.VocabSize);
        Assert.Empty(tokenizer.Merges);
        Assert.Equal(256, tokenizer.EndOfText);
    }

    [Fact]
    public void MergingReportsItsProgressAndWhenTheCorpusRunsOut()
    {
        var progress = new ProgressLog();
        var tokenizer = BpeTrainer.Learn(new() { ["abab"] = 3 }, 1000, progress, default);
        int made = tokenizer.Merges.Count;
        Assert.Equal([("merging", 743L, "merge")], progress.Started);
        Assert.Equal(743, progress.Done[^1]);           // the bar ends full even when the corpus ran out early
        Assert.Contains(0, progress.Done);             // and started from the first merge
        Assert.Equal([$"the corpus ran out of pairs after {made} merges"], progress.Statuses);
        var full = new ProgressLog();
        BpeTrainer.Learn(new() { ["abab"] = 3 }, 258, full, default);
        Assert.Empty(full.Statuses);
    }

    sealed class ProgressLog : IProgressReporter, IProgressTask
    {
        public List<(string, long, string)> Started { get; } = [];
        public List<long> Done { get; } = [];
        public List<string> Statuses { get; } = [];
        public IProgressTask Start(string label, long total, string unit) { Started.Add((label, total, unit)); return this; }
        public void Advance(long amount) { }
        public void SetDone(long done) => Done.Add(done);
        public void SetStatus(string status) => Statuses.Add(status);
        public void Dispose() { }
    }

    [Fact]
    public void CancelledBeforeTheFirstMergeStops()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => BpeTrainer.Learn(new() { ["abab"] = 3 }, 258, IProgressReporter.None, cancelled.Token));
    }

    [Fact]
    public void TrainsFromACorpusReader()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllLines(Path.Combine(dir, "a.jsonl"), Texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        var fromCorpus = BpeTrainer.Train(new CorpusReader([dir]), 300, IProgressReporter.None);
        Assert.Equal(BpeTrainer.Train(Texts, 300).Hash, fromCorpus.Hash);
    }
}
