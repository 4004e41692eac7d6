using Mechanist.Sae;

namespace Mechanist.Features.Statistics;

/// <summary>
/// One batch of unit activations, rows = token positions (window after window, each window
/// <c>context</c> rows): dense [rows, units] (a model's neurons) or sparse codes (an SAE's features).
/// </summary>
public readonly struct BatchActivations
{
    readonly Tensor? dense;
    readonly SparseCodes? sparse;

    BatchActivations(Tensor? dense, SparseCodes? sparse, int rows, int units)
    {
        this.dense = dense; this.sparse = sparse; Rows = rows; Units = units;
    }

    public int Rows { get; }
    public int Units { get; }
    public bool IsSparse => sparse != null;
    internal Tensor DenseTensor => dense!;
    internal SparseCodes SparseCodes => sparse!;

    /// <summary>Dense activations: a tensor whose last axis is the units ([rows, units] or [b, p, units]).</summary>
    public static BatchActivations Dense(Tensor activations) => new(activations, null, activations.RowCount, activations.Columns);

    public static BatchActivations Sparse(SparseCodes codes) => new(null, codes, codes.Rows, codes.Latents);

    /// <summary>Unit <paramref name="unit"/>'s activation at <paramref name="row"/> (a binary search for sparse codes).</summary>
    public float Get(int row, int unit)
    {
        if (dense != null) return dense[row * Units + unit];
        var indices = sparse!.RowIndices(row);
        int at = indices.BinarySearch(unit);
        return at >= 0 ? sparse.RowValues(row)[at] : 0f;
    }
}
