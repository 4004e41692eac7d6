using Mechanist.IO;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

/// <summary>
/// tests/fixtures/universal: three models' activations (2,000 tokens × 2 layers × 16 neurons, float32) and the
/// correlations NumPy computed from them in float64 (make_golden.py there says how they were made).
/// </summary>
static class UniversalFixture
{
    public const int Tokens = 2000, Units = 32;

    public static string Dir => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "universal");

    public static string Acts(int model) => Path.Combine(Dir, $"acts{model}.npy");

    public static float[] Load(int model)
    {
        using var f = NpyFile.Open(Acts(model));
        return f.ReadFloat().ToArray();
    }

    public static double[] Golden(string name)
    {
        using var f = NpyFile.Open(Path.Combine(Dir, name));
        return f.ReadArray<double>();
    }

    public static long[] GoldenIndex(string name)
    {
        using var f = NpyFile.Open(Path.Combine(Dir, name));
        return f.ReadArray<long>();
    }

    /// <summary>Column means of rows [0, count): the provisional shift the run takes from its first batch.</summary>
    public static float[] Means(float[] x, int width, int count)
    {
        var shift = new float[width];
        for (int j = 0; j < width; j++)
        {
            double s = 0;
            for (int t = 0; t < count; t++) s += x[t * width + j];
            shift[j] = (float)(s / count);
        }
        return shift;
    }

    /// <summary>Sums rows [start, end) of x against y in blocks of <paramref name="block"/> tokens.</summary>
    public static unsafe PearsonSums Sum(float[] x, float[] y, float[] rowShift, float[] columnShift, int start, int end, int block)
    {
        var sums = new PearsonSums(rowShift, columnShift);
        var acc = new PearsonAccumulator(rowShift.Length, columnShift.Length, block);
        for (int t = start; t < end; t += block)
        {
            int n = Math.Min(block, end - t);
            fixed (float* px = x) fixed (float* py = y)
            {
                acc.SetRows(px + (long)t * rowShift.Length, rowShift.Length, n, rowShift);
                acc.AddTo(sums, py + (long)t * columnShift.Length, columnShift.Length);
            }
        }
        return sums;
    }
}
