using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// The sums of the split graph (docs/METHODS.md §3.5) between a smaller dictionary S and a larger one L read over the
/// same tokens, from co-active pairs only: P[a, b] = Σ_t f_a·f_b, R_S[a, b] = Σ_{t: f_a > 0} f_b², R_L[a, b] =
/// Σ_{t: f_b > 0} f_a², and each latent's Σ f². Then mc(a→b) = cos(f_a|T_a, f_b|T_a) = P / √(Σf_a² · R_S), the cosine of
/// the two activation vectors on the tokens where a fires, and mc(b→a) likewise. Memory: 3 × 8 × m_S × m_L bytes.
/// </summary>
public sealed class SplitSums
{
    readonly double[] _cross, _onSmall, _onLarge;

    public SplitSums(int small, int large)
    {
        Small = small; Large = large;
        long n = (long)small * large;
        _cross = new double[n]; _onSmall = new double[n]; _onLarge = new double[n];
        SmallSquares = new double[small]; LargeSquares = new double[large];
        SmallFiring = new long[small]; LargeFiring = new long[large];
    }

    public int Small { get; }
    public int Large { get; }
    public long Tokens { get; private set; }
    public double[] SmallSquares { get; }
    public double[] LargeSquares { get; }
    public long[] SmallFiring { get; }
    public long[] LargeFiring { get; }

    public static long BytesFor(int small, int large) => 24L * small * large;

    public void Add(SparseCodes s, SparseCodes l)
    {
        if (s.Rows != l.Rows) throw new ArgumentException($"{s.Rows} rows of codes against {l.Rows}: not the same tokens");
        if (s.Latents != Small || l.Latents != Large) throw new ArgumentException($"codes of {s.Latents} × {l.Latents} latents for sums of {Small} × {Large}");
        Moments(s, SmallSquares, SmallFiring);
        Moments(l, LargeSquares, LargeFiring);
        Tokens += s.Rows;
        var byLatent = new CodesByLatent(s);
        var lIdx = l.Indices; var lVal = l.Values; var lOff = l.Offsets;
        byLatent.ForEachLatent(l, a =>
        {
            long r = (long)a * Large;
            for (int e = byLatent.Start[a]; e < byLatent.Start[a + 1]; e++)
            {
                int t = byLatent.Token[e];
                double fa = byLatent.Value[e];
                for (int f = lOff[t]; f < lOff[t + 1]; f++)
                {
                    double fb = lVal[f];
                    long at = r + lIdx[f];
                    _cross[at] += fa * fb;
                    _onSmall[at] += fb * fb;
                    _onLarge[at] += fa * fa;
                }
            }
        });
    }

    static void Moments(SparseCodes codes, double[] squares, long[] firing)
    {
        for (int e = 0; e < codes.Offsets[^1]; e++)
        {
            double v = codes.Values[e];
            squares[codes.Indices[e]] += v * v;
            if (v > 0) firing[codes.Indices[e]]++;
        }
    }

    /// <summary>mc(a→b) and mc(b→a); 0 where the two never fire together.</summary>
    public (double SmallToLarge, double LargeToSmall) Cosines(int a, int b)
    {
        long at = (long)a * Large + b;
        double p = _cross[at];
        if (p == 0) return (0, 0);
        return (p / Math.Sqrt(SmallSquares[a] * _onSmall[at]), p / Math.Sqrt(LargeSquares[b] * _onLarge[at]));
    }

    /// <summary>The larger-dictionary latents that fired together with small latent <paramref name="a"/> at least once.</summary>
    public IEnumerable<int> Partners(int a)
    {
        long r = (long)a * Large;
        for (int b = 0; b < Large; b++) if (_cross[r + b] != 0) yield return b;
    }
}
