using System.Numerics;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Sparse;

/// <summary>
/// Where a row-major [rows, columns] matrix is nonzero, as compressed rows (CSR without values): row r's
/// entries are e in [Offsets[r], Offsets[r+1]), at columns Indices[e], ascending. Values live elsewhere (a
/// weight-sparse model keeps its dense weights and gathers the kept ones per call, see <see cref="Gather{T}"/>),
/// so one pattern serves every call until the mask changes. <see cref="Transposed"/> is the same entries by
/// column, for products with the transpose (the backward pass of a sparse linear layer).
/// </summary>
public sealed class SparsePattern
{
    SparsePattern? _transposed;
    int[]? _transposedSource;

    public SparsePattern(int rows, int columns, int[] offsets, int[] indices)
    {
        if (rows < 0 || columns < 0 || offsets.Length != rows + 1 || offsets[0] != 0 || offsets[rows] != indices.Length)
            throw new ArgumentException($"offsets ({offsets.Length}) and indices ({indices.Length}) do not describe {rows} compressed rows");
        for (int r = 0; r < rows; r++)
        {
            if (offsets[r + 1] < offsets[r]) throw new ArgumentException($"row {r}: offsets decrease");
            for (int e = offsets[r]; e < offsets[r + 1]; e++)
                if ((uint)indices[e] >= (uint)columns || (e > offsets[r] && indices[e] <= indices[e - 1]))
                    throw new ArgumentException($"row {r}: column indices must be ascending and below {columns}");
        }
        Rows = rows; Columns = columns; Offsets = offsets; Indices = indices;
    }

    public int Rows { get; }
    public int Columns { get; }
    public int[] Offsets { get; }
    public int[] Indices { get; }
    public int NonZeros => Offsets[Rows];
    public double Density => Rows == 0 || Columns == 0 ? 0 : (double)NonZeros / ((long)Rows * Columns);

    /// <summary>The entries of a dense row-major [rows, columns] matrix that are not zero.</summary>
    public static SparsePattern FromNonZeros<T>(ReadOnlySpan<T> dense, int rows, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dense.Length != (long)rows * columns) throw new ArgumentException($"{dense.Length} values are not a {rows}×{columns} matrix");
        var offsets = new int[rows + 1];
        for (int r = 0; r < rows; r++) offsets[r + 1] = offsets[r] + CountNonZeros(dense.Slice(r * columns, columns));
        var indices = new int[offsets[rows]];
        for (int r = 0, e = 0; r < rows; r++)
        {
            var row = dense.Slice(r * columns, columns);
            for (int j = 0; j < columns; j++) if (row[j] != T.Zero) indices[e++] = j;
        }
        return new SparsePattern(rows, columns, offsets, indices);
    }

    /// <summary>How many entries are not zero (a cheap density check before building a pattern).</summary>
    public static int CountNonZeros<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = 0, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            int w = Vector512<T>.Count;
            for (; i <= values.Length - w; i += w)
            {
                var zero = Vector512.Equals(Vector512.Create(values.Slice(i, w)), Vector512<T>.Zero);
                count += w - BitOperations.PopCount(Vector512.ExtractMostSignificantBits(zero));
            }
        }
        for (; i < values.Length; i++) if (values[i] != T.Zero) count++;
        return count;
    }

    /// <summary>values[e] = dense[r·Columns + Indices[e]] for every entry e of row r: the kept weights, in pattern order.</summary>
    public void Gather<T>(ReadOnlySpan<T> dense, Span<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dense.Length != (long)Rows * Columns || values.Length != NonZeros)
            throw new ArgumentException($"gather: {dense.Length} dense values into {values.Length} for a {Rows}×{Columns} pattern of {NonZeros}");
        for (int r = 0; r < Rows; r++)
        {
            var row = dense.Slice(r * Columns, Columns);
            for (int e = Offsets[r]; e < Offsets[r + 1]; e++) values[e] = row[Indices[e]];
        }
    }

    /// <summary>The same entries as a [Columns, Rows] pattern (built once, on first use).</summary>
    public SparsePattern Transposed
    {
        get
        {
            if (_transposed == null) BuildTransposed();
            return _transposed!;
        }
    }

    /// <summary>For entry e′ of <see cref="Transposed"/>, the index of the same entry in this pattern.</summary>
    public int[] TransposedSource
    {
        get
        {
            if (_transposed == null) BuildTransposed();
            return _transposedSource!;
        }
    }

    /// <summary>Values of this pattern (in its order) rearranged into the order of <see cref="Transposed"/>.</summary>
    public void GatherTransposed<T>(ReadOnlySpan<T> values, Span<T> transposedValues) where T : unmanaged
    {
        var source = TransposedSource;
        if (values.Length != NonZeros || transposedValues.Length != NonZeros) throw new ArgumentException("values do not match the pattern's entry count");
        for (int e = 0; e < source.Length; e++) transposedValues[e] = values[source[e]];
    }

    /// <summary>A dense row-major matrix with <paramref name="values"/> (in pattern order) at the entries and zeros elsewhere.</summary>
    public Tensor<T> ToDense<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dense = new Tensor<T>(Rows, Columns);
        for (int r = 0; r < Rows; r++)
            for (int e = Offsets[r]; e < Offsets[r + 1]; e++) dense[r * Columns + Indices[e]] = values[e];
        return dense;
    }

    /// <summary>Counting sort by column: rows visited in order, so each transposed row's indices come out ascending.</summary>
    void BuildTransposed()
    {
        var offsets = new int[Columns + 1];
        foreach (int j in Indices) offsets[j + 1]++;
        for (int j = 0; j < Columns; j++) offsets[j + 1] += offsets[j];
        var next = (int[])offsets.Clone();
        var indices = new int[NonZeros];
        var source = new int[NonZeros];
        for (int r = 0; r < Rows; r++)
            for (int e = Offsets[r]; e < Offsets[r + 1]; e++)
            {
                int slot = next[Indices[e]]++;
                indices[slot] = r;
                source[slot] = e;
            }
        _transposedSource = source;
        _transposed = new SparsePattern(Columns, Rows, offsets, indices) { _transposed = this };
        _transposed._transposedSource = InverseOf(source);
    }

    static int[] InverseOf(int[] permutation)
    {
        var inverse = new int[permutation.Length];
        for (int i = 0; i < permutation.Length; i++) inverse[permutation[i]] = i;
        return inverse;
    }
}
