using System.Text;

namespace Mechanist.Text;

/// <summary>
/// One thread's BPE engine: cuts text into pieces, answers frequent pieces from a cache and merges the
/// rest. Short pieces use a quadratic scan over an array (fastest for the usual 2–10 bytes); long ones a
/// heap over a linked list, so that a megabyte without spaces stays O(n log n).
/// </summary>
sealed class WordEncoder(BpeTokenizer tokenizer)
{
    const int MaxCachedPieces = 1 << 17;
    const int MaxCachedLength = 64;
    const int HeapThreshold = 96;

    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    byte[] _bytes = new byte[256];
    int[] _ids = new int[256];
    int[] _ranks = new int[256];

    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        var lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int i = 0; i < text.Length;)
        {
            int end = PreTokenizer.PieceEnd(text, i);
            var piece = text[i..end];
            i = end;
            if (piece.Length <= MaxCachedLength && lookup.TryGetValue(piece, out var cached))
            {
                if (cached.Length == 1) output.Add(cached[0]); else output.AddRange(cached);
                continue;
            }
            int n = EncodePiece(piece);
            var ids = _ids.AsSpan(0, n);
            output.AddRange(ids);
            if (piece.Length <= MaxCachedLength)
            {
                if (_cache.Count >= MaxCachedPieces) _cache.Clear();
                lookup[piece] = ids.ToArray();
            }
        }
    }

    /// <summary>Merges one piece with the chosen algorithm (for tests comparing the two).</summary>
    internal int[] EncodePiece(ReadOnlySpan<char> piece, bool heap)
    {
        int n = ToByteTokens(piece);
        return _ids.AsSpan(0, heap ? MergeByHeap(n) : MergeByScan(n)).ToArray();
    }

    /// <summary>Merges one piece; its ids are left in <see cref="_ids"/>[0..returned).</summary>
    int EncodePiece(ReadOnlySpan<char> piece)
    {
        int n = ToByteTokens(piece);
        return n <= HeapThreshold ? MergeByScan(n) : MergeByHeap(n);
    }

    int ToByteTokens(ReadOnlySpan<char> piece)
    {
        int maxBytes = piece.Length * 3;
        if (_bytes.Length < maxBytes)
        {
            _bytes = new byte[maxBytes];
            _ids = new int[maxBytes];
            _ranks = new int[maxBytes];
        }
        int n = Encoding.UTF8.GetBytes(piece, _bytes);
        for (int k = 0; k < n; k++) _ids[k] = tokenizer.ByteToken(_bytes[k]);
        return n;
    }

    int MergeByScan(int n)
    {
        var ids = _ids;
        var ranks = _ranks;
        for (int k = 0; k < n - 1; k++) ranks[k] = tokenizer.RankOf(ids[k], ids[k + 1]);
        while (n > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int k = 0; k < n - 1; k++)
                if (ranks[k] < best) { best = ranks[k]; at = k; }
            if (at < 0) break;
            ids[at] = tokenizer.MergeResult(best);
            Array.Copy(ids, at + 2, ids, at + 1, n - at - 2);
            Array.Copy(ranks, at + 2, ranks, at + 1, n - at - 2 > 0 ? n - at - 3 : 0);
            n--;
            if (at > 0) ranks[at - 1] = tokenizer.RankOf(ids[at - 1], ids[at]);
            if (at < n - 1) ranks[at] = tokenizer.RankOf(ids[at], ids[at + 1]);
        }
        return n;
    }

    int MergeByHeap(int n)
    {
        var ids = _ids;
        var next = new int[n];
        var prev = new int[n];
        var heap = new PriorityQueue<int, long>(n);
        for (int k = 0; k < n; k++) { next[k] = k + 1 < n ? k + 1 : -1; prev[k] = k - 1; }
        void Push(int at)
        {
            int rank = tokenizer.RankOf(ids[at], ids[next[at]]);
            if (rank != int.MaxValue) heap.Enqueue(at, (long)rank << 32 | (uint)at); // lowest rank, then leftmost
        }
        for (int k = 0; k < n - 1; k++) Push(k);
        while (heap.TryDequeue(out int at, out long priority))
        {
            int rank = (int)(priority >> 32);
            int right = next[at];
            if (ids[at] < 0 || right < 0 || tokenizer.RankOf(ids[at], ids[right]) != rank) continue; // stale
            ids[at] = tokenizer.MergeResult(rank);
            ids[right] = -1;
            next[at] = next[right];
            if (next[at] >= 0) prev[next[at]] = at;
            if (prev[at] >= 0) Push(prev[at]);
            if (next[at] >= 0) Push(at);
        }
        int count = 0;
        for (int k = 0; k >= 0; k = next[k]) ids[count++] = ids[k];
        return count;
    }
}
