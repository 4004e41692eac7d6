using System.Numerics;
using System.Numerics.Tensors;

namespace Mechanist.Numerics.Kernels;

/// <summary>Row gathers (embedding lookup) with scatter-add backward, and per-row top-k selection.</summary>
public static class Gather
{
    /// <summary>output[i] = table[ids[i]]; validates every id against the table's row count.</summary>
    public static void Rows<T>(Tensor<T> table, ReadOnlySpan<int> ids, Tensor<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = table.Columns, vocab = table.RowCount;
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} at position {i} is outside the table of {vocab} rows");
            table.Row(id).CopyTo(output.Span.Slice(i * d, d));
        }
    }

    /// <summary>dTable[ids[i]] += dOutput[i] (repeated ids add up).</summary>
    public static void ScatterAddRows<T>(Tensor<T> dOutput, ReadOnlySpan<int> ids, Tensor<T> dTable) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = dTable.Columns;
        for (int i = 0; i < ids.Length; i++)
        {
            var row = dTable.Row(ids[i]);
            TensorPrimitives.Add<T>(row, dOutput.Span.Slice(i * d, d), row);
        }
    }

    /// <summary>
    /// For each row of x [rows, d], the column indices of its k largest values (ties: lower index first),
    /// written to indices [rows·k], each row's indices in ascending column order.
    /// </summary>
    public static void TopKIndices<T>(Tensor<T> x, int k, Span<int> indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        if (k < 1 || k > d) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} must be between 1 and the row length {d}");
        var order = new int[d];
        var keys = new T[d];
        for (int r = 0; r < rows; r++)
        {
            var row = x.Row(r);
            for (int j = 0; j < d; j++) { order[j] = j; keys[j] = -row[j]; }
            // Stable: sort by (−value, index) so ties keep the lower column.
            Array.Sort(order, (a, b) => { int c = keys[a].CompareTo(keys[b]); return c != 0 ? c : a.CompareTo(b); });
            var dst = indices.Slice(r * k, k);
            order.AsSpan(0, k).CopyTo(dst);
            dst.Sort();
        }
    }
}
