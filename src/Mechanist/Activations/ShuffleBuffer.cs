using Mechanist.Numerics;

namespace Mechanist.Activations;

/// <summary>
/// A fixed-capacity pool of rows that mixes a stream: rows go in in stream order and come out drawn
/// uniformly at random from everything held. This is the streaming mode that feeds SAE training straight
/// from a harvester without storing activations: with capacity C, rows from about C consecutive stream
/// positions are mixed together (SAELens' "mixing buffer").
/// </summary>
public sealed class ShuffleBuffer
{
    readonly float[] _rows;
    readonly Rng _random;

    public int Capacity { get; }
    public int Width { get; }
    public int Count { get; private set; }
    public int Free => Capacity - Count;

    public ShuffleBuffer(int capacityRows, int width, ulong seed)
    {
        if (capacityRows < 1) throw new ArgumentOutOfRangeException(nameof(capacityRows));
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width));
        Capacity = capacityRows;
        Width = width;
        _rows = new float[(long)capacityRows * width];
        _random = new Rng(seed);
    }

    /// <summary>Adds as many whole rows from <paramref name="rows"/> as fit; returns how many rows were added.</summary>
    public int Add(ReadOnlySpan<float> rows)
    {
        if (rows.Length % Width != 0) throw new ArgumentException($"{rows.Length} values is not a whole number of rows of {Width}");
        int n = Math.Min(Free, rows.Length / Width);
        rows[..(n * Width)].CopyTo(_rows.AsSpan(Count * Width));
        Count += n;
        return n;
    }

    /// <summary>Removes up to <paramref name="count"/> rows chosen uniformly at random (without replacement) into dst; returns how many.</summary>
    public int Take(int count, Span<float> dst)
    {
        int n = Math.Min(count, Count);
        if (dst.Length < n * Width) throw new ArgumentException($"destination holds {dst.Length} floats, {n * Width} needed");
        for (int i = 0; i < n; i++)
        {
            int j = _random.NextInt(Count);
            _rows.AsSpan(j * Width, Width).CopyTo(dst.Slice(i * Width, Width));
            Count--;
            if (j != Count) _rows.AsSpan(Count * Width, Width).CopyTo(_rows.AsSpan(j * Width, Width));
        }
        return n;
    }

    /// <summary>
    /// Mixes a stream of row chunks into batches of <paramref name="batchRows"/> rows: fills the buffer,
    /// then emits a random batch each time it is full, and drains it in random order at the end (the last
    /// batch may be short). Each yielded batch is valid only until the next one is requested.
    /// </summary>
    public IEnumerable<ReadOnlyMemory<float>> Mix(IEnumerable<ReadOnlyMemory<float>> chunks, int batchRows)
    {
        if (batchRows < 1 || batchRows > Capacity) throw new ArgumentOutOfRangeException(nameof(batchRows), $"batch rows must be 1..{Capacity}");
        var batch = new float[batchRows * Width];
        foreach (var chunk in chunks)
        {
            var rest = chunk;
            while (!rest.IsEmpty)
            {
                int added = Add(rest.Span);
                rest = rest[(added * Width)..];
                if (Free == 0)
                {
                    int n = Take(batchRows, batch);
                    yield return batch.AsMemory(0, n * Width);
                }
            }
        }
        while (Count > 0)
        {
            int n = Take(batchRows, batch);
            yield return batch.AsMemory(0, n * Width);
        }
    }
}
