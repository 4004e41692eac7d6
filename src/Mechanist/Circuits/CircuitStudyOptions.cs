namespace Mechanist.Circuits;

/// <summary>What a circuit study prunes with and measures: the pruning settings, how many prompts, how much pretraining
/// data the ablation means average, and an optional fixed node budget.</summary>
public sealed record CircuitStudyOptions
{
    public PruneOptions Prune { get; init; } = new();
    /// <summary>Pairs of train prompts (one target prompt, one alternative prompt each).</summary>
    public int Pairs { get; init; } = 128;
    public int HeldOutPairs { get; init; } = 64;
    /// <summary>Windows of the model's context from the token store's train split that the ablation means average.</summary>
    public int MeanWindows { get; init; } = 64;
    /// <summary>A fixed node budget instead of bisecting to the target loss (every variant then uses it).</summary>
    public int? Budget { get; init; }
    /// <summary>Kept nodes whose top tokens and ablation effect are measured (highest τ first).</summary>
    public int NodeDetails { get; init; } = 64;
    public ulong Seed { get; init; }
}
