using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.Numerics;

namespace Mechanist.Tests.Features;

/// <summary>Hand-computed cases of <see cref="LogitEffectCalculator"/>, <see cref="NearestNeighbours"/> and <see cref="SourceMass"/>: shapes refused, odd medians, ties, edges.</summary>
public class LogitEffectsAndNeighboursContractTests
{
    static readonly Tensor Unembed = Tensor.FromArray([1f, 0, 0, 1, 1, 1], 3, 2);

    [Fact]
    public void ShapeMismatchesAreRefusedOneAtATime()
    {
        var directions = Tensor.FromArray([1f, 2], 1, 2);
        bool[] all = [true, true, true];
        Assert.Contains("the gain 3", Assert.Throws<ArgumentException>(() => LogitEffectCalculator.Compute(directions, [1f, 1, 1], Unembed, all)).Message);
        Assert.Contains("the unembedding 3", Assert.Throws<ArgumentException>(() =>
            LogitEffectCalculator.Compute(directions, [1f, 1], Tensor.FromArray([1f, 0, 0, 0, 1, 0], 2, 3), [true, true])).Message);
        Assert.Contains("include has 2 tokens, the unembedding 3", Assert.Throws<ArgumentException>(() =>
            LogitEffectCalculator.Compute(directions, [1f, 1], Unembed, [true, true])).Message);
        Assert.Contains("expected [1, 3]", Assert.Throws<ArgumentException>(() =>
            LogitEffectCalculator.Weights(directions, [1f, 1], Unembed, new Tensor(2, 3))).Message);
        Assert.Contains("expected [1, 3]", Assert.Throws<ArgumentException>(() =>
            LogitEffectCalculator.Weights(directions, [1f, 1], Unembed, new Tensor(1, 4))).Message);
    }

    [Fact]
    public void NoIncludedTokenGivesEveryUnitEmptyEffects()
    {
        var effects = LogitEffectCalculator.Compute(Tensor.FromArray([1f, 2, 3, 4], 2, 2), [1f, 1], Unembed, [false, false, false]);
        Assert.Equal(2, effects.Length);
        Assert.All(effects, e => Assert.Same(LogitEffects.Empty, e));
    }

    [Fact]
    public void AnOddNumberOfTokensIsShiftedByTheMiddleValueAndTopCanTakeThemAll()
    {
        // Logits 3, 1, 2 → median 2 → 1, −1, 0. Asking for more tokens than there are gives all of them, in order.
        var e = LogitEffectCalculator.Effects([3f, 1, 2], [0, 1, 2], top: 5, bins: 2);
        Assert.Equal([(0, 1f), (2, 0f), (1, -1f)], e.Top.Select(t => (t.TokenId, t.Value)));
        Assert.Equal([(1, -1f), (2, 0f), (0, 1f)], e.Bottom.Select(t => (t.TokenId, t.Value)));
        var exact = LogitEffectCalculator.Effects([3f, 1, 2], [0, 1, 2], top: 3, bins: 2);
        Assert.Equal(e.Top, exact.Top);
        Assert.Equal(e.Bottom, exact.Bottom);
        var two = LogitEffectCalculator.Effects([3f, 1, 2], [0, 1, 2], top: 2, bins: 2);
        Assert.Equal([0, 2], two.Top.Select(t => t.TokenId));
        Assert.Equal([1, 2], two.Bottom.Select(t => t.TokenId));
    }

    [Fact]
    public void TheHistogramSpansLowestToHighestShiftedValueInEqualBins()
    {
        // 0, 1, 2, 3, 4, 10 → median 2.5 → −2.5 … 7.5; five bins of width 2 from −2.5.
        var e = LogitEffectCalculator.Effects([0f, 1, 2, 3, 4, 10], [0, 1, 2, 3, 4, 5], top: 1, bins: 5);
        Assert.Equal(-2.5f, e.Histogram.Min);
        Assert.Equal(7.5f, e.Histogram.Max);
        Assert.Equal([2L, 2, 1, 0, 1], e.Histogram.Counts);
    }

    [Fact]
    public void TiedTokensAreTakenLowestIdFirstAtBothEnds()
    {
        var e = LogitEffectCalculator.Effects(new float[8], [1, 2, 3, 4, 5, 6], top: 3, bins: 4);
        Assert.Equal([1, 2, 3], e.Top.Select(t => t.TokenId));
        Assert.Equal([1, 2, 3], e.Bottom.Select(t => t.TokenId));
        Assert.Equal([6L, 0, 0, 0], e.Histogram.Counts);
    }

    [Fact]
    public void NeighboursOfAZeroRowHaveCosineZeroAndTiesGoToTheLowerId()
    {
        // 0 and 2 and 3 point the same way; 1 is orthogonal; 4 is zero.
        var rows = Tensor.FromArray([1f, 0, 0, 1, 2, 0, 1, 0, 0, 0], 5, 2);
        var nearest = NearestNeighbours.Compute(rows, k: 3);
        Assert.Equal([new Neighbour(2, 1), new Neighbour(3, 1), new Neighbour(1, 0)], nearest[0]);
        Assert.Equal([new Neighbour(0, 0), new Neighbour(1, 0), new Neighbour(2, 0)], nearest[4]);
        Assert.All(nearest[1], n => Assert.True(float.IsFinite(n.Cosine)));
        Assert.Equal(0f, NearestNeighbours.Compute(rows, k: 4)[1].Single(n => n.Id == 4).Cosine);
    }

    [Fact]
    public void AskingForNoneOrMoreNeighboursThanThereAre() // --nearest 0 and a one-unit store used to throw (best[^1] of an empty list)
    {
        var rows = Tensor.FromArray([1f, 0, 0, 1, 1, 1], 3, 2);
        Assert.All(NearestNeighbours.Compute(rows, k: 0), n => Assert.Empty(n));
        var all = NearestNeighbours.Compute(rows, k: 10);
        Assert.All(all, n => Assert.Equal(2, n.Length));
        Assert.Equal([2, 1], all[0].Select(n => n.Id));
        Assert.Empty(NearestNeighbours.Compute(new Tensor(0, 2), k: 3));
        Assert.Empty(Assert.Single(NearestNeighbours.Compute(Tensor.FromArray([1f, 1], 1, 2), k: 3)));
    }

    [Fact]
    public void SourceMassRefusesABatchOfOtherUnitsOrRows()
    {
        var mass = new SourceMass(3, 2);
        var batch = BatchActivations.Dense(new Tensor(4, 2));
        Assert.Contains("the batch has 2 units, not 3", Assert.Throws<ArgumentException>(() => mass.Add(batch, new int[4])).Message);
        Assert.Contains("3 slots for 4 rows", Assert.Throws<ArgumentException>(() => mass.Add(BatchActivations.Dense(new Tensor(4, 3)), new int[3])).Message);
    }
}
