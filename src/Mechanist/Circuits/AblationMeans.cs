using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Circuits;

/// <summary>
/// What a pruned node is replaced with (docs/METHODS.md §6.5): its mean over pretraining tokens (mean ablation, the
/// method), or zero (zero ablation, a comparison only). <see cref="Source"/> names the data and <see cref="Tokens"/>
/// how many positions the means average.
/// </summary>
public sealed class AblationMeans
{
    readonly Dictionary<HookPoint, float[]> _values;

    AblationMeans(Dictionary<HookPoint, float[]> values, long tokens, string source, bool zero)
        => (_values, Tokens, Source, IsZero) = (values, tokens, source, zero);

    public long Tokens { get; }
    public string Source { get; }
    public bool IsZero { get; }

    /// <summary>The value each channel of the site is replaced with.</summary>
    public float[] Of(NodeSite site) => _values[site.Point];

    public static AblationMeans Zero(CircuitNodes nodes) =>
        new(nodes.Sites.ToDictionary(s => s.Point, s => new float[s.Width]), 0, "zero", zero: true);

    /// <summary>
    /// Means of every site over the first windows of a token store's train split: <paramref name="windows"/> windows
    /// of the model's context, each position counted once.
    /// </summary>
    public static AblationMeans FromStore(Transformer<float> model, CircuitNodes nodes, TokenStore store, int windows, int batch = 8)
    {
        int ctx = model.Config.Context;
        var data = TokenStoreWindows.FixedWindows(store, ctx, windows);
        int n = data.Length / (ctx + 1);
        if (n == 0) throw new UserError($"{store.Directory}: the {store.Split} split holds {store.Count} tokens, fewer than one window of {ctx + 1}");
        var sums = nodes.Sites.ToDictionary(s => s.Point, s => new double[s.Width]);
        long rows = 0;
        using var _ = Tape.NoGrad();
        for (int start = 0; start < n; start += batch)
        {
            int b = Math.Min(batch, n - start);
            var inputs = new int[b * ctx];
            for (int i = 0; i < b; i++) Array.Copy(data, (start + i) * (ctx + 1), inputs, i * ctx, ctx);
            var (_, cache) = model.RunWithCache(inputs, b, ctx, nodes.Sites.Select(s => s.Point));
            foreach (var site in nodes.Sites)
            {
                var t = cache[site.Point].Span;
                var sum = sums[site.Point];
                for (int i = 0; i < t.Length; i++) sum[i % site.Width] += t[i];
            }
            rows += (long)b * ctx;
        }
        var means = sums.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => (float)(v / rows)).ToArray());
        return new(means, rows, $"{store.Directory} ({store.Split} split)", zero: false);
    }
}
