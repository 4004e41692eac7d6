using Mechanist.Numerics;

namespace Mechanist.Explain;

/// <summary>
/// One context window with the unit's activation at every token. <see cref="Position"/> is the position of
/// the first token in its original context (−1 when unknown), so a position-in-context bias can be seen.
/// </summary>
public sealed record ActivationRecord(string[] Tokens, float[] Activations, int Position = -1)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public float Max => Activations.Length == 0 ? 0 : Activations.Max();
}

/// <summary>Records drawn uniformly from one equal-width activation interval, labelled as on the feature page.</summary>
public sealed record IntervalSample(string Label, float Low, float High, IReadOnlyList<ActivationRecord> Records);

/// <summary>
/// Everything the explainers and scorers may know about one unit (an SAE feature or a neuron): its
/// statistics, its top activating contexts, samples from activation intervals and random contexts where it
/// does not fire. <see cref="Split"/> divides these into examples to explain from and held-out examples to
/// score on; the split is deterministic in the seed.
/// </summary>
public sealed record UnitEvidence(
    int Id,
    string Kind,
    double Density,
    float MaxActivation,
    IReadOnlyList<ActivationRecord> Top,
    IReadOnlyList<IntervalSample> Intervals,
    IReadOnlyList<ActivationRecord> Random)
{
    public EvidenceSplit Split(int seed = 0) => EvidenceSplit.Create(this, seed);

    /// <summary>The scale for quantising activations to 0–10: the stated maximum, or the largest seen.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public float Scale
    {
        get
        {
            float seen = 0;
            foreach (var r in Top) seen = Math.Max(seen, r.Max);
            foreach (var s in Intervals) foreach (var r in s.Records) seen = Math.Max(seen, r.Max);
            return MaxActivation > 0 ? Math.Max(MaxActivation, seen) : seen;
        }
    }
}

/// <summary>Where a held-out record came from; simulation scores all of them, detection uses Activating.</summary>
public enum RecordSource { Top, Interval, Random }

public sealed record HeldOutRecord(ActivationRecord Record, RecordSource Source)
{
    /// <summary>A context counts as activating for detection when the unit fires anywhere in it.</summary>
    public bool Activating => Record.Max > 0;
}

/// <summary>
/// The explanation examples (what an explainer may see) and the held-out examples (what scorers predict).
/// Following TM23's proportions: about 60 % of the top records explain and the rest are held out; each
/// interval's samples and the random contexts are halved. Which half is which is a seeded shuffle.
/// </summary>
public sealed record EvidenceSplit(
    IReadOnlyList<ActivationRecord> ExplainTop,
    IReadOnlyList<IntervalSample> ExplainIntervals,
    IReadOnlyList<ActivationRecord> ExplainRandom,
    IReadOnlyList<HeldOutRecord> HeldOut)
{
    /// <summary>Every explanation record: top, then interval samples, then random contexts.</summary>
    public IEnumerable<ActivationRecord> ExplainAll =>
        ExplainTop.Concat(ExplainIntervals.SelectMany(s => s.Records)).Concat(ExplainRandom);

    public static EvidenceSplit Create(UnitEvidence unit, int seed)
    {
        // string.GetHashCode is randomised per process, so the kind is hashed with FNV-1a instead.
        ulong kindHash = 14695981039346656037UL;
        foreach (char c in unit.Kind) kindHash = (kindHash ^ c) * 1099511628211UL;
        var rng = new SplitMix64(((ulong)seed * SplitMix64.Gamma) ^ (ulong)(uint)unit.Id ^ kindHash);
        var heldOut = new List<HeldOutRecord>();

        var (topExplain, topHeld) = Halve(unit.Top, 0.6, ref rng);
        heldOut.AddRange(topHeld.Select(r => new HeldOutRecord(r, RecordSource.Top)));

        var intervals = new List<IntervalSample>();
        foreach (var s in unit.Intervals)
        {
            var (a, b) = Halve(s.Records, 0.5, ref rng);
            intervals.Add(s with { Records = a });
            heldOut.AddRange(b.Select(r => new HeldOutRecord(r, RecordSource.Interval)));
        }

        var (randomExplain, randomHeld) = Halve(unit.Random, 0.5, ref rng);
        heldOut.AddRange(randomHeld.Select(r => new HeldOutRecord(r, RecordSource.Random)));
        return new EvidenceSplit(topExplain, intervals, randomExplain, heldOut);
    }

    /// <summary>Shuffles a copy and takes ceil(fraction·n) for explaining (one stays held out when n ≥ 2).</summary>
    static (List<ActivationRecord>, List<ActivationRecord>) Halve(IReadOnlyList<ActivationRecord> records, double fraction, ref SplitMix64 rng)
    {
        var order = records.ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(rng.Next() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        int take = (int)Math.Ceiling(fraction * order.Length);
        if (order.Length >= 2 && take == order.Length) take--;
        return (order[..take].ToList(), order[take..].ToList());
    }
}

