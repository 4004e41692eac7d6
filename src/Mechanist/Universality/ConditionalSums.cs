namespace Mechanist.Universality;

/// <summary>
/// Sums of each neuron's activation split by what the token is: by current token id, by previous token id,
/// by position in the window, by context flags (line start, inside brackets, inside quotes) and by the corpus
/// subset the token's document came from (the token store's source labels). From them
/// the variance reduction of any binary feature that is a set of token ids (or a flag) follows exactly
/// (docs/METHODS.md §5.6): VR = [S_f²/n_f + (S − S_f)²/(n − n_f) − S²/n] / (Q − S²/n).
/// </summary>
public sealed class ConditionalSums
{
    public const int Flags = 3;
    public static readonly string[] FlagNames = ["line_start", "inside_brackets", "inside_quotes"];

    readonly int _units, _vocab, _context;

    /// <param name="sources">Source labels of the token store (0 when it keeps none).</param>
    public ConditionalSums(int units, int vocab, int context, int sources = 0)
    {
        _units = units; _vocab = vocab; _context = context;
        BySource = new double[(long)sources * units]; SourceCount = new long[sources];
        Sum = new double[units]; Squares = new double[units];
        ByToken = new double[(long)vocab * units]; ByPrevious = new double[(long)vocab * units];
        ByPosition = new double[(long)context * units]; ByFlag = new double[(long)Flags * units];
        TokenCount = new long[vocab]; PreviousCount = new long[vocab]; PositionCount = new long[context]; FlagCount = new long[Flags];
    }

    public long Tokens { get; private set; }
    public double[] Sum { get; }
    public double[] Squares { get; }
    public double[] ByToken { get; }
    public double[] ByPrevious { get; }
    public double[] ByPosition { get; }
    public double[] ByFlag { get; }
    public long[] TokenCount { get; }
    public long[] PreviousCount { get; }
    public long[] PositionCount { get; }
    public long[] FlagCount { get; }
    public double[] BySource { get; }
    public long[] SourceCount { get; }

    /// <summary>Adds one row: the neurons' activations at a token with its id, the previous id, position, flags (bits) and source (−1: unknown).</summary>
    public void Add(ReadOnlySpan<float> row, int token, int previous, int position, int flags, int source = -1)
    {
        if (source >= 0)
        {
            SourceCount[source]++;
            var src = BySource.AsSpan((int)((long)source * _units), _units);
            for (int j = 0; j < _units; j++) src[j] += row[j];
        }
        Tokens++;
        TokenCount[token]++; PreviousCount[previous]++; PositionCount[position]++;
        var t = ByToken.AsSpan((int)((long)token * _units), _units);
        var p = ByPrevious.AsSpan((int)((long)previous * _units), _units);
        var q = ByPosition.AsSpan(position * _units, _units);
        for (int j = 0; j < _units; j++)
        {
            double a = row[j];
            Sum[j] += a; Squares[j] += a * a; t[j] += a; p[j] += a; q[j] += a;
        }
        for (int f = 0; f < Flags; f++)
            if ((flags >> f & 1) != 0)
            {
                FlagCount[f]++;
                var g = ByFlag.AsSpan(f * _units, _units);
                for (int j = 0; j < _units; j++) g[j] += row[j];
            }
    }

    /// <summary>VR of the feature whose rows sum to <paramref name="sumF"/> over <paramref name="countF"/> rows, for unit <paramref name="unit"/>.</summary>
    public double VarianceReduction(int unit, double sumF, long countF)
    {
        long n = Tokens;
        if (countF <= 0 || countF >= n) return 0;
        double s = Sum[unit], total = Squares[unit] - s * s / n;
        if (!(total > 0)) return double.NaN;
        double rest = s - sumF;
        return (sumF * sumF / countF + rest * rest / (n - countF) - s * s / n) / total;
    }

    /// <summary>VR of a set of current (or previous) token ids.</summary>
    public double TokenSetVr(int unit, IReadOnlyList<int> ids, bool previous)
    {
        var sums = previous ? ByPrevious : ByToken;
        var counts = previous ? PreviousCount : TokenCount;
        double s = 0; long c = 0;
        foreach (int id in ids) { s += sums[(long)id * _units + unit]; c += counts[id]; }
        return VarianceReduction(unit, s, c);
    }

    /// <summary>VR of "the token's document comes from source <paramref name="source"/>".</summary>
    public double SourceVr(int unit, int source) => VarianceReduction(unit, BySource[(long)source * _units + unit], SourceCount[source]);

    public double FlagVr(int unit, int flag) => VarianceReduction(unit, ByFlag[(long)flag * _units + unit], FlagCount[flag]);

    /// <summary>Share of the variance explained by position (between-position over total sum of squares).</summary>
    public double PositionVr(int unit)
    {
        long n = Tokens;
        double s = Sum[unit], total = Squares[unit] - s * s / n;
        if (!(total > 0)) return double.NaN;
        double between = -s * s / n;
        for (int p = 0; p < _context; p++)
            if (PositionCount[p] > 0) { double sp = ByPosition[(long)p * _units + unit]; between += sp * sp / PositionCount[p]; }
        return between / total;
    }
}
