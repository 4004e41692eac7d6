namespace Mechanist.Models;

/// <summary>The normalisation before each sublayer and the unembedding.</summary>
public enum NormKind
{
    /// <summary>GPT-2's LayerNorm: (x − μ)/σ·gain + bias.</summary>
    LayerNorm,
    /// <summary>RMSNorm, x/rms(x)·gain (no mean, no bias): zero stays zero, as the weight-sparse family needs (METHODS.md §6.1).</summary>
    RmsNorm,
}
