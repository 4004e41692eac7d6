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
    /// P[i, j] += a_ti·b_tj for every token and every co-active pair, row by row of A's turned-around codes (see
    /// <see cref="CodesByLatent"/>: each row of P stays in cache while it is updated, and sums in token order).
    /// </summary>
    static void AddCross(double[] cross, int columns, SparseCodes a, SparseCodes b)
    {
        var byLatent = new CodesByLatent(a);
        var bIdx = b.Indices; var bVal = b.Values; var bOff = b.Offsets;
        byLatent.ForEachLatent(b, i =>
        {
            long r = (long)i * columns;
            for (int e = byLatent.Start[i]; e < byLatent.Start[i + 1]; e++)
            {
                int t = byLatent.Token[e];
                double ai = byLatent.Value[e];
                for (int f = bOff[t]; f < bOff[t + 1]; f++) cross[r + bIdx[f]] += ai * bVal[f];
            }
        });
    }
}
