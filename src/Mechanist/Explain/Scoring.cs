namespace Mechanist.Explain;

/// <summary>How well predicted per-token activations track the true ones over all held-out tokens.</summary>
/// <param name="FailedRecords">Records whose prediction failed (unparseable after retries); left out of the score.</param>
public sealed record SimulationScore(double Pearson, double Spearman, int Tokens, int Records, int FailedRecords)
{
    public static SimulationScore Empty { get; } = new(0, 0, 0, 0, 0);
}

/// <summary>Telling activating from non-activating contexts; parse failures (−1) are excluded.</summary>
public sealed record DetectionScore(double BalancedAccuracy, double Precision, double Recall, double F1,
    int Positives, int Negatives, int Failed);

public static class Scoring
{
    /// <summary>
    /// Concatenates every scored record's true activations and predictions (B23) and correlates them.
    /// A null prediction marks a failed record: it is counted and left out.
    /// </summary>
    public static SimulationScore Simulation(IReadOnlyList<ActivationRecord> records, IReadOnlyList<float[]?> predictions)
    {
        if (records.Count != predictions.Count) throw new ArgumentException("one prediction per record");
        var truth = new List<double>();
        var predicted = new List<double>();
        int failed = 0, scored = 0;
        for (int r = 0; r < records.Count; r++)
        {
            var p = predictions[r];
            if (p is null) { failed++; continue; }
            var a = records[r].Activations;
            if (p.Length != a.Length) throw new ArgumentException($"record {r}: {p.Length} predictions for {a.Length} tokens");
            scored++;
            for (int t = 0; t < a.Length; t++) { truth.Add(Math.Max(0, a[t])); predicted.Add(p[t]); }
        }
        var x = truth.ToArray();
        var y = predicted.ToArray();
        return new SimulationScore(Correlation.Pearson(x, y), Correlation.Spearman(x, y), x.Length, scored, failed);
    }

    /// <param name="actual">Whether each context truly activates the unit.</param>
    /// <param name="predicted">1 activating, 0 not, −1 a parse failure (excluded).</param>
    public static DetectionScore Detection(IReadOnlyList<bool> actual, IReadOnlyList<int> predicted)
    {
        if (actual.Count != predicted.Count) throw new ArgumentException("one prediction per context");
        int tp = 0, fn = 0, tn = 0, fp = 0, failed = 0;
        for (int i = 0; i < actual.Count; i++)
        {
            if (predicted[i] < 0) { failed++; continue; }
            bool yes = predicted[i] > 0;
            if (actual[i]) { if (yes) tp++; else fn++; }
            else { if (yes) fp++; else tn++; }
        }
        int p = tp + fn, n = tn + fp;
        double recall = p == 0 ? 0 : (double)tp / p;
        double specificity = n == 0 ? 0 : (double)tn / n;
        // With one class missing, balanced accuracy is the accuracy on the class that is there.
        double balanced = p == 0 && n == 0 ? 0 : p == 0 ? specificity : n == 0 ? recall : 0.5 * (recall + specificity);
        double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new DetectionScore(balanced, precision, recall, f1, p, n, failed);
    }

    /// <summary>Per-token activations quantised as B23 does: ReLU, then min(10, floor(10·a/max)).</summary>
    public static int Quantise(float activation, float max, int levels = 10)
    {
        if (max <= 0 || !(activation > 0)) return 0;
        return (int)Math.Min(levels, Math.Floor(levels * activation / max));
    }
}
