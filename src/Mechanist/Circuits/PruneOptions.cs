namespace Mechanist.Circuits;

/// <summary>
/// Settings of one pruning run (docs/METHODS.md §6.5), defaulting to the centres of the paper's search: k_coef 1e-4,
/// τ₀ ~ N(0.1, 0.01²), AdamW lr 3e-3, β2 0.95, weight decay 1e-3, 5 % warm-up then linear decay, gradient clipping
/// at norm 1, batches of 32 pairs. The step count is not published; 300 suffices for the small models here.
/// </summary>
public sealed record PruneOptions
{
    public int Steps { get; init; } = 300;
    public int PairsPerBatch { get; init; } = 32;
    public float LearningRate { get; init; } = 3e-3f;
    public float KCoef { get; init; } = 1e-4f;
    public float WeightDecay { get; init; } = 1e-3f;
    public float Beta2 { get; init; } = 0.95f;
    public float InitMean { get; init; } = 0.1f;
    public float InitStd { get; init; } = 0.01f;
    public double WarmupFraction { get; init; } = 0.05;
    public float ClipNorm { get; init; } = 1f;
    /// <summary>The per-prompt task loss the node budget is bisected to (the paper's 0.15).</summary>
    public double TargetLoss { get; init; } = 0.15;
    /// <summary>Budgets on the geometric grid from 1 to every node that the loss-vs-k sweep reports and the bisection starts from.</summary>
    public int SweepPoints { get; init; } = 12;
    /// <summary>Divide by the unpruned model's norm scales during pruning and evaluation (the critique's option, not the paper's method).</summary>
    public bool FreezeNorms { get; init; }
    public ulong Seed { get; init; }

    public PruneOptions Validate()
    {
        if (Steps < 1) throw new UserError($"--steps {Steps}: must be ≥ 1");
        if (PairsPerBatch < 1) throw new UserError($"--batch {PairsPerBatch}: must be ≥ 1");
        if (!(LearningRate > 0)) throw new UserError($"--lr {LearningRate}: must be > 0");
        if (!(KCoef >= 0)) throw new UserError($"--k-coef {KCoef}: must be ≥ 0");
        if (!(TargetLoss > 0)) throw new UserError($"--target-loss {TargetLoss}: must be > 0");
        return this;
    }
}
