using System.Globalization;
using Mechanist.Features;

namespace Mechanist.Explain;

/// <summary>
/// Reads the explain stage's input from a feature store: each unit's top examples, interval samples (labelled
/// "lower–upper, contains p %" as on the feature page) and random examples, with token display strings.
/// Units are read one at a time, so a store of any size streams.
/// </summary>
public static class FeatureStoreEvidence
{
    public static UnitEvidence FromRecord(FeatureRecord unit) => new(
        unit.Id,
        unit.Kind.Name(),
        unit.Density,
        unit.MaxActivation,
        unit.TopExamples.Select(Convert).ToList(),
        unit.Intervals.Select(i => new IntervalSample(Label(i), i.Lower, i.Upper, i.Examples.Select(Convert).ToList())).ToList(),
        unit.RandomExamples.Select(Convert).ToList());

    /// <summary>
    /// Every unit of the given kinds (all kinds when null) that <paramref name="wanted"/> accepts, in kind
    /// then id order; only accepted units are decoded.
    /// </summary>
    public static IEnumerable<UnitEvidence> Read(FeatureStore store, UnitKind? kind = null, Func<int, bool>? wanted = null)
    {
        foreach (var k in store.Kinds)
        {
            if (kind is { } only && k != only) continue;
            int count = store.UnitCount(k);
            for (int id = 0; id < count; id++)
                if (wanted is null || wanted(id))
                    yield return FromRecord(store.GetUnit(k, id));
        }
    }

    static ActivationRecord Convert(Features.ActivationRecord r) => new(r.Tokens, r.Activations);

    static string Label(IntervalSamples i) => string.Create(CultureInfo.InvariantCulture,
        $"{i.Lower:0.###}–{i.Upper:0.###}, contains {100 * i.Fraction:0.#} %");
}
