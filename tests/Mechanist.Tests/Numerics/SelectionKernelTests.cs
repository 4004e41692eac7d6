using System.Collections.Concurrent;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The selection and gather kernels (AbsTopK, top-k indices, embedding gather and scatter) against sorting and
/// plain loops, and the row splitter they run on: every row once, in ranges fixed by the count alone.
/// </summary>
[Collection("threads-alone")]
public class SelectionKernelTests
{
    /// <summary>Rows with many exact ties (values on a coarse grid, a third of them 0, both signs).</summary>
    static Tensor<float> TiedRows(int rows, int width, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor<float>(rows, width);
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(3) == 0 ? 0 : (rng.Next(2) * 2 - 1) * rng.Next(1, 5) * 0.5f;
        return x;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(18)]
    [InlineData(19)]
    public void Abs_top_k_keeps_the_k_largest_magnitudes_and_the_lowest_columns_among_ties(int k)
    {
        using (TestThreads.Set(2))
        {
            const int rows = 200, width = 19;
            var x = TiedRows(rows, width, k);
            var y = new Tensor<float>(rows, width);
            y.Fill(9); // everything not kept must be written as 0
            var kept = new byte[rows * width];
            AbsTopK.Forward(x, k, y, kept);
            for (int r = 0; r < rows; r++)
            {
                var keep = Enumerable.Range(0, width).OrderByDescending(j => Math.Abs(x[r * width + j])).ThenBy(j => j).Take(k).ToHashSet();
                for (int j = 0; j < width; j++)
                {
                    int i = r * width + j;
                    Assert.Equal(keep.Contains(j) ? (byte)1 : (byte)0, kept[i]);
                    Assert.Equal(keep.Contains(j) ? x[i] : 0f, y[i]);
                }
            }
        }
    }

    [Fact]
    public void Abs_top_k_refuses_a_k_outside_the_row_and_a_mask_of_another_size()
    {
        var x = new Tensor<double>(2, 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => AbsTopK.Forward(x, 0, x, new byte[8]));
        Assert.Contains("k = 0 must be between 1 and the row length 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AbsTopK.Forward(x, 5, x, new byte[8]));
        Assert.Contains("output and mask must match the input", Assert.Throws<ArgumentException>(() => AbsTopK.Forward(x, 2, x, new byte[7])).Message);
        Assert.Throws<ArgumentException>(() => AbsTopK.Forward(x, 2, new Tensor<double>(2, 3), new byte[8]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(11)]
    public void Top_k_indices_are_the_largest_values_lowest_column_first_in_ascending_order(int k)
    {
        var x = TiedRows(6, 11, 40 + k);
        var indices = new int[6 * k];
        Gather.TopKIndices(x, k, indices);
        for (int r = 0; r < 6; r++)
        {
            var expected = Enumerable.Range(0, 11).OrderByDescending(j => x[r * 11 + j]).ThenBy(j => j).Take(k).Order().ToArray();
            Assert.Equal(expected, indices.AsSpan(r * k, k).ToArray());
        }
        Assert.Contains("k = 0 must be between 1 and the row length 11",
            Assert.Throws<ArgumentOutOfRangeException>(() => Gather.TopKIndices(x, 0, indices)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gather.TopKIndices(x, 12, new int[72]));
    }

    [Fact]
    public void Top_k_indices_break_ties_by_column_in_rows_longer_than_an_insertion_sort()
    {
        // Array.Sort is stable only below 17 elements (insertion sort); past that only the index tie-break keeps
        // the lowest columns among equal values.
        var x = TiedRows(8, 64, 77);
        var indices = new int[8 * 5];
        Gather.TopKIndices(x, 5, indices);
        for (int r = 0; r < 8; r++)
            Assert.Equal(Enumerable.Range(0, 64).OrderByDescending(j => x[r * 64 + j]).ThenBy(j => j).Take(5).Order().ToArray(),
                indices.AsSpan(r * 5, 5).ToArray());
    }

    [Fact]
    public void Gather_copies_table_rows_and_scatter_adds_repeated_ids()
    {
        var table = Tensor<double>.FromArray(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), 4, 3);
        var ids = new[] { 3, 0, 3, 1 };
        var output = new Tensor<double>(4, 3);
        Gather.Rows(table, ids, output);
        Assert.Equal(new double[] { 9, 10, 11, 0, 1, 2, 9, 10, 11, 3, 4, 5 }, output.ToArray());

        var dTable = Tensor<double>.FromArray(Enumerable.Repeat(1.0, 12).ToArray(), 4, 3);
        var dOut = Tensor<double>.FromArray(Enumerable.Range(1, 12).Select(i => (double)i).ToArray(), 4, 3);
        Gather.ScatterAddRows(dOut, ids, dTable);
        Assert.Equal(new double[] { 5, 6, 7, 11, 12, 13, 1, 1, 1, 1 + 1 + 7, 1 + 2 + 8, 1 + 3 + 9 }, dTable.ToArray());

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gather.Rows(table, new[] { 0, 4 }, output));
        Assert.Contains("token id 4 at position 1 is outside the table of 4 rows", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gather.Rows(table, new[] { -1 }, output));
    }

    /// <summary>Every call's (worker, start, end), sorted by worker.</summary>
    static (int Worker, int Start, int End)[] Calls(Action<Action<int, int, int>> run)
    {
        var calls = new ConcurrentBag<(int, int, int)>();
        run((w, s, e) => calls.Add((w, s, e)));
        return calls.OrderBy(c => c.Item1).ToArray();
    }

    [Fact]
    public void Row_parallel_splits_into_contiguous_ranges_fixed_by_the_count()
    {
        using (TestThreads.Set(3))
        {
            Assert.Equal(new[] { (0, 0, 33), (1, 33, 66), (2, 66, 100) }, Calls(b => RowParallel.For(100, 10, b)));
            Assert.Equal(new[] { (0, 0, 10), (1, 10, 21) }, Calls(b => RowParallel.For(21, 10, b)));  // 2 workers' worth only
            Assert.Equal(new[] { (0, 0, 19) }, Calls(b => RowParallel.For(19, 10, b)));               // inline below 2×minimum
            Assert.Empty(Calls(b => RowParallel.For(0, 10, b)));
            Assert.Equal(new[] { (0, 0, 1), (1, 1, 3), (2, 3, 5) }, Calls(b => RowParallel.For(5, 0, b))); // a minimum of 0 counts as 1
            var ranges = new ConcurrentBag<(int, int)>();
            RowParallel.For(7, 2, (s, e) => ranges.Add((s, e)));
            Assert.Equal(new[] { (0, 2), (2, 4), (4, 7) }, ranges.Order().ToArray());

            Assert.Equal(3, RowParallel.Workers(1000, 1));
            Assert.Equal(2, RowParallel.Workers(20, 10));
            Assert.Equal(1, RowParallel.Workers(5, 10));
            Assert.Equal(3, RowParallel.Workers(3, 0));

            // ForRanges: (start, end, worker), at most n workers, one inline call even for n = 0.
            var r = new ConcurrentBag<(int, int, int)>();
            RowParallel.ForRanges(3, 8, (s, e, w) => r.Add((w, s, e)));
            Assert.Equal(new[] { (0, 0, 1), (1, 1, 2), (2, 2, 3) }, r.OrderBy(c => c.Item1).ToArray());
            var single = new List<(int, int, int)>();
            RowParallel.ForRanges(0, 4, (s, e, w) => single.Add((w, s, e)));
            Assert.Equal(new[] { (0, 0, 0) }, single);
            single.Clear();
            RowParallel.ForRanges(9, 1, (s, e, w) => single.Add((w, s, e)));
            Assert.Equal(new[] { (0, 0, 9) }, single);
        }
    }
}
