using Mechanist.Activations;
using Mechanist.Explain;
using Mechanist.Features.Statistics;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// Every seeded stream the pipeline derives (data order, held-out splits, sample keys, explanation splits)
/// pinned to the numbers it gave before the mixers were gathered into one helper: a saved run's seed must
/// keep meaning the same data and the same samples.
/// </summary>
public class SeededStreamsTests
{
    static ulong Digest(IEnumerable<ulong> values)
    {
        ulong h = 14695981039346656037UL;
        foreach (ulong v in values) h = (h ^ v) * 1099511628211UL;
        return h;
    }

    [Fact]
    public void SplitMix64_matches_the_reference_sequence()
    {
        // Vigna's splitmix64.c from state 0, and Java's SplittableRandom test values from seed 1234567.
        ulong state = 0;
        Assert.Equal([0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL],
            new[] { SplitMix64.Next(ref state), SplitMix64.Next(ref state), SplitMix64.Next(ref state) });
        var rng = new SplitMix64(1234567);
        Assert.Equal([6457827717110365317UL, 3203168211198807973UL, 9817491932198370423UL], new[] { rng.Next(), rng.Next(), rng.Next() });
    }

    [Fact]
    public void Rng_streams_keep_their_numbers()
    {
        var rng = new Rng(42).Stream(7).Stream(3);
        Assert.Equal(13504532338487948169UL, Digest(Enumerable.Range(0, 64).Select(_ => rng.NextUInt64())));
    }

    [Fact]
    public void Random_permutation_keeps_its_order()
    {
        var p = new RandomPermutation(1000, 99);
        Assert.Equal(3295847271424681817UL, Digest(Enumerable.Range(0, 1000).Select(i => (ulong)p[i])));
    }

    [Fact]
    public void Derived_seeds_keep_their_values()
    {
        var derived = (Harvester.ShuffleSeed(7),
            Digest(Enumerable.Range(0, 1000).Select(d => TokenStoreWriter.IsValid(5, d, 0.3) ? 1UL : 0UL)),
            Digest(Enumerable.Range(0, 500).Select(i => UnitStatistics.SampleKey(3, i % 37, i * 101L))));
        Assert.Equal((8013627376529749570UL, 4062213388818191409UL, 4494532459370201021UL), derived);
    }

    [Fact]
    public void Explanation_split_keeps_its_halves()
    {
        ActivationRecord R(int i) => new([$"t{i}"], [i]);
        var unit = new UnitEvidence(12, "feature", 0.01, 20,
            [.. Enumerable.Range(0, 20).Select(R)],
            [new IntervalSample("0–10", 0, 10, [.. Enumerable.Range(20, 10).Select(R)])],
            [.. Enumerable.Range(30, 10).Select(R)]);
        var split = unit.Split(seed: 4);
        var order = split.ExplainAll.Concat(split.HeldOut.Select(h => h.Record)).Select(r => (ulong)r.Activations[0]);
        Assert.Equal(8754479030421986277UL, Digest(order));
    }
}
