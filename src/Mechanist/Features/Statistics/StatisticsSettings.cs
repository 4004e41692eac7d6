namespace Mechanist.Features.Statistics;

/// <summary>What <see cref="UnitStatistics"/> keeps per unit (defaults: docs/METHODS.md §3.1–3.2, SAEDashboard's counts).</summary>
public sealed record StatisticsSettings
{
    /// <summary>Top-activating contexts kept per unit (at most one per analysed window).</summary>
    public int TopExamples { get; init; } = 20;
    /// <summary>Tokens shown either side of the activating token (a context holds up to 2·radius + 1 tokens).</summary>
    public int ContextRadius { get; init; } = 8;
    /// <summary>Equal-width activation intervals of (0, max] (docs/METHODS.md §3.2.3).</summary>
    public int Intervals { get; init; } = 10;
    public int SamplesPerInterval { get; init; } = 5;
    /// <summary>Bins of the activation histogram and of the logit-effect histogram.</summary>
    public int HistogramBins { get; init; } = 50;
    /// <summary>Seed of the interval sampling keys and of the random contexts.</summary>
    public ulong Seed { get; init; }

    public int ContextLength => 2 * ContextRadius + 1;

    public StatisticsSettings Validate()
    {
        if (TopExamples is < 0 or > 1000) throw new UserError($"--top must be in [0, 1000], got {TopExamples}");
        if (ContextRadius is < 0 or > 64) throw new UserError($"--radius must be in [0, 64], got {ContextRadius}");
        if (Intervals is < 1 or > 32) throw new UserError($"--intervals must be in [1, 32], got {Intervals}");
        if (SamplesPerInterval is < 0 or > 100) throw new UserError($"--interval-samples must be in [0, 100], got {SamplesPerInterval}");
        if (HistogramBins is < 1 or > 1000) throw new UserError($"--bins must be in [1, 1000], got {HistogramBins}");
        return this;
    }
}
