namespace Mechanist.Universality;

/// <summary>
/// Per-neuron histograms of the pre-activation (<c>mlp.hook_pre</c>) in 256 bins on [−10, 15] (values outside go
/// to the end bins), as the paper's statistics are taken (METHODS.md §5.4): the activation frequency (share of
/// tokens with pre-activation ≥ 0, counted exactly) and the moments of the binned distribution.
/// </summary>
public sealed class PreActivationHistogram
{
    public const int Bins = 256;
    public const double Low = -10, High = 15;
    const double Width = (High - Low) / Bins;

    readonly long[] _counts;
    readonly long[] _nonNegative;

    public PreActivationHistogram(int units)
    {
        Units = units;
        _counts = new long[(long)units * Bins];
        _nonNegative = new long[units];
    }

    public int Units { get; }
    public long Tokens { get; private set; }

    /// <summary>Adds <paramref name="tokens"/> rows of <paramref name="units"/>-wide pre-activations (this histogram's units from <paramref name="offset"/>).</summary>
    public void Add(ReadOnlySpan<float> rows, int tokens, int width, int offset)
    {
        for (int t = 0; t < tokens; t++)
        {
            var row = rows.Slice(t * width, width);
            for (int j = 0; j < width; j++)
            {
                float v = row[j];
                int bin = (int)Math.Clamp(Math.Floor((v - Low) / Width), 0, Bins - 1);
                _counts[(long)(offset + j) * Bins + bin]++;
                if (v >= 0) _nonNegative[offset + j]++;
            }
        }
    }

    /// <summary>Counts the rows once (call after all layers' <see cref="Add"/> of a batch).</summary>
    public void CountTokens(int tokens) => Tokens += tokens;

    /// <summary>Share of tokens with pre-activation ≥ 0.</summary>
    public double Frequency(int unit) => Tokens == 0 ? double.NaN : _nonNegative[unit] / (double)Tokens;

    /// <summary>Mean, variance, skewness and (non-excess) kurtosis of the binned values (bin centres).</summary>
    public (double Mean, double Var, double Skew, double Kurt) Moments(int unit)
    {
        var c = _counts.AsSpan((int)((long)unit * Bins), Bins);
        double n = 0, s = 0;
        for (int b = 0; b < Bins; b++) { n += c[b]; s += c[b] * Centre(b); }
        if (n == 0) return (double.NaN, double.NaN, double.NaN, double.NaN);
        double mean = s / n, m2 = 0, m3 = 0, m4 = 0;
        for (int b = 0; b < Bins; b++)
        {
            double d = Centre(b) - mean, w = c[b] / n;
            m2 += w * d * d; m3 += w * d * d * d; m4 += w * d * d * d * d;
        }
        return m2 > 0 ? (mean, m2, m3 / Math.Pow(m2, 1.5), m4 / (m2 * m2)) : (mean, 0, double.NaN, double.NaN);
    }

    static double Centre(int bin) => Low + (bin + 0.5) * Width;
}
