namespace Mechanist.Sae;

/// <summary>What one forward (and backward) pass over a batch measured.</summary>
public struct SaeBatchStats
{
    public int Batch;
    /// <summary>mean_t Σ_j (x̂ − x)²: the reconstruction term of the loss.</summary>
    public double Reconstruction;
    /// <summary>The sparsity term as it enters the loss (λ·mean L1 for relu, λ·mean L0 for jumprelu, λ·mean Σ ReLU(π_gate) for gated).</summary>
    public double Sparsity;
    /// <summary>α · AuxK normalised error (0 when no latent is dead); gated: the gate path's reconstruction mean_t ‖x − x̂_gate‖². Passes with gradients only (0 in inference).</summary>
    public double Aux;
    /// <summary>mean_t ‖x_t − mean(x)‖² over the batch: the denominator of explained variance.</summary>
    public double Variance;
    public double L0;
    public double L1;
    /// <summary>The smallest pre-activation kept (batchtopk's per-batch threshold; 0 otherwise).</summary>
    public double Threshold;
    public readonly double Loss => Reconstruction + Sparsity + Aux;
    public readonly double ExplainedVariance => Variance > 0 ? 1 - Reconstruction / Variance : 0;
}
