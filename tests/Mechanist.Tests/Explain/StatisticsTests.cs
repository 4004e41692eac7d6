using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

public class StatisticsTests
{
    [Fact]
    public void Pearson_matches_a_hand_computed_value()
    {
        // dx = −1.5, −0.5, 0.5, 1.5; dy = −3, −1, 0, 4: Σdxdy = 11, Σdx² = 5, Σdy² = 26.
        double r = Correlation.Pearson([1, 2, 3, 4], [2, 4, 5, 9]);
        Assert.Equal(11 / Math.Sqrt(130), r, 12);
    }

    [Fact]
    public void Spearman_averages_tied_ranks()
    {
        Assert.Equal([1, 2.5, 2.5, 4], Correlation.Ranks([10, 20, 20, 30]));
        // Ranks (1, 2.5, 2.5, 4) against (1, 3, 2, 4): Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5.
        Assert.Equal(4.5 / Math.Sqrt(22.5), Correlation.Spearman([10, 20, 20, 30], [1, 3, 2, 4]), 12);
        // Monotone but not linear: Spearman is exactly 1, Pearson is not.
        Assert.Equal(1.0, Correlation.Spearman([1, 2, 3, 4], [1, 10, 100, 1000]), 12);
        Assert.True(Correlation.Pearson([1, 2, 3, 4], [1, 10, 100, 1000]) < 0.9);
    }

    [Fact]
    public void Constant_vectors_score_zero_not_nan()
    {
        Assert.Equal(0, Correlation.Pearson([1, 2, 3], [5, 5, 5]));
        Assert.Equal(0, Correlation.Spearman([1, 2, 3], [5, 5, 5]));
        Assert.Equal(0, Correlation.Pearson([0.1, 0.1, 0.1], [1, 2, 3]));
        Assert.Equal(0, Correlation.Pearson([1], [2]));
        Assert.Equal(-1, Correlation.Pearson([1, 2, 3], [3, 2, 1]), 12);
    }

    [Fact]
    public void Simulation_concatenates_records_and_skips_failed_ones()
    {
        var a = new ActivationRecord(["x", "y"], [0, 2]);
        var b = new ActivationRecord(["z", "w"], [1, 3]);
        var c = new ActivationRecord(["q"], [5]);
        var score = Scoring.Simulation([a, b, c], [[0, 4], [2, 6], null]);
        Assert.Equal(1.0, score.Pearson, 12); // predictions are 2× the truth
        Assert.Equal(4, score.Tokens);
        Assert.Equal(2, score.Records);
        Assert.Equal(1, score.FailedRecords);
        Assert.Equal(0, Scoring.Simulation([a, b], [[3, 3], [3, 3]]).Pearson);
    }

    [Fact]
    public void Detection_balanced_accuracy_excludes_parse_failures()
    {
        // Positives: 1 hit, 1 miss, 1 failure; negatives: 2 right, 1 false alarm.
        var d = Scoring.Detection([true, true, true, false, false, false], [1, 0, -1, 0, 0, 1]);
        Assert.Equal(0.5 * (1 / 2.0 + 2 / 3.0), d.BalancedAccuracy, 12);
        Assert.Equal(0.5, d.Precision, 12);
        Assert.Equal(0.5, d.Recall, 12);
        Assert.Equal(0.5, d.F1, 12);
        Assert.Equal(1, d.Failed);
        Assert.Equal((2, 3), (d.Positives, d.Negatives));
    }

    [Fact]
    public void Detection_with_one_class_missing_is_the_accuracy_on_the_class_that_is_there()
    {
        var positives = Scoring.Detection([true, true, true], [1, 0, 1]);
        Assert.Equal(2 / 3.0, positives.BalancedAccuracy, 12);
        Assert.Equal(2 / 3.0, positives.Recall, 12);
        Assert.Equal(1.0, positives.Precision, 12);
        var negatives = Scoring.Detection([false, false], [0, 1]);
        Assert.Equal(0.5, negatives.BalancedAccuracy, 12);
        Assert.Equal(0, negatives.Recall);
        Assert.Equal(0, Scoring.Detection([true, false], [-1, -1]).BalancedAccuracy);
        Assert.Throws<ArgumentException>(() => Scoring.Detection([true], [1, 0]));
    }

    [Fact]
    public void Pearson_and_spearman_of_two_points_and_of_unequal_lengths()
    {
        Assert.Equal(1, Correlation.Pearson([1, 2], [3, 5]), 12);
        Assert.Equal(-1, Correlation.Spearman([1, 2], [5, 3]), 12);
        Assert.Throws<ArgumentException>(() => Correlation.Pearson([1, 2], [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => Correlation.Spearman([1, 2], [1, 2, 3]));
        // Tiny but genuine variation is not float noise: the relative threshold must not call it constant.
        Assert.Equal(1, Correlation.Pearson([1e-10, 2e-10, 3e-10], [1, 2, 3]), 9);
    }

    [Fact]
    public void Quantisation_follows_b23()
    {
        Assert.Equal(0, Scoring.Quantise(-1, 10));
        Assert.Equal(4, Scoring.Quantise(4.99f, 10));
        Assert.Equal(10, Scoring.Quantise(10, 10));
        Assert.Equal(10, Scoring.Quantise(12, 10));
    }

    [Fact]
    public void Top_token_control_predicts_each_tokens_mean_over_frequent_tokens()
    {
        var fit = TopTokenBaseline.Fit([
            new ActivationRecord(["a", "b", "a", "c"], [2, 0, 4, 9]),
            new ActivationRecord(["b", "a"], [1, 0]),
        ], minCount: 2);
        var p = fit.Predict(new ActivationRecord(["a", "b", "c", "d"], [0, 0, 0, 0]));
        Assert.Equal([2f, 0.5f, 0f, 0f], p); // c was seen once: below the count, predicts 0
        Assert.Equal(["a", "b"], fit.TopTokens(5));
    }

    [Fact]
    public void Split_is_deterministic_and_keeps_held_out_apart()
    {
        var unit = SyntheticUnits.HebrewUnit();
        var s1 = unit.Split(seed: 5);
        var s2 = unit.Split(seed: 5);
        Assert.Equal(s1.ExplainTop, s2.ExplainTop);
        Assert.Equal(s1.HeldOut.Select(h => h.Record), s2.HeldOut.Select(h => h.Record));
        var explain = s1.ExplainAll.ToHashSet(ReferenceEqualityComparer.Instance);
        Assert.DoesNotContain(s1.HeldOut, h => explain.Contains(h.Record));
        Assert.Equal(12, s1.ExplainTop.Count); // 60 % of 20
        Assert.Equal(unit.Top.Count + unit.Intervals.Sum(i => i.Records.Count) + unit.Random.Count, explain.Count + s1.HeldOut.Count);
        Assert.NotEqual(s1.ExplainTop, unit.Split(seed: 6).ExplainTop);
    }
}
