using Mechanist.Sae;
using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.Numerics;

namespace Mechanist.Tests.Features;

/// <summary><see cref="UnitStatistics"/> against brute force over the full [tokens, units] matrix of a small random problem.</summary>
public class StatisticsAccumulatorTests
{
    const int Units = 9, Context = 16, Windows = 60;
    static readonly StatisticsSettings Settings = new() { TopExamples = 6, ContextRadius = 3, Intervals = 5, SamplesPerInterval = 4, HistogramBins = 12, Seed = 11 };
    static readonly (long, int)[] Picks = [(0, 0), (7, 15), (33, 8), (59, 2)];

    static int TokenAt(long g) => (int)(g * 7919 % 1000);
    static void ReadTokens(long start, Span<int> ids) { for (int i = 0; i < ids.Length; i++) ids[i] = TokenAt(start + i); }

    /// <summary>[tokens, units]: about a third of entries fire; unit 0 never fires; later windows reach larger values (range growth).</summary>
    static float[] Activations()
    {
        var rng = new Rng(3);
        var a = new float[Windows * Context * Units];
        for (int t = 0; t < Windows * Context; t++)
            for (int u = 1; u < Units; u++)
            {
                if (rng.NextFloat() > 0.35f) continue;
                float scale = 1 + u * 0.3f + t / (float)Context * 0.2f; // grows with the window index
                a[t * Units + u] = scale * (0.01f + rng.NextFloat());
            }
        return a;
    }

    static UnitStatistics Run(float[] acts, bool sparse, int[] batchWindows, int workers = 1)
    {
        var stats = new UnitStatistics(UnitKind.Feature, Units, Context, Settings, Picks) { MinUnitsPerWorker = 1, MaxWorkers = workers };
        long window = 0;
        for (int b = 0; window < Windows; b++)
        {
            int n = (int)Math.Min(batchWindows[b % batchWindows.Length], Windows - window);
            var slice = acts.AsSpan((int)(window * Context * Units), n * Context * Units);
            var tensor = Tensor.FromArray(slice, n * Context, Units);
            stats.Add(window, sparse ? BatchActivations.Sparse(ToSparse(tensor)) : BatchActivations.Dense(tensor));
            window += n;
        }
        return stats;
    }

    static SparseCodes ToSparse(Tensor dense)
    {
        var offsets = new List<int> { 0 }; var indices = new List<int>(); var values = new List<float>();
        for (int t = 0; t < dense.RowCount; t++)
        {
            var row = dense.Row(t);
            for (int u = 0; u < row.Length; u++) if (row[u] != 0) { indices.Add(u); values.Add(row[u]); }
            offsets.Add(indices.Count);
        }
        return new SparseCodes(dense.Columns, [.. offsets], [.. indices], [.. values]);
    }

    static float At(float[] a, long g, int u) => a[g * Units + u];

    [Fact]
    public void DensityMaxMeanTopExamplesAndRandomContextsMatchBruteForce()
    {
        var acts = Activations();
        var stats = Run(acts, sparse: true, [3, 7, 1]);
        long tokens = Windows * Context;
        Assert.Equal(tokens, stats.Tokens);
        for (int u = 0; u < Units; u++)
        {
            var r = stats.Record(u, ReadTokens);
            var fired = Enumerable.Range(0, (int)tokens).Select(g => At(acts, g, u)).Where(v => v > 0).ToArray();
            Assert.Equal((float)fired.Length / tokens, r.Density, 6);
            if (fired.Length == 0)
            {
                Assert.Equal(0, u);
                Assert.Empty(r.TopExamples); Assert.Empty(r.Intervals);
                continue;
            }
            Assert.Equal(fired.Max(), r.MaxActivation);
            Assert.Equal(fired.Average(), r.MeanActivation, 4);

            // Top-k: each window's strongest token (first among equals), strongest windows first.
            var expected = Enumerable.Range(0, Windows).Select(w =>
            {
                int best = 0;
                for (int p = 1; p < Context; p++) if (At(acts, w * Context + p, u) > At(acts, w * Context + best, u)) best = p;
                return (Value: At(acts, w * Context + best, u), W: w, P: best);
            }).Where(x => x.Value > 0).OrderByDescending(x => x.Value).Take(Settings.TopExamples).ToArray();
            Assert.Equal(expected.Length, r.TopExamples.Length);
            for (int i = 0; i < expected.Length; i++)
                AssertContext(acts, u, expected[i].W, expected[i].P, r.TopExamples[i]);

            Assert.Equal(Picks.Length, r.RandomExamples.Length);
            for (int i = 0; i < Picks.Length; i++) AssertContext(acts, u, Picks[i].Item1, Picks[i].Item2, r.RandomExamples[i], exact: true);
        }
    }

    static void AssertContext(float[] acts, int u, long w, int p, ActivationRecord record, bool exact = false)
    {
        int lo = Math.Max(0, p - Settings.ContextRadius), hi = Math.Min(Context, p + Settings.ContextRadius + 1);
        Assert.Equal(Enumerable.Range(lo, hi - lo).Select(q => TokenAt(w * Context + q)), record.TokenIds);
        Assert.Equal(hi - lo, record.Activations.Length);
        for (int q = lo; q < hi; q++)
        {
            float want = At(acts, w * Context + q, u);
            Assert.Equal(exact ? want : (float)(Half)want, record.Activations[q - lo]);
        }
    }

    [Fact]
    public void HistogramAndIntervalsAgreeWithBruteForceWithinOneFineBinOfAnEdge()
    {
        var acts = Activations();
        var stats = Run(acts, sparse: false, [4]);
        for (int u = 1; u < Units; u++)
        {
            var r = stats.Record(u, ReadTokens);
            var fired = Enumerable.Range(0, Windows * Context).Select(g => At(acts, g, u)).Where(v => v > 0).ToArray();
            float max = r.MaxActivation;
            // R < 2·max, so fine bins are narrower than 2·max/FineBins; a count can only move across an edge that close.
            float slack = 2 * max / UnitStatistics.FineBins;
            int NearEdge(int bins) => fired.Count(v => Enumerable.Range(1, bins - 1).Any(e => Math.Abs(v - max * e / bins) <= slack));

            int bins = Settings.HistogramBins;
            Assert.Equal(0f, r.ActivationHistogram.Min);
            Assert.Equal(max, r.ActivationHistogram.Max);
            Assert.Equal(fired.Length, r.ActivationHistogram.Total);
            var brute = new long[bins];
            foreach (float v in fired) brute[Math.Min(bins - 1, (int)(v / max * bins))]++;
            long moved = brute.Zip(r.ActivationHistogram.Counts, (a, b) => Math.Abs(a - b)).Sum();
            Assert.True(moved <= 2 * NearEdge(bins), $"unit {u}: histogram off by {moved}, {NearEdge(bins)} firings near edges");

            int n = Settings.Intervals;
            Assert.Equal(n, r.Intervals.Length);
            var inInterval = new long[n];
            foreach (float v in fired) inInterval[UnitStatistics.IntervalOf(v, max, n)]++;
            long fractionError = 0;
            for (int j = 0; j < n; j++)
            {
                var interval = r.Intervals[j];
                Assert.Equal(max * j / n, interval.Lower, 5);
                Assert.Equal(max * (j + 1) / n, interval.Upper, 5);
                fractionError += Math.Abs((long)Math.Round(interval.Fraction * fired.Length) - inInterval[j]);
                Assert.True(interval.Examples.Length <= Settings.SamplesPerInterval);
                if (inInterval[j] > 0) Assert.NotEmpty(interval.Examples);
                foreach (var e in interval.Examples)
                {
                    // The sampled token's activation lies in the interval (the context's maximum may lie elsewhere).
                    Assert.Contains(e.Activations, a => a >= (float)(Half)interval.Lower * 0.999f && a <= (float)(Half)interval.Upper * 1.001f);
                }
            }
            Assert.True(fractionError <= 2 * NearEdge(n), $"unit {u}: interval counts off by {fractionError}");
            Assert.Equal(1.0, r.Intervals.Sum(i => i.Fraction), 4);
        }
    }

    [Fact]
    public void OneIntervalHoldsExactlyTheFiringsWithTheSmallestKeys()
    {
        var acts = Activations();
        var settings = Settings with { Intervals = 1, SamplesPerInterval = 7 };
        var stats = new UnitStatistics(UnitKind.Neuron, Units, Context, settings);
        stats.Add(0, BatchActivations.Dense(Tensor.FromArray(acts, Windows * Context, Units)));
        for (int u = 1; u < Units; u++)
        {
            var expected = Enumerable.Range(0, Windows * Context).Where(g => At(acts, g, u) > 0)
                .OrderBy(g => UnitStatistics.SampleKey(settings.Seed, u, g)).Take(settings.SamplesPerInterval)
                .Select(g => Describe(ContextOf(acts, u, g))).Order().ToArray();
            var got = stats.Record(u, ReadTokens).Intervals[0].Examples.Select(Describe).Order().ToArray();
            Assert.Equal(expected, got);
        }
    }

    static ActivationRecord ContextOf(float[] acts, int u, long g)
    {
        long w = g / Context; int p = (int)(g % Context);
        int lo = Math.Max(0, p - Settings.ContextRadius), hi = Math.Min(Context, p + Settings.ContextRadius + 1);
        var range = Enumerable.Range(lo, hi - lo);
        return new ActivationRecord(range.Select(q => TokenAt(w * Context + q)).ToArray(), range.Select(q => (float)(Half)At(acts, w * Context + q, u)).ToArray());
    }

    static string Describe(ActivationRecord r) => string.Join(",", r.TokenIds) + "|" + string.Join(",", r.Activations);

    [Fact]
    public void DenseAndSparseInputsBatchSplitsAndWorkerCountsGiveIdenticalRecords()
    {
        var acts = Activations();
        var a = Run(acts, sparse: false, [Windows]);
        var b = Run(acts, sparse: true, [1, 2, 5], workers: 4); // unit ranges 2, 2, 2, 3 in parallel
        for (int u = 0; u < Units; u++)
            Assert.Equal(Store.Serialize(a.Record(u, ReadTokens)), Store.Serialize(b.Record(u, ReadTokens)));
    }

    [Fact]
    public void BatchesOutOfOrderAreRejected()
    {
        var stats = new UnitStatistics(UnitKind.Feature, Units, Context, Settings);
        var batch = BatchActivations.Dense(new Tensor(Context, Units));
        Assert.Throws<ArgumentException>(() => stats.Add(1, batch));
        Assert.Throws<ArgumentException>(() => stats.Add(0, BatchActivations.Dense(new Tensor(Context + 1, Units))));
        var bad = new Tensor(Context, Units);
        bad[5] = float.PositiveInfinity;
        Assert.Throws<InvalidOperationException>(() => stats.Add(0, BatchActivations.Dense(bad)));
    }

    static class Store
    {
        public static string Serialize(FeatureRecord r) => System.Text.Json.JsonSerializer.Serialize(r);
    }
}
