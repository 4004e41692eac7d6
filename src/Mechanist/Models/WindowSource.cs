using Mechanist.Text;

namespace Mechanist.Models;

/// <summary>A resumable stream of training windows (context + 1 tokens each).</summary>
public interface IWindowSource
{
    int Context { get; }
    /// <summary>Largest token id + 1 the source may hand out.</summary>
    int VocabSize { get; }
    /// <summary>Windows handed out so far; saved in checkpoints.</summary>
    long Position { get; }
    /// <summary>Hash of the tokenizer that wrote the ids (<see cref="BpeTokenizer.Hash"/>); null when unknown.</summary>
    string? TokenizerHash => null;
    void Seek(long position);
    void Next(Span<int> window);
}

/// <summary>Training windows from a token store's seeded, shuffled sampler.</summary>
public sealed class TokenStoreWindows(TokenStore store, int context, ulong seed) : IWindowSource
{
    readonly WindowSampler _sampler = store.SampleWindows(context, seed);
    public int Context => context;
    public int VocabSize => store.VocabSize;
    public long Position => _sampler.Position;
    public string? TokenizerHash => store.TokenizerHash;
    public void Seek(long position) => _sampler.Seek(position);
    public void Next(Span<int> window) => _sampler.Next(window);

    /// <summary>
    /// The first <paramref name="count"/> non-overlapping windows of a split, concatenated (fixed, so every
    /// validation measurement sees the same tokens); fewer when the split is short.
    /// </summary>
    public static int[] FixedWindows(TokenStore store, int context, int count)
    {
        long available = store.Count / (context + 1);
        int n = (int)Math.Min(count, available);
        var windows = new int[n * (context + 1)];
        for (int i = 0; i < n; i++) store.ReadWindow((long)i * (context + 1), windows.AsSpan(i * (context + 1), context + 1));
        return windows;
    }
}
