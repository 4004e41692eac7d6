using System.Runtime.InteropServices;
using System.Text;
using Mechanist.Numerics;

namespace Mechanist.Text;

/// <summary>
/// Learns a byte-level BPE vocabulary from a corpus: ids 0–255 are the bytes (id = byte value), then one
/// id per merge in the order learned, then <c>&lt;|endoftext|&gt;</c> last.
/// Words (GPT-2 pre-tokenizer pieces) are counted once, in parallel; merges then update pair counts
/// incrementally, touching only the words that hold the merged pair, with a lazily corrected max-heap.
/// Deterministic: the pair merged next is the one with the highest count; ties go to the pair whose left
/// token's bytes are lexicographically smallest, then whose right token's bytes are.
/// </summary>
public static class BpeTrainer
{
    /// <summary>Counts words in the corpus and learns <paramref name="vocabSize"/> tokens (bytes + merges + end of text).</summary>
    public static BpeTokenizer Train(CorpusReader corpus, int vocabSize, IProgressReporter progress, CancellationToken cancel = default)
    {
        CheckVocabSize(vocabSize);
        var counts = CountWords(corpus, progress, cancel);
        corpus.RequireText();
        return Learn(counts, vocabSize, progress, cancel);
    }

    /// <summary>Learns from texts in memory (for tests and small tools).</summary>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabSize)
    {
        CheckVocabSize(vocabSize);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string text in texts) CountInto(text, counts);
        return Learn(counts, vocabSize, IProgressReporter.None, default);
    }

    static void CheckVocabSize(int vocabSize)
    {
        if (vocabSize < 257) throw new UserError($"--vocab-size {vocabSize} is too small: 256 byte tokens and <|endoftext|> need at least 257");
    }

    static void CountInto(ReadOnlySpan<char> text, Dictionary<string, long> counts)
    {
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int i = 0; i < text.Length;)
        {
            int end = PreTokenizer.PieceEnd(text, i);
            var piece = text[i..end];
            i = end;
            CollectionsMarshal.GetValueRefOrAddDefault(lookup, piece, out _)++;
        }
    }

    /// <summary>Distinct pre-tokenizer pieces and how often each occurs, counted on all cores.</summary>
    public static Dictionary<string, long> CountWords(CorpusReader corpus, IProgressReporter progress, CancellationToken cancel)
    {
        using var task = progress.Start("counting words", corpus.TotalBytes, "B");
        int threads = Parallelism.Threads;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel); // frees the reader if counting fails
        var (batches, reader) = corpus.ReadBatchesInBackground(1 << 20, threads * 2, stop.Token, () => task.SetDone(corpus.BytesRead));

        var partial = new Dictionary<string, long>[threads];
        try
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                try
                {
                    foreach (var batch in batches.GetConsumingEnumerable(cancel))
                        foreach (var piece in batch) CountInto(piece.Text, counts);
                }
                catch (OperationCanceledException) { }
                partial[t] = counts;
            });
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        reader.GetAwaiter().GetResult(); // rethrows a reading error (bad file, bad row)
        cancel.ThrowIfCancellationRequested();
        task.SetDone(corpus.TotalBytes);

        var total = partial.MaxBy(d => d.Count)!;
        foreach (var counts in partial)
        {
            if (ReferenceEquals(counts, total)) continue;
            foreach (var (word, c) in counts)
                CollectionsMarshal.GetValueRefOrAddDefault(total, word, out _) += c;
        }
        task.SetStatus($"{total.Count:N0} distinct words");
        return total;
    }

    /// <summary>Runs the merge loop over counted words.</summary>
    public static BpeTokenizer Learn(Dictionary<string, long> wordCounts, int vocabSize, IProgressReporter progress, CancellationToken cancel)
    {
        CheckVocabSize(vocabSize);
        var tokens = new List<byte[]>(vocabSize);
        for (int b = 0; b < 256; b++) tokens.Add([(byte)b]);

        // Words of one byte hold no pair and never change; leave them out.
        var words = new List<int[]>(wordCounts.Count);
        var counts = new List<long>(wordCounts.Count);
        foreach (var (word, c) in wordCounts)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(word);
            if (bytes.Length < 2) continue;
            words.Add(Array.ConvertAll(bytes, b => (int)b));
            counts.Add(c);
        }

        var pairCount = new Dictionary<long, long>();
        var where = new Dictionary<long, List<int>>();
        for (int w = 0; w < words.Count; w++)
        {
            var symbols = words[w];
            for (int k = 0; k + 1 < symbols.Length; k++)
            {
                long pair = Pair(symbols[k], symbols[k + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCount, pair, out _) += counts[w];
                if (!where.TryGetValue(pair, out var list)) where[pair] = list = [];
                if (list.Count == 0 || list[^1] != w) list.Add(w);
            }
        }

        var order = new PairOrder(tokens);
        var heap = new PriorityQueue<long, (long Count, long Pair)>(pairCount.Count, order);
        foreach (var (pair, c) in pairCount) heap.Enqueue(pair, (c, pair));

        int wanted = vocabSize - 257;  // new tokens to make
        var merges = new List<(int, int)>(wanted);
        var idOfBytes = new Dictionary<string, int>(StringComparer.Ordinal); // made tokens only: a merge never spells one byte
        var delta = new Dictionary<long, long>();
        using var task = progress.Start("merging", wanted, "merge");
        while (tokens.Count - 256 < wanted && heap.TryDequeue(out long best, out var queued))
        {
            long actual = pairCount.GetValueOrDefault(best);
            if (actual != queued.Count)
            {
                if (actual > 0) heap.Enqueue(best, (actual, best)); // counts only fall after a push: correct and retry
                continue;
            }
            if ((merges.Count & 63) == 0) { cancel.ThrowIfCancellationRequested(); task.SetDone(tokens.Count - 256); }

            // Two merges can spell the same bytes ("a"+"bc", "ab"+"c"): the second reuses the first's id.
            int left = (int)(best >> 32), right = (int)best;
            byte[] joined = [.. tokens[left], .. tokens[right]];
            string key = Encoding.Latin1.GetString(joined);
            if (!idOfBytes.TryGetValue(key, out int made))
            {
                made = tokens.Count;
                tokens.Add(joined);
                idOfBytes[key] = made;
            }
            merges.Add((left, right));

            delta.Clear();
            foreach (int w in where[best])
            {
                var symbols = words[w];
                long c = counts[w];
                if (!Contains(symbols, left, right)) continue;
                for (int k = 0; k + 1 < symbols.Length; k++) Add(delta, Pair(symbols[k], symbols[k + 1]), -c);
                symbols = words[w] = Merge(symbols, left, right, made);
                for (int k = 0; k + 1 < symbols.Length; k++)
                {
                    long pair = Pair(symbols[k], symbols[k + 1]);
                    Add(delta, pair, c);
                    if (symbols[k] == made || symbols[k + 1] == made)
                    {
                        if (!where.TryGetValue(pair, out var list)) where[pair] = list = [];
                        if (list.Count == 0 || list[^1] != w) list.Add(w);
                    }
                }
            }
            where.Remove(best);
            foreach (var (pair, d) in delta)
            {
                if (d == 0) continue;
                long now = pairCount.GetValueOrDefault(pair) + d;
                if (now <= 0) { pairCount.Remove(pair); where.Remove(pair); continue; }
                pairCount[pair] = now;
                if (d > 0) heap.Enqueue(pair, (now, pair));
            }
        }
        task.SetDone(wanted);
        if (tokens.Count - 256 < wanted) task.SetStatus($"the corpus ran out of pairs after {merges.Count:N0} merges");

        var all = new List<byte[]?>(tokens) { null };
        var special = new Dictionary<string, int> { [BpeTokenizer.EndOfTextText] = tokens.Count };
        return new BpeTokenizer(all, merges, special);
    }

    static long Pair(int left, int right) => (long)left << 32 | (uint)right;

    static void Add(Dictionary<long, long> delta, long pair, long amount) => CollectionsMarshal.GetValueRefOrAddDefault(delta, pair, out _) += amount;

    static bool Contains(int[] symbols, int left, int right)
    {
        for (int k = 0; k + 1 < symbols.Length; k++)
            if (symbols[k] == left && symbols[k + 1] == right) return true;
        return false;
    }

    /// <summary>Replaces every occurrence of (left, right), scanning left to right, by <paramref name="made"/>.</summary>
    static int[] Merge(int[] symbols, int left, int right, int made)
    {
        var result = new int[symbols.Length];
        int n = 0;
        for (int k = 0; k < symbols.Length; k++)
        {
            if (k + 1 < symbols.Length && symbols[k] == left && symbols[k + 1] == right) { result[n++] = made; k++; }
            else result[n++] = symbols[k];
        }
        return n == result.Length ? result : result[..n];
    }

    /// <summary>Heap order: highest count first, then the lexicographically smallest (left bytes, right bytes).</summary>
    sealed class PairOrder(List<byte[]> tokens) : IComparer<(long Count, long Pair)>
    {
        public int Compare((long Count, long Pair) x, (long Count, long Pair) y)
        {
            if (x.Count != y.Count) return y.Count.CompareTo(x.Count);
            if (x.Pair == y.Pair) return 0;
            int c = tokens[(int)(x.Pair >> 32)].AsSpan().SequenceCompareTo(tokens[(int)(y.Pair >> 32)]);
            return c != 0 ? c : tokens[(int)x.Pair].AsSpan().SequenceCompareTo(tokens[(int)y.Pair]);
        }
    }
}
