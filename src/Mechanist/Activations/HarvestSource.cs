using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Activations;

/// <summary>
/// Produces activation rows in harvest order (not yet shuffled): context windows come from the token
/// store in the seeded order of <see cref="WindowSampler"/> (non-overlapping windows, a fresh shuffle each
/// epoch); the model runs without gradients only as far as the hook (<see cref="Transformer{T}.RunToHook"/>,
/// so a one-layer model never computes its unembedding); from each window, K positions are drawn without
/// replacement by a generator keyed by (seed, window number), position 0 excluded by default.
/// Deterministic: the same model, store and options give the same rows in the same order.
/// </summary>
public sealed class HarvestSource
{
    readonly Transformer<float> _model;
    readonly WindowSampler _windows;
    readonly HarvestOptions _options;
    readonly int _first;

    public HarvestSource(Transformer<float> model, TokenStore tokens, HarvestOptions options)
    {
        options.Validate();
        model.Config.Check(options.Hook); // now, not at the first forward pass (after outputs are opened)
        if (options.Hook.IsReadOnly)
            throw new UserError($"{options.Hook}: harvest a per-token vector hook (residual, MLP, attention output, q/k/v/z), not the pattern or LayerNorm scale");
        _model = model;
        _options = options;
        Context = options.Context ?? model.Config.Context;
        if (Context > model.Config.Context) throw new UserError($"--context {Context} is longer than the model's context of {model.Config.Context}");
        if (Context < 2) throw new UserError($"a context of {Context} token leaves no position to sample");
        if (tokens.VocabSize > model.Config.Vocab)
            throw new UserError($"{tokens.Directory}: the token store's vocabulary ({tokens.VocabSize}) is larger than the model's ({model.Config.Vocab}): wrong model or tokenizer");
        Width = options.Hook.Width(model.Config);
        _first = options.SkipFirstPosition ? 1 : 0;
        int usable = Context - _first;
        RowsPerContext = options.RowsPerContext is int k and > 0 ? Math.Min(k, usable) : usable;
        BatchWindows = options.BatchWindows ?? Math.Max(1, HarvestOptions.DefaultTokensPerPass / Context);
        // A window of Context tokens is the sampler's "context − 1 inputs + 1 target": non-overlapping, seeded order.
        _windows = tokens.SampleWindows(Context - 1, options.Seed);
        Description = tokens.Directory;
    }

    /// <summary>
    /// Values per row: the hook's last axis (d_model, d_mlp), or h·d_head for per-head hooks (q, k, v, z),
    /// whose heads are concatenated per token as SAELens's hook_z SAEs read them.
    /// </summary>
    public int Width { get; }
    public int Context { get; }
    /// <summary>K actually used: min(requested, usable positions per window).</summary>
    public int RowsPerContext { get; }
    public int BatchWindows { get; }
    public string Description { get; }
    /// <summary>Distinct windows in the split; reading more starts a new epoch (same windows, new order, new positions).</summary>
    public long WindowsPerEpoch => _windows.WindowsPerEpoch;
    /// <summary>Windows run through the model so far.</summary>
    public long WindowsRead => _windows.Position;
    /// <summary>Model input tokens processed so far.</summary>
    public long ModelTokens => _windows.Position * Context;

    /// <summary>
    /// The positions taken from window number <paramref name="window"/>, ascending. Exposed so tests (and
    /// anyone checking a store) can recompute which rows a window contributed.
    /// </summary>
    public int[] PositionsFor(long window)
    {
        var candidates = new int[Context - _first];
        for (int i = 0; i < candidates.Length; i++) candidates[i] = _first + i;
        if (RowsPerContext == candidates.Length) return candidates;
        var rng = new Rng(_options.Seed).Stream(0x4A2E5700UL + (ulong)window);
        for (int i = 0; i < RowsPerContext; i++) // partial Fisher–Yates: the first K are a uniform K-subset
        {
            int j = i + rng.NextInt(candidates.Length - i);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
        }
        var chosen = candidates[..RowsPerContext];
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>
    /// Endless chunks of rows (each chunk: one forward pass's sampled rows, Width floats each), epoch after
    /// epoch over the split. A chunk is valid until the next is requested.
    /// </summary>
    public IEnumerable<ReadOnlyMemory<float>> Chunks(CancellationToken cancel = default)
    {
        int width = Width;
        var tokens = new int[BatchWindows * Context];
        var rows = new float[(long)BatchWindows * RowsPerContext * width];
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            long firstWindow = _windows.Position;
            for (int b = 0; b < BatchWindows; b++) _windows.Next(tokens.AsSpan(b * Context, Context));
            Tensor acts;
            using (Tape.NoGrad()) acts = _model.RunToHook(tokens, BatchWindows, Context, _options.Hook);
            // Hook shapes are [b, p, d] or [b, p, h, d_head]: a position's values are contiguous either way.
            var values = acts.Span;
            int at = 0;
            for (int b = 0; b < BatchWindows; b++)
                foreach (int p in PositionsFor(firstWindow + b))
                {
                    values.Slice((b * Context + p) * width, width).CopyTo(rows.AsSpan(at, width));
                    at += width;
                }
            yield return rows.AsMemory(0, at);
        }
    }
}
