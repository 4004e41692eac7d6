using Mechanist.Features.Statistics;

namespace Mechanist.Tests.Features;

/// <summary>The documented ranges of the statistics and build settings: both ends accepted, one past each refused, naming the flag.</summary>
public class StatisticsSettingsValidationTests
{
    public static TheoryData<string, StatisticsSettings, StatisticsSettings, StatisticsSettings, StatisticsSettings> Ranges() => new()
    {
        // flag, lowest accepted, highest accepted, below range, above range
        { "--top", new() { TopExamples = 0 }, new() { TopExamples = 1000 }, new() { TopExamples = -1 }, new() { TopExamples = 1001 } },
        { "--radius", new() { ContextRadius = 0 }, new() { ContextRadius = 64 }, new() { ContextRadius = -1 }, new() { ContextRadius = 65 } },
        { "--intervals", new() { Intervals = 1 }, new() { Intervals = 32 }, new() { Intervals = 0 }, new() { Intervals = 33 } },
        { "--interval-samples", new() { SamplesPerInterval = 0 }, new() { SamplesPerInterval = 100 }, new() { SamplesPerInterval = -1 }, new() { SamplesPerInterval = 101 } },
        { "--bins", new() { HistogramBins = 1 }, new() { HistogramBins = 1000 }, new() { HistogramBins = 0 }, new() { HistogramBins = 1001 } },
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void EachSettingAcceptsItsRangeAndRefusesOnePastEitherEnd(string flag, StatisticsSettings lowest, StatisticsSettings highest,
        StatisticsSettings below, StatisticsSettings above)
    {
        Assert.Same(lowest, lowest.Validate());
        Assert.Same(highest, highest.Validate());
        new StatisticsSettings().Validate(); // the defaults
        foreach (var bad in new[] { below, above })
        {
            var e = Assert.Throws<UserError>(() => bad.Validate());
            Assert.StartsWith(flag + " must be in [", e.Message);
        }
    }

    [Fact]
    public void BuildOptionsRefuseNoTokensNoBatchAndNegativeCounts()
    {
        var ok = new FeatureBuildOptions { Tokens = 1, BatchTokens = 1, LogitTokens = 0, Nearest = 0 };
        ok.Validate();
        Assert.Equal("--tokens must be ≥ 1", Assert.Throws<UserError>(() => (ok with { Tokens = 0 }).Validate()).Message);
        Assert.Equal("--batch-tokens must be ≥ 1", Assert.Throws<UserError>(() => (ok with { BatchTokens = 0 }).Validate()).Message);
        foreach (var bad in new[] { ok with { LogitTokens = -1 }, ok with { Nearest = -1 } })
            Assert.Contains("must be ≥ 0", Assert.Throws<UserError>(bad.Validate).Message);
    }

    [Fact]
    public void BuildRefusesBadOptionsBeforeLookingForItsInputs()
    {
        string missing = Path.Combine(Path.GetTempPath(), "mechanist-no-such-input-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<UserError>(() => FeatureBuilder.Build(missing, missing, missing, missing,
            new FeatureBuildOptions { Tokens = 0 }, IProgressReporter.None));
        Assert.Equal("--tokens must be ≥ 1", e.Message);
    }

    [Fact]
    public void TokensPerSecondIsTokensOverPassTimeAndZeroWithoutATime()
    {
        var summary = new FeatureBuildSummary("d", Tokens: 1000, Context: 8, Features: 1, Neurons: 0, DeadFeatures: 0,
            MeanL0: 1, Seconds: 9, PassSeconds: 4, StoreBytes: 1);
        Assert.Equal(250, summary.TokensPerSecond);
        Assert.Equal(0, (summary with { PassSeconds = 0 }).TokensPerSecond);
        Assert.Equal(0, (summary with { PassSeconds = -1 }).TokensPerSecond);
    }
}
