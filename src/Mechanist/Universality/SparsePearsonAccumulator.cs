using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// Streaming Pearson for sparse codes (docs/METHODS.md §3.4, §5.2): a dictionary latent fires on a few tokens in a
/// thousand, so the cross-products P[i, j] = Σ_t a_ti·b_tj gain only from tokens where both fire. Per token this
/// adds L0_A × L0_B products instead of the dense m_A × m_B, into the same float64 <see cref="PearsonSums"/>. The
/// shift is zero (a latent's mean is near zero against its spread, so nothing cancels), and the means enter only at
/// finalisation, as S_i·S_j/n: the same correlations as the dense GEMM formulation.
/// </summary>
public static class SparsePearsonAccumulator
{
    /// <summary>Empty sums for <paramref name="rows"/> × <paramref name="columns"/> latents, unshifted (what <see cref="Add"/> requires).</summary>
    public static PearsonSums NewSums(int rows, int columns) => new(new float[rows], new float[columns]);

    /// <summary>Bytes the sums of a block hold (the float64 cross-products dominate).</summary>
    public static long BytesFor(int rows, int columns) => PearsonSums.BytesFor(rows, columns);

    /// <summary>
    /// Adds one batch: token t's codes are row t of <paramref name="a"/> (the sums' rows) and of <paramref name="b"/>
    /// (its columns). The products are float64 (exact for float32 inputs), so the order of addition is the only rounding.
    /// </summary>
    public static void Add(PearsonSums sums, SparseCodes a, SparseCodes b)
    {
        if (a.Rows != b.Rows) throw new ArgumentException($"{a.Rows} rows of A codes but {b.Rows} of B: not the same tokens");
        if (a.Latents != sums.Rows.Count || b.Latents != sums.Columns.Count)
            throw new ArgumentException($"codes of {a.Latents} × {b.Latents} latents for sums of {sums.Rows.Count} × {sums.Columns.Count}");
        if (!IsZero(sums.Rows.Shift) || !IsZero(sums.Columns.Shift))
            throw new ArgumentException("sparse sums must be unshifted (a shift would make every latent dense)");
        AddMoments(sums.Rows, a);
        AddMoments(sums.Columns, b);
        AddCross(sums.Cross, sums.Columns.Count, a, b);
    }

    static bool IsZero(float[] shift)
    {
        foreach (float s in shift) if (s != 0) return false;
        return true;
    }

    static void AddMoments(UnitMoments moments, SparseCodes codes)
    {
        var sum = new double[moments.Count];
        var squares = new double[moments.Count];
        var idx = codes.Indices; var val = codes.Values;
        for (int e = 0; e < codes.Offsets[^1]; e++)
        {
            double v = val[e];
            sum[idx[e]] += v;
            squares[idx[e]] += v * v;
        }
        moments.Add(sum, squares, codes.Rows);
    }

    /// <summary>
    /// P[i, j] += a_ti·b_tj for every token and every co-active pair. A's codes are first turned around (per latent,
    /// the tokens it fires on), so all updates of row i come together and hit one cached row of P instead of jumping
    /// across the whole m_A × m_B matrix; rows are shared out between the cores, so no two threads write the same
    /// entry, and every entry adds its products in token order whatever the thread count.
    /// </summary>
    static void AddCross(double[] cross, int columns, SparseCodes a, SparseCodes b)
    {
        int rows = a.Latents, entries = a.Offsets[^1];
        var start = new int[rows + 1];
        for (int e = 0; e < entries; e++) start[a.Indices[e] + 1]++;
        for (int i = 0; i < rows; i++) start[i + 1] += start[i];
        var token = new int[entries];
        var value = new float[entries];
        var fill = start[..rows];
        for (int t = 0; t < a.Rows; t++)
            for (int e = a.Offsets[t]; e < a.Offsets[t + 1]; e++)
            {
                int at = fill[a.Indices[e]]++;
                token[at] = t;
                value[at] = a.Values[e];
            }

        long pairs = 0;
        for (int t = 0; t < a.Rows; t++) pairs += (long)(a.Offsets[t + 1] - a.Offsets[t]) * (b.Offsets[t + 1] - b.Offsets[t]);
        int threads = pairs < 1 << 15 ? 1 : Parallelism.Threads;
        // Blocks of rows handed out as threads free up: a few latents fire far more often than the rest.
        const int Block = 64;
        Parallel.For(0, (rows + Block - 1) / Block, new ParallelOptions { MaxDegreeOfParallelism = threads }, block =>
        {
            var bIdx = b.Indices; var bVal = b.Values; var bOff = b.Offsets;
            for (int i = block * Block; i < Math.Min(rows, (block + 1) * Block); i++)
            {
                long r = (long)i * columns;
                for (int e = start[i]; e < start[i + 1]; e++)
                {
                    int t = token[e];
                    double ai = value[e];
                    for (int f = bOff[t]; f < bOff[t + 1]; f++) cross[r + bIdx[f]] += ai * bVal[f];
                }
            }
        });
    }
}
