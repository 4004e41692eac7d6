namespace Mechanist.Autograd;

/// <summary>The parts of a language-model training step that <see cref="StepProfiler"/> times separately.</summary>
public enum StepPart
{
    /// <summary>Residual adds, reshapes and whatever no part claims.</summary>
    Other,
    /// <summary>Token and position lookups (gathers) and their scatter-add gradients.</summary>
    Embedding,
    /// <summary>Every layer norm, the final one included.</summary>
    LayerNorm,
    /// <summary>The attention sublayer's projections: QKV (and its split into Q, K, V), the output projection.</summary>
    Attention,
    /// <summary>The attention kernel itself: softmax(scale·q·kᵀ, causal mask)·v.</summary>
    AttentionKernel,
    /// <summary>Both MLP projections and the activation.</summary>
    Mlp,
    /// <summary>The unembedding product and the cross-entropy loss.</summary>
    UnembeddingLoss,
    /// <summary>Zeroing gradients, clipping, the optimizer update.</summary>
    Optimizer,
}
