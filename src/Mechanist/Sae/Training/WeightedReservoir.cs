using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// Weighted sampling without replacement in one pass over a stream (Efraimidis &amp; Spirakis 2006, A-Res):
/// each row offered gets the key u^(1/w) (u uniform), and the <see cref="Capacity"/> rows with the largest keys
/// are a sample drawn without replacement with probability ∝ w, in the order the sequential draws would
/// make them (largest key first). Only the chosen rows are kept, so memory is Capacity rows however long the
/// stream. Keys are compared as log w − log(−log u), the logarithm of log-key order, which neither under-
/// nor overflows for tiny or huge weights. Rows with weight 0 (or not finite) rank below every positive one,
/// uniformly among themselves, so the sample is filled uniformly when fewer rows than Capacity have weight.
/// </summary>
public sealed class WeightedReservoir
{
    readonly float[] _rows;
    readonly (bool Positive, double Key)[] _keys;
    readonly PriorityQueue<int, (bool Positive, double Key)> _smallest = new(Comparer<(bool Positive, double Key)>.Create(Compare));
    int _count;

    public WeightedReservoir(int capacity, int width)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width));
        Capacity = capacity;
        Width = width;
        _rows = new float[(long)capacity * width];
        _keys = new (bool, double)[capacity];
    }

    public int Capacity { get; }
    public int Width { get; }
    /// <summary>Rows offered so far.</summary>
    public long Offered { get; private set; }

    static int Compare((bool Positive, double Key) a, (bool Positive, double Key) b) =>
        a.Positive != b.Positive ? (a.Positive ? 1 : -1) : a.Key.CompareTo(b.Key);

    /// <summary>Offers one row of weight <paramref name="weight"/>; draws one uniform number from <paramref name="rng"/>.</summary>
    public void Offer(ReadOnlySpan<float> row, double weight, Rng rng)
    {
        if (row.Length != Width) throw new ArgumentException($"row of {row.Length} values, width is {Width}");
        double u = rng.NextDouble();
        bool positive = double.IsFinite(weight) && weight > 0;
        // u ∈ [0, 1): u = 0 gives −log u = ∞ and the lowest key, as u^(1/w) = 0 would.
        var key = positive ? (true, Math.Log(weight) - Math.Log(-Math.Log(u))) : (false, u);
        Offered++;
        int slot;
        if (_count < Capacity) slot = _count++;
        else if (_smallest.TryPeek(out _, out var lowest) && Compare(key, lowest) > 0) slot = _smallest.Dequeue();
        else return;
        _smallest.Enqueue(slot, key);
        _keys[slot] = key;
        row.CopyTo(_rows.AsSpan((int)((long)slot * Width), Width));
    }

    /// <summary>
    /// The chosen rows, largest key first, as a [count, Width] tensor. With fewer rows offered than
    /// <paramref name="count"/>, the chosen rows repeat in that order (as drawing with replacement would have to).
    /// </summary>
    public Tensor Result(int count)
    {
        if (_count == 0) throw new InvalidOperationException("no rows were offered");
        var order = Enumerable.Range(0, _count).ToArray();
        Array.Sort(order, (a, b) => Compare(_keys[b], _keys[a]) is int c && c != 0 ? c : a.CompareTo(b));
        var result = new Tensor(count, Width);
        for (int q = 0; q < count; q++) _rows.AsSpan(order[q % _count] * Width, Width).CopyTo(result.Row(q));
        return result;
    }
}
