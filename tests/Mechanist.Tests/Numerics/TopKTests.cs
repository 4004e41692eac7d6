using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

public class TopKTests
{
    static (float[] Values, int[] Indices) BySort(float[] row, int k)
    {
        var order = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).ThenBy(i => i).Take(k).ToArray();
        return (order.Select(i => row[i]).ToArray(), order);
    }

    [Theory]
    [InlineData(4096, 32)]
    [InlineData(100, 1)]
    [InlineData(37, 37)]
    [InlineData(1000, 100)]
    [InlineData(17, 5)]
    public void Matches_a_full_sort_including_ties(int n, int k)
    {
        var rng = new Rng((ulong)(n * 31 + k));
        for (int trial = 0; trial < 5; trial++)
        {
            var row = new float[n];
            rng.FillNormal(row, 0, 1);
            // Every other trial, quantise so that many values tie.
            if (trial % 2 == 1) for (int i = 0; i < n; i++) row[i] = MathF.Round(row[i] * 4) / 4;
            var values = new float[k];
            var indices = new int[k];
            TopK.Select(row, k, values, indices);
            var (ev, ei) = BySort(row, k);
            Assert.Equal(ev, values);
            Assert.Equal(ei, indices);
        }
    }

    [Fact]
    public void Rows_of_a_matrix_match_row_by_row_and_NaN_ranks_last()
    {
        int rows = 64, cols = 2048, k = 8;
        var m = new float[rows * cols];
        new Rng(3).FillUniform(m, -5, 5);
        m[5] = float.NaN;
        m[cols + 2] = float.PositiveInfinity;
        var values = new float[rows * k];
        var indices = new int[rows * k];
        TopK.SelectRows(m, rows, cols, k, values, indices);
        for (int r = 0; r < rows; r++)
        {
            var (ev, ei) = BySort(m.AsSpan(r * cols, cols).ToArray().Select(x => float.IsNaN(x) ? float.NegativeInfinity : x).ToArray(), k);
            Assert.Equal(ei, indices.AsSpan(r * k, k).ToArray());
            Assert.Equal(ev, values.AsSpan(r * k, k).ToArray());
        }
        Assert.Equal(float.PositiveInfinity, values[k]);
        Assert.Equal(2, indices[k]);
    }
}
