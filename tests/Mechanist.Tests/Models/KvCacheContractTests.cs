using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

/// <summary>A cache holding two sequences side by side keeps each sequence's keys and values in its own rows.</summary>
public class KvCacheContractTests
{
    [Fact]
    public void BatchedCachedStepsMatchAFullBatchedForward()
    {
        var m = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 8, Context = 6, Vocab = 7 }, 3);
        var rng = new Random(3);
        foreach (var (_, w) in m.Weights) for (int i = 0; i < w.Value.Length; i++) w.Value[i] += (float)(rng.NextDouble() - 0.5);
        int[] a = [1, 2, 3, 4], b = [6, 5, 0, 2];
        Tensor full;
        using (Tape.NoGrad()) full = m.Forward([.. a, .. b], 2, 4, null, null, lastPositionOnly: true).Value;
        var cache = new KvCache<float>(m.Config, batch: 2);
        Tensor stepped;
        using (Tape.NoGrad())
        {
            m.Forward([1, 2, 3, 6, 5, 0], 2, 3, null, cache, lastPositionOnly: true);
            stepped = m.Forward([4, 2], 2, 1, null, cache, lastPositionOnly: true).Value;
        }
        Assert.Equal(full.Length, stepped.Length);
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i], stepped[i], 1e-4f);
        Assert.Equal((2, 6, 4), (cache.Batch, cache.Capacity, cache.Length));
    }

    [Fact]
    public void AnEmptyBatchIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvCache<float>(new TransformerConfig(), batch: 0));
}
