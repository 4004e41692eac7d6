using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class PearsonSumsTests
{
    const int W = UniversalFixture.Units;

    [Fact]
    public void Streamed_correlations_equal_numpy_on_the_same_activations()
    {
        var x = UniversalFixture.Load(0);
        var y = UniversalFixture.Load(1);
        var sums = UniversalFixture.Sum(x, y, UniversalFixture.Means(x, W, 700), UniversalFixture.Means(y, W, 700), 0, UniversalFixture.Tokens, 700);
        var golden = UniversalFixture.Golden("corr01.npy");
        Assert.Equal(UniversalFixture.Tokens, sums.Tokens);
        for (int i = 0; i < W; i++)
            for (int j = 0; j < W; j++)
            {
                double expected = golden[i * W + j], actual = sums.Correlation(i, j);
                if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual), $"({i}, {j}): {actual}, NumPy nan (a constant unit)");
                else Assert.True(Math.Abs(actual - expected) <= 1e-5, $"({i}, {j}): {actual} vs NumPy {expected}");
            }
        var maxima = sums.RowMaxima();
        var max = UniversalFixture.Golden("max01.npy");
        var arg = UniversalFixture.GoldenIndex("argmax01.npy");
        for (int i = 0; i < W; i++)
        {
            Assert.Equal(arg[i], maxima.ArgMax[i]);
            if (double.IsNaN(max[i])) Assert.True(float.IsNaN(maxima.Max[i]));
            else Assert.True(Math.Abs(maxima.Max[i] - max[i]) <= 1e-5, $"row {i}: {maxima.Max[i]} vs {max[i]}");
        }
    }

    [Fact]
    public void Without_the_provisional_mean_an_offset_unit_loses_its_correlation_to_cancellation()
    {
        // Unit 7 sits at 300 ± 1: its cross-products in float32 without the shift lose ~5 digits. The shifted
        // run above keeps 1e-5; this one shows the shift is what does it.
        var x = UniversalFixture.Load(0);
        var y = UniversalFixture.Load(1);
        var sums = UniversalFixture.Sum(x, y, new float[W], new float[W], 0, UniversalFixture.Tokens, 700);
        var golden = UniversalFixture.Golden("corr01.npy");
        double worst = Enumerable.Range(0, W).Where(j => !double.IsNaN(golden[7 * W + j])).Max(j => Math.Abs(sums.Correlation(7, j) - golden[7 * W + j]));
        Assert.True(worst > 1e-4, $"worst error {worst}");
    }

    [Fact]
    public void Sums_of_two_halves_merge_to_the_sums_of_the_whole()
    {
        var x = UniversalFixture.Load(0);
        var y = UniversalFixture.Load(2);
        var rs = UniversalFixture.Means(x, W, 500);
        var cs = UniversalFixture.Means(y, W, 500);
        var whole = UniversalFixture.Sum(x, y, rs, cs, 0, 2000, 500);
        var first = UniversalFixture.Sum(x, y, rs, cs, 0, 1000, 500);
        first.Merge(UniversalFixture.Sum(x, y, rs, cs, 1000, 2000, 500), "second half");
        Assert.Equal(whole.Tokens, first.Tokens);
        for (int k = 0; k < whole.Cross.Length; k++)
            Assert.True(Math.Abs(whole.Cross[k] - first.Cross[k]) <= 1e-12 * Math.Max(1, Math.Abs(whole.Cross[k])), $"cross {k}");
        for (int i = 0; i < W; i++)
            for (int j = 0; j < W; j++)
            {
                double a = whole.Correlation(i, j), b = first.Correlation(i, j);
                Assert.True(double.IsNaN(a) && double.IsNaN(b) || Math.Abs(a - b) <= 1e-13, $"({i}, {j}) {a} vs {b}");
            }
    }

    [Fact]
    public void Sums_made_with_other_shifts_refuse_to_merge()
    {
        var x = UniversalFixture.Load(0);
        var y = UniversalFixture.Load(1);
        var a = UniversalFixture.Sum(x, y, UniversalFixture.Means(x, W, 500), UniversalFixture.Means(y, W, 500), 0, 1000, 500);
        var b = UniversalFixture.Sum(x, y, UniversalFixture.Means(x, W, 600), UniversalFixture.Means(y, W, 600), 1000, 2000, 500);
        var e = Assert.Throws<UserError>(() => a.Merge(b, "shard 1"));
        Assert.Contains("different runs", e.Message);
    }
}
