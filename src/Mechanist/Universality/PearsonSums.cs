namespace Mechanist.Universality;

/// <summary>
/// Everything a Pearson correlation between a block of row units (x) and a set of column units (y) needs,
/// as mergeable float64 sums (METHODS.md §5.2): the per-unit moments of both sides and the cross-products
/// P[i, j] = Σ_t (x_ti − c_i)(y_tj − d_j). Dense (<see cref="PearsonAccumulator"/>) and sparse
/// (<see cref="SparsePearsonAccumulator"/>) accumulation fill the same sums; shards of one run merge by adding,
/// and <see cref="Correlation"/> / <see cref="RowMaxima"/> finalise them whichever way they were made.
/// </summary>
public sealed class PearsonSums
{
    public PearsonSums(float[] rowShift, float[] columnShift)
        : this(new UnitMoments(rowShift), new UnitMoments(columnShift), new double[(long)rowShift.Length * columnShift.Length]) { }

    /// <summary>Sums already made (read back from a shard's file); each argument becomes this object's own.</summary>
    public PearsonSums(UnitMoments rows, UnitMoments columns, double[] cross)
    {
        if (cross.LongLength != (long)rows.Count * columns.Count) throw new ArgumentException($"{cross.LongLength} cross-products for {rows.Count}×{columns.Count} units");
        if (rows.Tokens != columns.Tokens) throw new ArgumentException("row and column moments over different token counts");
        Rows = rows;
        Columns = columns;
        Cross = cross;
    }

    public UnitMoments Rows { get; }
    public UnitMoments Columns { get; }

    /// <summary>Cross-products, row-major [rows, columns].</summary>
    public double[] Cross { get; }

    /// <summary>Tokens summed (equal on both sides).</summary>
    public long Tokens => Rows.Tokens;

    /// <summary>Bytes held: what a memory budget must count for one block.</summary>
    public static long BytesFor(int rows, int columns) => 8L * rows * columns + 20L * (rows + columns);

    /// <summary>Adds the sums of another part of the same run (a shard of its tokens).</summary>
    public void Merge(PearsonSums other, string what)
    {
        if (other.Cross.Length != Cross.Length) throw new UserError($"{what}: a {other.Rows.Count}×{other.Columns.Count} block where {Rows.Count}×{Columns.Count} was expected");
        Rows.Merge(other.Rows, what);
        Columns.Merge(other.Columns, what);
        var mine = Cross; var theirs = other.Cross;
        for (long i = 0; i < mine.LongLength; i++) mine[i] += theirs[i];
    }

    /// <summary>ρ(i, j) = (P − S_i·S_j/n) / √((Q_i − S_i²/n)(Q_j − S_j²/n)); NaN when either unit never varies.</summary>
    public double Correlation(int i, int j) => Correlation(i, j, Columns.Count);

    double Correlation(int i, int j, int columns)
    {
        long n = Tokens;
        double vi = Rows.CentredSquares(i), vj = Columns.CentredSquares(j);
        if (n < 2 || !(vi > 0) || !(vj > 0)) return double.NaN;
        double c = (Cross[(long)i * columns + j] - Rows.Sum[i] * Columns.Sum[j] / n) / Math.Sqrt(vi * vj);
        return Math.Clamp(c, -1, 1);
    }

    /// <summary>Row <paramref name="i"/> of the correlation matrix.</summary>
    public void CorrelationRow(int i, Span<double> row)
    {
        for (int j = 0; j < Columns.Count; j++) row[j] = Correlation(i, j);
    }

    /// <summary>
    /// Per row unit, its largest correlation with any column unit and that unit's index (NaN and −1 for a row
    /// unit that never varies, or against columns that never vary).
    /// </summary>
    public RowMaxima RowMaxima()
    {
        int rows = Rows.Count, columns = Columns.Count;
        var max = new float[rows];
        var arg = new int[rows];
        long n = Tokens;
        // The column factors once: 1/√V_j and the mean, so the row loop is one multiply-add per entry.
        var inv = new double[columns];
        var mean = new double[columns];
        for (int j = 0; j < columns; j++)
        {
            double v = Columns.CentredSquares(j);
            inv[j] = n >= 2 && v > 0 ? 1 / Math.Sqrt(v) : double.NaN;
            mean[j] = Columns.Sum[j] / n;
        }
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = Numerics.Parallelism.Threads }, i =>
        {
            double vi = Rows.CentredSquares(i);
            double best = double.NegativeInfinity;
            int at = -1;
            if (n >= 2 && vi > 0)
            {
                double invI = 1 / Math.Sqrt(vi), si = Rows.Sum[i];
                long start = (long)i * columns;
                for (int j = 0; j < columns; j++)
                {
                    double c = (Cross[start + j] - si * mean[j]) * invI * inv[j];
                    if (c > best) { best = c; at = j; } // NaN never compares greater
                }
            }
            max[i] = at < 0 ? float.NaN : (float)Math.Min(best, 1);
            arg[i] = at;
        });
        return new RowMaxima(max, arg);
    }
}

/// <summary>Per row unit: its best correlation with any column unit, and that column (−1 when undefined).</summary>
public sealed record RowMaxima(float[] Max, int[] ArgMax);
