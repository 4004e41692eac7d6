using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

/// <summary>The scorers' edges: constants hidden in float noise, empty classes, ties, and mismatched inputs named.</summary>
public class ScoringEdgeTests
{
    /// <summary>A constant of 1e8 carries rounding noise of about one ulp (1.5e-8): relative to its size that is
    /// no variation, and correlating it with anything must give 0, not the correlation of the noise. (20,000 values:
    /// the noise's variance grows with n, so only a threshold that grows with n too keeps calling it constant.)</summary>
    [Fact]
    public void A_large_constant_with_rounding_noise_correlates_as_a_constant()
    {
        var random = new Random(2);
        double ulp = Math.BitIncrement(1e8) - 1e8;
        var noisy = Enumerable.Range(0, 20000).Select(_ => 1e8 + ulp * random.Next(3)).ToArray();
        var signal = noisy.Select(v => v - 1e8 + 1e-9 * ulp * random.NextDouble()).ToArray(); // follows the noise closely
        Assert.True(Correlation.Pearson(noisy.Select(v => v - 1e8).ToArray(), signal) > 0.5); // the noise is there
        Assert.Equal(0, Correlation.Pearson(noisy, signal));
        Assert.Equal(0, Correlation.Pearson(signal, noisy));
    }

    [Fact]
    public void Mismatched_lengths_are_named()
    {
        Assert.Contains("lengths differ: 3 and 2", Assert.Throws<ArgumentException>(() => Correlation.Pearson([1, 2, 3], [1, 2])).Message);
        Assert.Contains("lengths differ: 2 and 3", Assert.Throws<ArgumentException>(() => Correlation.Spearman([1, 2], [1, 2, 3])).Message);
        var record = new ActivationRecord(["a", "b", "c"], [1, 2, 3]);
        Assert.Contains("one prediction per record", Assert.Throws<ArgumentException>(() => Scoring.Simulation([record], [])).Message);
        Assert.Contains("record 0: 2 predictions for 3 tokens",
            Assert.Throws<ArgumentException>(() => Scoring.Simulation([record], [new float[2]])).Message);
        Assert.Contains("one prediction per context", Assert.Throws<ArgumentException>(() => Scoring.Detection([true], [])).Message);
    }

    [Fact]
    public void Detection_without_positive_predictions_scores_zero_precision_and_f1()
    {
        var d = Scoring.Detection([true, false, false], [0, 0, 0]);
        Assert.Equal(0, d.Precision);
        Assert.Equal(0, d.F1);
        Assert.Equal(0.5, d.BalancedAccuracy);
    }

    [Fact]
    public void F1_is_the_harmonic_mean_of_precision_and_recall()
    {
        var d = Scoring.Detection([true, true, false], [1, 1, 1]); // precision 2/3, recall 1
        Assert.Equal(2.0 / 3, d.Precision, 12);
        Assert.Equal(1, d.Recall);
        Assert.Equal(0.8, d.F1, 12);
    }

    [Fact]
    public void Quantise_with_no_positive_maximum_is_zero() => Assert.Equal(0, Scoring.Quantise(1, 0));

    [Fact]
    public void Top_tokens_break_ties_by_text_and_leave_out_tokens_that_never_fire()
    {
        var fit = TopTokenBaseline.Fit([new ActivationRecord(["b", "a", "z", "b", "a", "z", "c", "c"], [1, 1, 0, 1, 1, 0, 3, 3])]);
        Assert.Equal(["c", "a", "b"], fit.TopTokens(10));
        Assert.Equal(["c", "a"], fit.TopTokens(2));
    }
}
