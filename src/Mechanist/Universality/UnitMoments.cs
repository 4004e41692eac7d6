namespace Mechanist.Universality;

/// <summary>
/// Per-unit running sums of one set of units (neurons or latents) over the tokens seen: float64 sums S and
/// sums of squares Q of the shifted values x − c, where c is a provisional per-unit mean fixed before the
/// first token (docs/METHODS.md §5.2). Shifting changes no correlation but keeps Q − S²/n from cancelling when a
/// unit's mean is large against its spread. Moments with equal shifts merge by adding.
/// </summary>
public sealed class UnitMoments
{
    public UnitMoments(float[] shift) : this(shift, new double[shift.Length], new double[shift.Length], 0) { }

    /// <summary>Moments already summed (read back from a shard's file).</summary>
    public UnitMoments(float[] shift, double[] sum, double[] squares, long tokens)
    {
        if (sum.Length != shift.Length || squares.Length != shift.Length) throw new ArgumentException("moment arrays of different lengths");
        Shift = shift;
        Sum = sum;
        Squares = squares;
        Tokens = tokens;
    }

    /// <summary>Per column, the mean of the first <paramref name="count"/> rows of <paramref name="width"/> values (0 when there are none): a provisional shift.</summary>
    public static float[] ColumnMeans(ReadOnlySpan<float> rows, int count, int width)
    {
        var sum = new double[width];
        for (int t = 0; t < count; t++)
        {
            var row = rows.Slice(t * width, width);
            for (int j = 0; j < width; j++) sum[j] += row[j];
        }
        return sum.Select(s => count == 0 ? 0f : (float)(s / count)).ToArray();
    }

    /// <summary>Units (length of every array).</summary>
    public int Count => Shift.Length;

    /// <summary>The provisional mean c subtracted from every value before it is summed (0 for the sparse path).</summary>
    public float[] Shift { get; }

    /// <summary>Σ (x − c) per unit.</summary>
    public double[] Sum { get; }

    /// <summary>Σ (x − c)² per unit.</summary>
    public double[] Squares { get; }

    /// <summary>Tokens summed, n.</summary>
    public long Tokens { get; set; }

    /// <summary>n·Var(x) = Q − S²/n for unit <paramref name="i"/> (≥ 0 up to rounding).</summary>
    public double CentredSquares(int i) => Squares[i] - Sum[i] * Sum[i] / Tokens;

    /// <summary>Adds sums over <paramref name="tokens"/> more tokens, computed with the same shift.</summary>
    public void Add(ReadOnlySpan<double> sum, ReadOnlySpan<double> squares, long tokens)
    {
        for (int i = 0; i < Sum.Length; i++) { Sum[i] += sum[i]; Squares[i] += squares[i]; }
        Tokens += tokens;
    }

    /// <summary>Adds another part of the same run (a shard): the shifts must be the same bits.</summary>
    public void Merge(UnitMoments other, string what)
    {
        if (other.Count != Count) throw new UserError($"{what}: {other.Count} units where {Count} were expected");
        if (!other.Shift.AsSpan().SequenceEqual(Shift))
            throw new UserError($"{what}: the provisional means differ, so these sums come from different runs (different data, models or settings)");
        Add(other.Sum, other.Squares, other.Tokens);
    }
}
