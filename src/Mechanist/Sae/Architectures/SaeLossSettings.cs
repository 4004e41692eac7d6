namespace Mechanist.Sae;

/// <summary>
/// The loss settings a training step needs besides the weights (they change during training: λ warms up,
/// the dead set grows). Kernels read these; the trainer owns them.
/// </summary>
public sealed class SaeLossSettings
{
    /// <summary>Sparsity coefficient λ: the L1 weight (relu), the L0 weight (jumprelu), or the L1 weight on ReLU(π_gate) (gated).</summary>
    public double Sparsity { get; set; }
    /// <summary>Active latents per token (topk), or the mean per token (batchtopk).</summary>
    public int K { get; set; } = 32;
    /// <summary>AuxK: latents per token drawn from the dead set (0 turns AuxK off).</summary>
    public int KAux { get; set; }
    /// <summary>AuxK weight α (1/32 in Gao et al.).</summary>
    public double AuxAlpha { get; set; } = 1.0 / 32;
    /// <summary>Latents counted as dead for AuxK (null: none).</summary>
    public bool[]? Dead { get; set; }
    /// <summary>JumpReLU straight-through bandwidth ε.</summary>
    public double Bandwidth { get; set; } = 0.001;
    /// <summary>BatchTopK at inference: the global threshold θ (set by training; used instead of the batch selection).</summary>
    public double? FixedThreshold { get; set; }
}
