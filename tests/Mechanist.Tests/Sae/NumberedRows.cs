namespace Mechanist.Tests.Sae;

/// <summary>Rows whose values name them: row r holds r·16 + j in column j, so any row read back tells where it came from.</summary>
static class NumberedRows
{
    public static float Value(long r, int j) => r * 16 + j;

    /// <summary>The row a read-back row came from (checking every column on the way).</summary>
    public static long RowOf(ReadOnlySpan<float> row)
    {
        long r = (long)row[0] / 16;
        for (int j = 0; j < row.Length; j++) Assert.Equal(Value(r, j), row[j]);
        return r;
    }

    public static long[] RowsOf(Tensor t) => Enumerable.Range(0, t.RowCount).Select(i => RowOf(t.Row(i))).ToArray();
}
