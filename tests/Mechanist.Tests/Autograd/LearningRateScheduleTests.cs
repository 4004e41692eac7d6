using Mechanist.Autograd.Optimizers;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// The schedule's exact factors where its pieces meet (end of warm-up, start and end of decay, a decay of zero length)
/// and a quarter of the way into each decay shape (the midpoint cannot tell cosine from linear), and its refusals.
/// </summary>
public class LearningRateScheduleTests
{
    [Fact]
    public void Cosine_and_linear_differ_a_quarter_of_the_way_into_the_decay()
    {
        var cosine = new LearningRateSchedule(0, 100, DecayShape.Cosine, 0.2);
        var linear = new LearningRateSchedule(0, 100, DecayShape.Linear, 0.2);
        Assert.Equal(0.2 + 0.8 * 0.5 * (1 + Math.Cos(Math.PI / 4)), cosine.Factor(25), 12);
        Assert.Equal(0.2 + 0.8 * 0.5 * (1 + Math.Cos(3 * Math.PI / 4)), cosine.Factor(75), 12);
        Assert.Equal(0.2 + 0.8 * 0.75, linear.Factor(25), 12);
        Assert.Equal(0.2 + 0.8 * 0.25, linear.Factor(75), 12);
    }

    [Fact]
    public void Without_warm_up_the_decay_starts_at_step_zero()
    {
        var s = new LearningRateSchedule(0, 100, DecayShape.Linear, 0);
        Assert.Equal(0, s.DecayStart);
        Assert.Equal(1.0, s.Factor(0), 12);
        Assert.Equal(0.99, s.Factor(1), 12);
    }

    [Fact]
    public void Constant_keeps_the_full_rate_after_warm_up_for_ever()
    {
        var s = new LearningRateSchedule(4, 10, DecayShape.Constant, 0.1);
        Assert.Equal(0.25, s.Factor(0), 12);
        Assert.Equal(1.0, s.Factor(3), 12);
        Assert.Equal(1.0, s.Factor(4), 12);
        Assert.Equal(1.0, s.Factor(10), 12);
        Assert.Equal(1.0, s.Factor(1000), 12);
    }

    [Theory]
    [InlineData(DecayShape.Linear)]
    [InlineData(DecayShape.Cosine)]
    public void A_decay_of_zero_length_drops_to_the_final_fraction_at_its_start(DecayShape shape)
    {
        var atEnd = new LearningRateSchedule(0, 10, shape, 0.25, decayStart: 10);
        Assert.Equal(1.0, atEnd.Factor(9), 12);
        Assert.Equal(0.25, atEnd.Factor(10), 12);
        Assert.Equal(0.25, atEnd.Factor(11), 12);
        var pastEnd = new LearningRateSchedule(0, 10, shape, 0.25, decayStart: 20);
        Assert.Equal(1.0, pastEnd.Factor(19), 12);
        Assert.Equal(0.25, pastEnd.Factor(20), 12);
        // No steps at all: the rate is already the final fraction.
        Assert.Equal(0.25, new LearningRateSchedule(0, 0, shape, 0.25).Factor(0), 12);
    }

    [Fact]
    public void A_final_fraction_of_one_never_decays()
    {
        var s = new LearningRateSchedule(2, 10, DecayShape.Cosine, 1);
        Assert.Equal(0.5, s.Factor(0), 12);
        Assert.Equal(1.0, s.Factor(6), 12);
        Assert.Equal(1.0, s.Factor(10), 12);
    }

    [Theory]
    [InlineData(-1L, 10L, 0.0, null, "warmupSteps", "step counts must be ≥ 0")]
    [InlineData(0L, -1L, 0.0, null, "totalSteps", "step counts must be ≥ 0")]
    [InlineData(0L, 10L, -0.1, null, "finalFraction", "final fraction must be in [0, 1]")]
    [InlineData(0L, 10L, 1.5, null, "finalFraction", "final fraction must be in [0, 1]")]
    [InlineData(0L, 10L, double.NaN, null, "finalFraction", "final fraction must be in [0, 1]")]
    [InlineData(0L, 10L, 0.0, -1L, "decayStart", "decay start must be ≥ 0")]
    public void Impossible_settings_are_refused_by_name(long warmup, long total, double finalFraction, long? decayStart, string parameter, string words)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(warmup, total, DecayShape.Cosine, finalFraction, decayStart));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(words, e.Message);
    }
}
