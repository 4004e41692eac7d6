using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// The k largest values of a row and their indices, in descending order (ties: lower index first).
/// A min-heap of the best k so far gives a threshold; the row is scanned 16 values at a time and a block
/// is looked at only when some value beats the threshold, which for k = 32 of 4096 is rare after the
/// first few hundred values. NaN never beats a number (it ranks below −∞).
/// </summary>
public static class TopK
{
    /// <summary>Writes the top <paramref name="k"/> of <paramref name="row"/> into values[0..k) and indices[0..k).</summary>
    public static void Select(ReadOnlySpan<float> row, int k, Span<float> values, Span<int> indices)
    {
        if (k < 0 || k > row.Length) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} for a row of {row.Length}");
        if (values.Length < k || indices.Length < k) throw new ArgumentException($"output spans hold fewer than k = {k}");
        if (k == 0) return;
        Span<float> heapValues = values[..k];
        Span<int> heapIndices = indices[..k];
        for (int i = 0; i < k; i++)
        {
            heapValues[i] = row[i];
            heapIndices[i] = i;
        }
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(heapValues, heapIndices, i);

        int j = k;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetReference(row);
            for (; j + 16 <= row.Length; j += 16)
            {
                var block = Vector512.LoadUnsafe(ref start, (nuint)j);
                // A NaN at the heap top is beaten even by −∞, which the vector compare would miss.
                ulong beats = float.IsNaN(heapValues[0]) ? 0xFFFF
                    : Vector512.GreaterThan(block, Vector512.Create(heapValues[0])).ExtractMostSignificantBits();
                while (beats != 0)
                {
                    int lane = System.Numerics.BitOperations.TrailingZeroCount(beats);
                    beats &= beats - 1;
                    Offer(heapValues, heapIndices, row[j + lane], j + lane);
                }
            }
        }
        for (; j < row.Length; j++) Offer(heapValues, heapIndices, row[j], j);
        SortDescending(heapValues, heapIndices);
    }

    /// <summary>Top k of every row of a rows×cols matrix; outputs are rows×k. Rows are shared among the threads.</summary>
    public static void SelectRows(ReadOnlySpan<float> matrix, int rows, int cols, int k, Span<float> values, Span<int> indices)
    {
        if ((long)rows * cols > matrix.Length) throw new ArgumentException($"matrix holds {matrix.Length} values, not {rows}×{cols}");
        if ((long)rows * k > values.Length || (long)rows * k > indices.Length) throw new ArgumentException($"outputs must hold {rows}×{k}");
        int threads = (long)rows * cols < 1 << 16 ? 1 : Math.Min(Parallelism.Threads, rows);
        if (threads == 1)
        {
            for (int r = 0; r < rows; r++)
                Select(matrix.Slice(r * cols, cols), k, values.Slice(r * k, k), indices.Slice(r * k, k));
            return;
        }
        unsafe
        {
            fixed (float* m = matrix) fixed (float* v = values) fixed (int* ix = indices)
            {
                nint pm = (nint)m, pv = (nint)v, pi = (nint)ix;
                int per = (rows + threads - 1) / threads;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    for (int r = t * per; r < Math.Min(rows, (t + 1) * per); r++)
                        Select(new ReadOnlySpan<float>((float*)pm + (nint)r * cols, cols), k,
                            new Span<float>((float*)pv + (nint)r * k, k), new Span<int>((int*)pi + (nint)r * k, k));
                });
            }
        }
    }

    /// <summary>NaN ranks below every number.</summary>
    static float Key(float x) => float.IsNaN(x) ? float.NegativeInfinity : x;

    /// <summary>True when (a, ia) ranks below (b, ib): smaller value, or equal value and later index.</summary>
    static bool Below(float a, int ia, float b, int ib)
    {
        float ka = Key(a), kb = Key(b);
        return ka < kb || ka == kb && (ia > ib || float.IsNaN(a) && !float.IsNaN(b));
    }

    static void Offer(Span<float> heap, Span<int> idx, float value, int index)
    {
        if (!Below(heap[0], idx[0], value, index)) return;
        heap[0] = value;
        idx[0] = index;
        SiftDown(heap, idx, 0);
    }

    static void SiftDown(Span<float> heap, Span<int> idx, int i)
    {
        int n = heap.Length;
        while (true)
        {
            int l = 2 * i + 1, smallest = i;
            if (l < n && Below(heap[l], idx[l], heap[smallest], idx[smallest])) smallest = l;
            if (l + 1 < n && Below(heap[l + 1], idx[l + 1], heap[smallest], idx[smallest])) smallest = l + 1;
            if (smallest == i) return;
            (heap[i], heap[smallest]) = (heap[smallest], heap[i]);
            (idx[i], idx[smallest]) = (idx[smallest], idx[i]);
            i = smallest;
        }
    }

    /// <summary>Best first: insertion sort for the usual small k, a comparison sort otherwise.</summary>
    static void SortDescending(Span<float> values, Span<int> indices)
    {
        if (values.Length > 64)
        {
            var pairs = new (float Value, int Index)[values.Length];
            for (int i = 0; i < pairs.Length; i++) pairs[i] = (values[i], indices[i]);
            Array.Sort(pairs, (x, y) => Below(x.Value, x.Index, y.Value, y.Index) ? 1 : Below(y.Value, y.Index, x.Value, x.Index) ? -1 : 0);
            for (int i = 0; i < pairs.Length; i++) (values[i], indices[i]) = pairs[i];
            return;
        }
        for (int i = 1; i < values.Length; i++)
        {
            float v = values[i];
            int ix = indices[i], j = i - 1;
            while (j >= 0 && Below(values[j], indices[j], v, ix))
            {
                values[j + 1] = values[j];
                indices[j + 1] = indices[j];
                j--;
            }
            values[j + 1] = v;
            indices[j + 1] = ix;
        }
    }
}
