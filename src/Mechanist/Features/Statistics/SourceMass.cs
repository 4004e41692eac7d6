namespace Mechanist.Features.Statistics;

/// <summary>
/// Each unit's activation mass (the sum of its positive activations) per source slot of
/// <see cref="SourceLabelling"/>: where a unit's activations come from, to set beside the corpus's own mix.
/// </summary>
public sealed class SourceMass(int units, int slots)
{
    readonly double[] _mass = new double[(long)units * slots];

    public int Units => units;
    public int Slots => slots;

    /// <param name="slotOfRow">The source slot of each row (token) of <paramref name="batch"/>.</param>
    public void Add(BatchActivations batch, ReadOnlySpan<int> slotOfRow)
    {
        if (batch.Units != units) throw new ArgumentException($"the batch has {batch.Units} units, not {units}");
        if (slotOfRow.Length != batch.Rows) throw new ArgumentException($"{slotOfRow.Length} slots for {batch.Rows} rows");
        for (int row = 0; row < batch.Rows; row++)
        {
            int slot = slotOfRow[row];
            if (batch.IsSparse)
            {
                var indices = batch.SparseCodes.RowIndices(row);
                var values = batch.SparseCodes.RowValues(row);
                for (int k = 0; k < indices.Length; k++)
                    if (values[k] > 0) _mass[(long)indices[k] * slots + slot] += values[k];
            }
            else
            {
                var values = batch.DenseTensor.Span.Slice(row * units, units);
                for (int u = 0; u < units; u++)
                    if (values[u] > 0) _mass[(long)u * slots + slot] += values[u];
            }
        }
    }

    /// <summary>The masses as float32, unit after unit, <see cref="Slots"/> per unit (the store's layout).</summary>
    public float[] ToFloats() => Array.ConvertAll(_mass, m => (float)m);
}
