namespace Mechanist.Explain;

/// <summary>
/// The top-token control (docs/METHODS.md §4.4): predict each token's activation as that token's mean activation
/// over the explanation examples, for tokens seen at least <c>minCount</c> times (others predict 0). An
/// explanation is only worth its score minus this one: single-token units get high scores for free.
/// </summary>
public sealed class TopTokenBaseline
{
    readonly Dictionary<string, double> _mean;

    TopTokenBaseline(Dictionary<string, double> mean) => _mean = mean;

    public static TopTokenBaseline Fit(IEnumerable<ActivationRecord> records, int minCount = 2)
    {
        var sum = new Dictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
        foreach (var r in records)
            for (int t = 0; t < r.Tokens.Length; t++)
            {
                sum.TryGetValue(r.Tokens[t], out var s);
                sum[r.Tokens[t]] = (s.Sum + Math.Max(0, r.Activations[t]), s.Count + 1);
            }
        var mean = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (token, s) in sum)
            if (s.Count >= minCount) mean[token] = s.Sum / s.Count;
        return new TopTokenBaseline(mean);
    }

    public float[] Predict(ActivationRecord record)
    {
        var p = new float[record.Tokens.Length];
        for (int t = 0; t < p.Length; t++) p[t] = _mean.TryGetValue(record.Tokens[t], out var m) ? (float)m : 0f;
        return p;
    }

    /// <summary>The k tokens with the highest mean activation, as the control's "explanation".</summary>
    public IReadOnlyList<string> TopTokens(int k) =>
        _mean.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(k).Select(kv => kv.Key).ToList();

    public SimulationScore Score(IReadOnlyList<ActivationRecord> heldOut) =>
        Scoring.Simulation(heldOut, heldOut.Select(r => (float[]?)Predict(r)).ToList());
}
