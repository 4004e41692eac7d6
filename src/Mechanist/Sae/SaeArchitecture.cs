namespace Mechanist.Sae;

/// <summary>The sparse autoencoder variants (METHODS.md §2.1–2.5).</summary>
public enum SaeArchitecture
{
    /// <summary>ReLU + L1 penalty (Towards Monosemanticity); SAELens calls it "standard".</summary>
    Relu,
    /// <summary>Per-token top-k pre-activations, with the AuxK loss for dead latents (Gao et al. 2024).</summary>
    TopK,
    /// <summary>Top B·k pre-activations across the batch; saved as JumpReLU with one shared threshold.</summary>
    BatchTopK,
    /// <summary>Learned per-latent thresholds with straight-through gradients and an L0 penalty.</summary>
    JumpRelu,
    /// <summary>
    /// Gated (Rajamanoharan et al. 2024): a gate path 1[π_gate > 0] picks the latents, a magnitude path with
    /// weights exp(r_mag)·W_gate sets their values; the L1 penalty and an auxiliary reconstruction act on the gate only.
    /// </summary>
    Gated,
}

public static class SaeArchitectureNames
{
    /// <summary>The name used on the command line and in our own files.</summary>
    public static string CliName(this SaeArchitecture a) => a switch
    {
        SaeArchitecture.Relu => "relu",
        SaeArchitecture.TopK => "topk",
        SaeArchitecture.BatchTopK => "batchtopk",
        SaeArchitecture.JumpRelu => "jumprelu",
        SaeArchitecture.Gated => "gated",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>SAELens' `architecture` value in cfg.json.</summary>
    public static string SaeLensName(this SaeArchitecture a) => a switch
    {
        SaeArchitecture.Relu => "standard",
        SaeArchitecture.TopK => "topk",
        SaeArchitecture.BatchTopK => "jumprelu", // saved as JumpReLU with every threshold = θ (METHODS §2.3)
        SaeArchitecture.JumpRelu => "jumprelu",
        SaeArchitecture.Gated => "gated",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    public static bool TryParse(string name, out SaeArchitecture a)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "relu": case "standard": case "l1": a = SaeArchitecture.Relu; return true;
            case "topk": a = SaeArchitecture.TopK; return true;
            case "batchtopk": case "batch_topk": a = SaeArchitecture.BatchTopK; return true;
            case "jumprelu": a = SaeArchitecture.JumpRelu; return true;
            case "gated": a = SaeArchitecture.Gated; return true;
            default: a = default; return false;
        }
    }
}

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
