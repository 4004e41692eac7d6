using System.Diagnostics;
using Mechanist.Sae;
using Mechanist.Universality;

namespace Mechanist.Bench;

/// <summary>One size of the A/B correlation bench: both paths' speed and how far their correlations differ.</summary>
/// <param name="SparseError">Largest |ρ_sparse − ρ| against the two-pass float64 definition on the sampled pairs.</param>
/// <param name="DenseError">The same for the dense path: its float32 GEMM's rounding.</param>
public sealed record CorrelationBenchResult(int Latents, int Tokens, double L0, int Rounds, double SparseTokensPerSecond,
    double DenseTokensPerSecond, double Ratio, double DenseGflops, double SparseError, double DenseError);

/// <summary>
/// A/B feature correlation two ways over the same codes (docs/METHODS.md §3.4): the dense GEMM formulation
/// (<see cref="PearsonAccumulator"/> on the codes written out densely, as a dense tool does it) against the sparse
/// co-active accumulation (<see cref="SparsePearsonAccumulator"/>). Codes are heavy-tailed like a trained
/// dictionary's (Zipf-like latent frequencies, exponential magnitudes) and B's latents follow A's (a permutation with
/// noise), so the maxima are real matches. Rounds alternate the two paths; the ratio is the median of per-round ratios.
/// </summary>
public static class CorrelationBench
{
    public static CorrelationBenchResult Run(int latents = 4096, int tokens = 8192, double l0 = 32, int rounds = 3, int seed = 1,
        Action<string>? log = null)
    {
        var (a, b) = Codes(latents, tokens, l0, seed);
        var denseA = a.ToDense(); var denseB = b.ToDense();
        var shiftA = UnitMoments.ColumnMeans(denseA.Span, tokens, latents); var shiftB = UnitMoments.ColumnMeans(denseB.Span, tokens, latents);
        var accumulator = new PearsonAccumulator(latents, latents, tokens);
        var sparseRates = new List<double>(); var denseRates = new List<double>(); var ratios = new List<double>();
        PearsonSums? sparse = null, dense = null;
        double gflops = 0;
        for (int r = 0; r < rounds; r++)
        {
            sparse = SparsePearsonAccumulator.NewSums(latents, latents);
            var clock = Stopwatch.StartNew();
            SparsePearsonAccumulator.Add(sparse, a, b);
            double sparseSeconds = clock.Elapsed.TotalSeconds;

            dense = new PearsonSums(shiftA, shiftB);
            clock.Restart();
            unsafe
            {
                accumulator.SetRows(denseA.Pointer, latents, tokens, shiftA);
                accumulator.AddTo(dense, denseB.Pointer, latents);
            }
            double denseSeconds = clock.Elapsed.TotalSeconds;
            gflops = 2.0 * latents * latents * tokens / denseSeconds / 1e9;
            sparseRates.Add(tokens / sparseSeconds);
            denseRates.Add(tokens / denseSeconds);
            ratios.Add(denseSeconds / sparseSeconds);
            log?.Invoke($"round {r + 1}: sparse {sparseSeconds:F3} s, dense {denseSeconds:F3} s ({gflops:F0} GFLOP/s), ratio {denseSeconds / sparseSeconds:F1}");
        }
        var (sparseError, denseError) = Errors(sparse!, dense!, denseA, denseB, seed);
        return new CorrelationBenchResult(latents, tokens, a.L0, rounds, Median(sparseRates), Median(denseRates), Median(ratios), gflops,
            sparseError, denseError);
    }

    /// <summary>
    /// Largest error of each path against the definition (two-pass Pearson in float64 over every token) on each row's
    /// best pair and 20,000 random pairs.
    /// </summary>
    static (double Sparse, double Dense) Errors(PearsonSums sparse, PearsonSums dense, Numerics.Tensor<float> a, Numerics.Tensor<float> b, int seed)
    {
        int n = a.RowCount;
        var pairs = new List<(int, int)>();
        var best = sparse.RowMaxima();
        for (int i = 0; i < best.ArgMax.Length; i++) if (best.ArgMax[i] >= 0) pairs.Add((i, best.ArgMax[i]));
        var rng = new Random(seed);
        for (int s = 0; s < 20_000; s++) pairs.Add((rng.Next(a.Columns), rng.Next(b.Columns)));
        double worstSparse = 0, worstDense = 0;
        var x = new double[n]; var y = new double[n];
        foreach (var (i, j) in pairs)
        {
            for (int t = 0; t < n; t++) { x[t] = a.Row(t)[i]; y[t] = b.Row(t)[j]; }
            double exact = TwoPass(x, y);
            double fromSparse = sparse.Correlation(i, j), fromDense = dense.Correlation(i, j);
            if (double.IsNaN(exact)) { if (!double.IsNaN(fromSparse)) worstSparse = double.PositiveInfinity; continue; }
            worstSparse = Math.Max(worstSparse, Math.Abs(fromSparse - exact));
            worstDense = Math.Max(worstDense, Math.Abs(fromDense - exact));
        }
        return (worstSparse, worstDense);
    }

    static double TwoPass(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int t = 0; t < x.Length; t++)
        {
            double dx = x[t] - mx, dy = y[t] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }

    /// <summary>Codes of two dictionaries on the same tokens: A's latents drawn Zipf-like, B's a fixed permutation of A's, 20 % redrawn.</summary>
    public static (SparseCodes A, SparseCodes B) Codes(int latents, int tokens, double l0, int seed)
    {
        var rng = new Random(seed);
        var permutation = Enumerable.Range(0, latents).OrderBy(_ => rng.Next()).ToArray();
        var offsets = new int[tokens + 1]; var offsetsB = new int[tokens + 1];
        List<int> ia = [], ib = []; List<float> va = [], vb = [];
        var setA = new SortedDictionary<int, float>(); var setB = new SortedDictionary<int, float>();
        for (int t = 0; t < tokens; t++)
        {
            setA.Clear(); setB.Clear();
            int count = Math.Max(1, (int)Math.Round(l0 * (0.5 + rng.NextDouble())));
            while (setA.Count < count)
            {
                // u^3 piles the draws on low indices: a few latents fire often, most rarely, as in a trained dictionary.
                int i = Math.Min(latents - 1, (int)(latents * Math.Pow(rng.NextDouble(), 3)));
                float v = (float)-Math.Log(1 - rng.NextDouble());
                if (!setA.TryAdd(i, v)) continue;
                int j = rng.NextDouble() < 0.8 ? permutation[i] : rng.Next(latents);
                setB[j] = v * (float)(0.5 + rng.NextDouble());
            }
            foreach (var (i, v) in setA) { ia.Add(i); va.Add(v); }
            foreach (var (j, v) in setB) { ib.Add(j); vb.Add(v); }
            offsets[t + 1] = ia.Count; offsetsB[t + 1] = ib.Count;
        }
        return (new SparseCodes(latents, offsets, [.. ia], [.. va]), new SparseCodes(latents, offsetsB, [.. ib], [.. vb]));
    }

    static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
