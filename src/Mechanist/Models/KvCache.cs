using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>
/// Keys and values of every layer for the positions a model has seen so far, so that a forward pass given the
/// cache (<see cref="Transformer{T}.Forward"/>) computes only the new positions: they take positions
/// <see cref="Length"/>, <see cref="Length"/> + 1, …, append their keys and values (as they leave hook_k and
/// hook_v), and attend over everything held. Inference only: no gradient flows through a cache.
/// </summary>
public sealed class KvCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Tensor<T>[] _keys, _values;

    public KvCache(TransformerConfig config, int batch = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        Batch = batch;
        Capacity = config.Context;
        _keys = Enumerable.Range(0, config.Layers).Select(_ => new Tensor<T>(batch, config.Context, config.DModel)).ToArray();
        _values = Enumerable.Range(0, config.Layers).Select(_ => new Tensor<T>(batch, config.Context, config.DModel)).ToArray();
    }

    /// <summary>Sequences held side by side (the batch of every pass that uses this cache).</summary>
    public int Batch { get; }
    /// <summary>Positions it can hold: the model's context.</summary>
    public int Capacity { get; }
    /// <summary>Positions filled; the next pass's first position.</summary>
    public int Length { get; private set; }

    /// <summary>Forgets every position (the next pass starts at position 0).</summary>
    public void Clear() => Length = 0;

    /// <summary>Layer <paramref name="layer"/>'s keys [batch, capacity, d_model] (heads side by side).</summary>
    internal Tensor<T> Keys(int layer) => _keys[layer];
    internal Tensor<T> Values(int layer) => _values[layer];

    /// <summary>Stores the keys and values [batch, n, d_model] of positions Length … Length + n − 1 of a layer.</summary>
    internal void Write(int layer, Tensor<T> keys, Tensor<T> values)
    {
        int n = keys.Dim(1), d = keys.Dim(2);
        for (int b = 0; b < Batch; b++)
        {
            keys.Span.Slice(b * n * d, n * d).CopyTo(_keys[layer].Span.Slice((b * Capacity + Length) * d, n * d));
            values.Span.Slice(b * n * d, n * d).CopyTo(_values[layer].Span.Slice((b * Capacity + Length) * d, n * d));
        }
    }

    /// <summary>Counts the positions every layer has just written.</summary>
    internal void Advance(int n) => Length += n;
}
