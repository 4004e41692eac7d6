using Mechanist.Sae;
using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.Numerics;

namespace Mechanist.Tests.Features;

/// <summary>
/// <see cref="UnitStatistics"/> on tiny hand-made batches: what it refuses, what counts as firing, ties, and the
/// bottom-k interval samples against the keys computed directly. Token ids are the token indices themselves.
/// </summary>
public class UnitStatisticsContractTests
{
    static void Identity(long start, Span<int> ids) { for (int i = 0; i < ids.Length; i++) ids[i] = (int)(start + i); }

    static BatchActivations Dense(float[] values, int units) => BatchActivations.Dense(Tensor.FromArray(values, values.Length / units, units));

    static readonly StatisticsSettings Small = new() { TopExamples = 5, ContextRadius = 0, Intervals = 2, SamplesPerInterval = 2, HistogramBins = 10 };

    [Fact]
    public void BadShapesSettingsAndRandomPicksAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnitStatistics(UnitKind.Feature, -1, 4, Small));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnitStatistics(UnitKind.Feature, 2, 0, Small));
        Assert.Contains("--top", Assert.Throws<UserError>(() => new UnitStatistics(UnitKind.Feature, 2, 4, Small with { TopExamples = -1 })).Message);
        _ = new UnitStatistics(UnitKind.Feature, 0, 1, Small, [(0, 0)]);
        _ = new UnitStatistics(UnitKind.Feature, 2, 4, Small, [(0, 3), (9, 0)]);
        foreach (var pick in new (long, int)[] { (-1, 0), (0, 4), (0, -1), (-1, 9) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new UnitStatistics(UnitKind.Feature, 2, 4, Small, [pick]));
            Assert.Contains($"random pick ({pick.Item1}, {pick.Item2}) outside the windows", e.Message);
        }
    }

    [Fact]
    public void BatchesOfOtherUnitsPartWindowsOrOutOfOrderAreRefused()
    {
        var stats = new UnitStatistics(UnitKind.Feature, 2, 4, Small);
        Assert.Contains("batch has 3 units, the statistics 2", Assert.Throws<ArgumentException>(() => stats.Add(0, Dense(new float[12], 3))).Message);
        Assert.Contains("batch of 6 rows is not whole windows of 4", Assert.Throws<ArgumentException>(() => stats.Add(0, Dense(new float[12], 2))).Message);
        Assert.Contains("expected window 0 next, got 1", Assert.Throws<ArgumentException>(() => stats.Add(1, Dense(new float[8], 2))).Message);
        stats.Add(0, Dense(new float[8], 2));
        Assert.Contains("expected window 1 next, got 0", Assert.Throws<ArgumentException>(() => stats.Add(0, Dense(new float[8], 2))).Message);
        Assert.Equal(4, stats.Tokens);
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)] // fails every comparison, so a plain `v > 0` would skip it silently
    public void ANonFiniteActivationNamesTheUnitAndTheToken(float bad)
    {
        var stats = new UnitStatistics(UnitKind.Neuron, 2, 4, Small);
        var values = new float[16];
        values[(4 + 3) * 2 + 1] = bad; // window 1, position 3, unit 1 → token 7
        var e = Assert.Throws<InvalidOperationException>(() => stats.Add(0, Dense(values, 2)));
        Assert.StartsWith("neuron 1: activation ", e.Message);
        Assert.EndsWith(" at token 7 is not finite", e.Message);
    }

    [Fact]
    public void ANaNInSparseCodesIsRefusedNotSkipped()
    {
        var stats = new UnitStatistics(UnitKind.Feature, 2, 2, Small);
        // Row 1 (token 1): unit 1 = NaN.
        var e = Assert.Throws<InvalidOperationException>(() =>
            stats.Add(0, BatchActivations.Sparse(new SparseCodes(2, [0, 1, 2], [0, 1], [1f, float.NaN]))));
        Assert.EndsWith(" at token 1 is not finite", e.Message);
    }

    [Fact]
    public void AStoredZeroInSparseCodesIsNotAFiring()
    {
        var stats = new UnitStatistics(UnitKind.Feature, 2, 2, Small);
        // Row 0: unit 0 = 0 (stored), unit 1 = 2; row 1: unit 0 = 1.
        stats.Add(0, BatchActivations.Sparse(new SparseCodes(2, [0, 2, 3], [0, 1, 0], [0f, 2, 1])));
        var unit0 = stats.Record(0, Identity);
        Assert.Equal(1, stats.Count(0));
        Assert.Equal(0.5f, unit0.Density);
        Assert.Equal(1f, unit0.MeanActivation);
        Assert.Equal(1, unit0.ActivationHistogram.Total);
    }

    [Fact]
    public void AUnitThatFiresInOneWindowHasOneTopExample()
    {
        var stats = new UnitStatistics(UnitKind.Neuron, 1, 2, Small with { ContextRadius = 1 });
        stats.Add(0, Dense([0f, 3, 0, 0, 0, 0], 1)); // three windows in one batch; only token 1 fires
        var record = stats.Record(0, Identity);
        var top = Assert.Single(record.TopExamples);
        Assert.Equal([0, 1], top.TokenIds);
        Assert.Equal([0f, 3], top.Activations);
    }

    [Fact]
    public void AmongEqualActivationsTheEarlierTokenIsTheExample()
    {
        // One window: equal maxima at positions 1 and 3 → the example is centred on 1.
        var one = new UnitStatistics(UnitKind.Neuron, 1, 4, Small);
        one.Add(0, Dense([0f, 2, 1, 2], 1));
        Assert.Equal([1], Assert.Single(one.Record(0, Identity).TopExamples).TokenIds);

        // Two windows with the same maximum and room for one example: the first window's.
        var first = new UnitStatistics(UnitKind.Neuron, 1, 2, Small with { TopExamples = 1 });
        first.Add(0, Dense([2f, 0, 0, 2], 1));
        Assert.Equal([0], Assert.Single(first.Record(0, Identity).TopExamples).TokenIds);
    }

    [Fact]
    public void WithNoTopExamplesTheOtherStatisticsStillAccumulate()
    {
        var stats = new UnitStatistics(UnitKind.Neuron, 1, 2, Small with { TopExamples = 0 });
        stats.Add(0, Dense([1f, 2, 3, 0], 1));
        var record = stats.Record(0, Identity);
        Assert.Empty(record.TopExamples);
        Assert.Equal(3f, record.MaxActivation);
        Assert.Equal(0.75f, record.Density);
    }

    [Fact]
    public void TheFirstFiringIsBinnedByItsOwnValueWhenTheRangeLaterGrows()
    {
        // 1 then 3.9: the histogram over [0, 3.9] in 10 bins has 1 in bin 2 (1 / 0.39 = 2.56) and 3.9 in the last bin.
        var stats = new UnitStatistics(UnitKind.Neuron, 1, 1, Small);
        stats.Add(0, Dense([1f], 1));
        stats.Add(1, Dense([3.9f], 1));
        var record = stats.Record(0, Identity);
        Assert.Equal([0L, 0, 1, 0, 0, 0, 0, 0, 0, 1], record.ActivationHistogram.Counts);
        Assert.Equal([0.5f, 0.5f], record.Intervals.Select(i => i.Fraction));
    }

    [Fact]
    public void DenseBatchesSplitOverWorkersGiveTheSameRecordsAsOneWorker()
    {
        const int units = 7, context = 3, windows = 8;
        var rng = new Rng(4);
        var values = new float[windows * context * units];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextFloat() < 0.4f ? 0.1f + rng.NextFloat() * (1 + i % units) : 0;
        var settings = Small with { ContextRadius = 1, TopExamples = 3 };
        UnitStatistics Run(int workers)
        {
            var s = new UnitStatistics(UnitKind.Neuron, units, context, settings) { MinUnitsPerWorker = 1, MaxWorkers = workers };
            s.Add(0, Dense(values[..(5 * context * units)], units));
            s.Add(5, Dense(values[(5 * context * units)..], units));
            return s;
        }
        var one = Run(1);
        var three = Run(3);
        for (int u = 0; u < units; u++)
        {
            var column = Enumerable.Range(0, windows * context).Select(t => values[t * units + u]).ToArray();
            var a = one.Record(u, Identity);
            var b = three.Record(u, Identity);
            Assert.Equal(column.Count(v => v > 0), three.Count(u));
            Assert.Equal(column.Max(), b.MaxActivation);
            Assert.Equal(a.Density, b.Density);
            Assert.Equal(a.MeanActivation, b.MeanActivation);
            Assert.Equal(a.ActivationHistogram.Counts, b.ActivationHistogram.Counts);
            Assert.Equal(a.TopExamples.Select(x => x.TokenIds), b.TopExamples.Select(x => x.TokenIds));
            Assert.Equal(a.TopExamples.Select(x => x.Activations), b.TopExamples.Select(x => x.Activations));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void WithOneIntervalTheSamplesAreTheFiringsWithTheSmallestKeys(int samples)
    {
        // Bottom-k sampling: whatever slots the firings fall in, the s smallest keys overall survive.
        const int context = 4, windows = 300;
        var settings = new StatisticsSettings { TopExamples = 1, ContextRadius = 0, Intervals = 1, SamplesPerInterval = samples, HistogramBins = 4, Seed = 7 };
        var rng = new Rng(12);
        var values = new float[windows * context * 2];
        for (int t = 0; t < windows * context; t++) { values[2 * t] = 0.05f + rng.NextFloat(); values[2 * t + 1] = t % 5 == 0 ? 1 + rng.NextFloat() : 0; }
        var stats = new UnitStatistics(UnitKind.Neuron, 2, context, settings);
        for (int w = 0; w < windows; w += 50) stats.Add(w, Dense(values[(w * context * 2)..((w + 50) * context * 2)], 2));
        for (int u = 0; u < 2; u++)
        {
            var expected = Enumerable.Range(0, windows * context).Where(t => values[2 * t + u] > 0)
                .OrderBy(t => UnitStatistics.SampleKey(7, u, t)).Take(samples).Order().ToArray();
            var chosen = Assert.Single(stats.Record(u, Identity).Intervals).Examples.Select(x => x.TokenIds.Single()).Order().ToArray();
            Assert.Equal(expected, chosen);
        }
    }
}
