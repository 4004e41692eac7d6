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
