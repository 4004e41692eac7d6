using Mechanist.Text;

namespace Mechanist.Features.Statistics;

/// <summary>
/// The source label of every analysed token, from the token store's per-document sources, folded into at most
/// <see cref="MaxSlots"/> slots: the most common labels over the analysed tokens keep their own slot, the rest
/// share an "(other)" slot, so per-unit storage stays small when documents are labelled by thousands of file names.
/// </summary>
public sealed class SourceLabelling
{
    public const int MaxSlots = 24;
    public const string Other = "(other)";

    readonly TokenStore _store;
    readonly int[] _slotOfLabel;

    SourceLabelling(TokenStore store, long tokens)
    {
        _store = store;
        var perLabel = new long[store.SourceLabels.Count];
        for (long d = 0; d < store.DocumentCount && store.DocumentStart(d) < tokens; d++)
        {
            long end = Math.Min(tokens, d + 1 < store.DocumentCount ? store.DocumentStart(d + 1) : store.Count);
            perLabel[store.DocumentSource(d)] += end - store.DocumentStart(d);
        }
        var kept = Enumerable.Range(0, perLabel.Length).Where(l => perLabel[l] > 0)
            .OrderByDescending(l => perLabel[l]).ThenBy(l => l).ToList();
        bool other = kept.Count > MaxSlots;
        if (other) kept = kept.Take(MaxSlots - 1).ToList();
        _slotOfLabel = Enumerable.Repeat(kept.Count, perLabel.Length).ToArray(); // unkept labels → (other)
        for (int s = 0; s < kept.Count; s++) _slotOfLabel[kept[s]] = s;
        Labels = [.. kept.Select(l => store.SourceLabels[l]), .. other ? [Other] : Array.Empty<string>()];
        CorpusTokens = new long[Labels.Count];
        for (int l = 0; l < perLabel.Length; l++) if (perLabel[l] > 0) CorpusTokens[_slotOfLabel[l]] += perLabel[l];
    }

    /// <summary>The labelling of tokens [0, <paramref name="tokens"/>) of the store; null when the store keeps no sources.</summary>
    public static SourceLabelling? For(TokenStore store, long tokens) =>
        store.HasSources && store.SourceLabels.Count > 0 ? new SourceLabelling(store, tokens) : null;

    /// <summary>Slot names, most tokens first (then "(other)" if labels were folded).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Analysed tokens per slot: the corpus's own share, for comparison.</summary>
    public long[] CorpusTokens { get; }

    /// <summary>Writes the slot of tokens [<paramref name="first"/>, first + slots.Length) into <paramref name="slots"/>.</summary>
    public void Fill(long first, Span<int> slots)
    {
        long document = _store.DocumentOf(first);
        long next = document + 1 < _store.DocumentCount ? _store.DocumentStart(document + 1) : long.MaxValue;
        int slot = _slotOfLabel[_store.DocumentSource(document)];
        for (int i = 0; i < slots.Length; i++)
        {
            if (first + i >= next)
            {
                document++;
                next = document + 1 < _store.DocumentCount ? _store.DocumentStart(document + 1) : long.MaxValue;
                slot = _slotOfLabel[_store.DocumentSource(document)];
            }
            slots[i] = slot;
        }
    }
}
