using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The float32 sparse kernels against the float64 plain loops on the same operands: ragged tiles (token counts
/// that are not multiples of 64 or 8), widths that are not multiples of 8, empty rows, fully dense and empty
/// patterns, one and two threads (which must give the same bits).
/// </summary>
[Collection("threads-alone")]
public class SparseGemmTests
{
    /// <summary>A [rows, columns] matrix with about <paramref name="density"/> of its entries nonzero, in [-1, 1).</summary>
    static float[] SparseMatrix(int rows, int columns, double density, int seed)
    {
        var rng = new Random(seed);
        var w = new float[rows * columns];
        for (int i = 0; i < w.Length; i++) if (rng.NextDouble() < density) w[i] = (float)(rng.NextDouble() * 2 - 1);
        return w;
    }

    static float[] Dense(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    static double[] Wide(float[] x) => Array.ConvertAll(x, v => (double)v);

    static T Threads<T>(int threads, Func<T> f)
    {
        using var _ = TestThreads.Set(threads);
        return f();
    }

    public static TheoryData<int, int, int, double> Shapes => new()
    {
        // n, rows (outputs), columns (inputs), density
        { 1, 1, 1, 1.0 }, { 7, 13, 21, 0.3 }, { 64, 16, 64, 0.1 }, { 130, 40, 72, 0.05 }, { 65, 9, 33, 1.0 },
        { 200, 33, 17, 0.0 }, { 300, 96, 200, 1.0 / 16 }, { 513, 128, 256, 1.0 / 64 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Product_with_the_transpose_matches_the_float64_loop(int n, int rows, int columns, double density)
    {
        var w = SparseMatrix(rows, columns, density, seed: rows + columns);
        var pattern = SparsePattern.FromNonZeros<float>(w, rows, columns);
        var values = new float[pattern.NonZeros];
        pattern.Gather<float>(w, values);
        var a = Dense(n * columns, seed: n);
        var start = Dense(n * rows, seed: 99);
        foreach (bool accumulate in new[] { false, true })
        {
            var expected = Wide(start);
            SparseGemm.MultiplyTransposed<double>(Wide(a), n, pattern, Wide(values), expected, accumulate);
            foreach (int threads in new[] { 1, 2 })
            {
                var c = (float[])start.Clone();
                if (!accumulate) c.AsSpan().Fill(float.NaN); // overwritten whole, never read
                Threads(threads, () => { SparseGemm.MultiplyTransposed<float>(a, n, pattern, values, c, accumulate); return 0; });
                for (int i = 0; i < c.Length; i++)
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-5 * (columns + 2),
                        $"C[{i / rows},{i % rows}] = {c[i]}, expected {expected[i]} ({n}×{rows}×{columns}, density {density}, accumulate {accumulate}, {threads} threads)");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Sampled_product_matches_the_float64_loop_and_leaves_other_entries_alone(int n, int rows, int columns, double density)
    {
        var w = SparseMatrix(rows, columns, density, seed: 3 * rows + columns);
        var pattern = SparsePattern.FromNonZeros<float>(w, rows, columns);
        var b = Dense(n * rows, seed: 5);
        var a = Dense(n * columns, seed: 6);
        var start = Dense(rows * columns, seed: 7);
        var expected = Wide(start);
        SparseGemm.SampledProductAdd<double>(Wide(b), Wide(a), n, pattern, expected);
        foreach (int threads in new[] { 1, 2 })
        {
            var dense = (float[])start.Clone();
            Threads(threads, () => { SparseGemm.SampledProductAdd<float>(b, a, n, pattern, dense); return 0; });
            for (int i = 0; i < dense.Length; i++)
            {
                if (w[i] == 0) Assert.True(dense[i] == start[i], $"entry {i} is outside the pattern but changed");
                Assert.True(Math.Abs(dense[i] - expected[i]) <= 1e-5 * (n + 2),
                    $"D[{i / columns},{i % columns}] = {dense[i]}, expected {expected[i]} ({n}×{rows}×{columns}, {threads} threads)");
            }
        }
    }

    [Fact]
    public void One_and_two_threads_give_the_same_bits()
    {
        int n = 700, rows = 300, columns = 260;
        var w = SparseMatrix(rows, columns, 0.1, seed: 11);
        var pattern = SparsePattern.FromNonZeros<float>(w, rows, columns);
        var values = new float[pattern.NonZeros];
        pattern.Gather<float>(w, values);
        var a = Dense(n * columns, 12);
        var b = Dense(n * rows, 13);
        float[] Forward(int threads) => Threads(threads, () =>
        {
            var c = new float[n * rows];
            SparseGemm.MultiplyTransposed<float>(a, n, pattern, values, c, accumulate: false);
            return c;
        });
        float[] Sampled(int threads) => Threads(threads, () =>
        {
            var d = new float[rows * columns];
            SparseGemm.SampledProductAdd<float>(b, a, n, pattern, d);
            return d;
        });
        Assert.Equal(Forward(1), Forward(2));
        Assert.Equal(Sampled(1), Sampled(2));
    }

    [Fact]
    public void Transposed_pattern_holds_the_same_entries_and_maps_values_back()
    {
        var w = SparseMatrix(23, 37, 0.2, seed: 4);
        var pattern = SparsePattern.FromNonZeros<float>(w, 23, 37);
        var values = new float[pattern.NonZeros];
        pattern.Gather<float>(w, values);
        var transposedValues = new float[pattern.NonZeros];
        pattern.GatherTransposed<float>(values, transposedValues);
        var t = pattern.Transposed;
        Assert.Equal((37, 23), (t.Rows, t.Columns));
        var back = t.ToDense<float>(transposedValues);
        for (int r = 0; r < 23; r++)
            for (int j = 0; j < 37; j++) Assert.Equal(w[r * 37 + j], back[j * 23 + r]);
        Assert.Same(pattern, t.Transposed);
        Assert.Equal(pattern.ToDense<float>(values).ToArray(), w);
        Assert.Equal(pattern.NonZeros, SparsePattern.CountNonZeros<float>(w));
    }

    [Fact]
    public void Bad_patterns_and_shapes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SparsePattern(2, 3, [0, 1], [0]));            // offsets too short
        Assert.Throws<ArgumentException>(() => new SparsePattern(1, 3, [0, 2], [2, 1]));         // not ascending
        Assert.Throws<ArgumentException>(() => new SparsePattern(1, 3, [0, 1], [3]));            // column out of range
        var p = new SparsePattern(2, 3, [0, 1, 2], [0, 2]);
        Assert.Throws<ArgumentException>(() => SparseGemm.MultiplyTransposed<float>(new float[5], 2, p, new float[2], new float[4], false));
        Assert.Throws<ArgumentException>(() => SparseGemm.MultiplyTransposed<float>(new float[6], 2, p, new float[1], new float[4], false));
        Assert.Throws<ArgumentException>(() => SparseGemm.SampledProductAdd<float>(new float[4], new float[6], 2, p, new float[5]));
    }
}
