namespace Mechanist.Models;

/// <summary>
/// Where in a GPT-2 block (or around the blocks) a hook point sits, in the order a forward pass reaches
/// them. With a layer it makes a <see cref="HookPoint"/>; the TransformerLens name is <see cref="HookPoint.Name"/>.
/// </summary>
public enum HookSite
{
    /// <summary>hook_embed: token embedding [b, p, d_model].</summary>
    Embed,
    /// <summary>hook_pos_embed: position embedding [b, p, d_model].</summary>
    PosEmbed,
    /// <summary>blocks.L.hook_resid_pre: block input [b, p, d_model].</summary>
    ResidPre,
    /// <summary>blocks.L.ln1.hook_scale: the attention LayerNorm's σ [b, p, 1] (read-only).</summary>
    Ln1Scale,
    /// <summary>blocks.L.ln1.hook_normalized: x̂ before the LayerNorm's gain and bias [b, p, d_model].</summary>
    Ln1Normalized,
    /// <summary>blocks.L.attn.hook_q: per-head queries [b, p, h, d_head].</summary>
    Q,
    /// <summary>blocks.L.attn.hook_k: per-head keys [b, p, h, d_head].</summary>
    K,
    /// <summary>blocks.L.attn.hook_v: per-head values [b, p, h, d_head].</summary>
    V,
    /// <summary>blocks.L.attn.hook_pattern: attention after softmax [b, h, q, k] (read-only).</summary>
    Pattern,
    /// <summary>blocks.L.attn.hook_z: pattern·v per head [b, p, h, d_head].</summary>
    Z,
    /// <summary>blocks.L.hook_attn_out: the attention layer's output [b, p, d_model].</summary>
    AttnOut,
    /// <summary>blocks.L.hook_resid_mid: resid_pre + attn_out [b, p, d_model].</summary>
    ResidMid,
    /// <summary>blocks.L.ln2.hook_scale: the MLP LayerNorm's σ [b, p, 1] (read-only).</summary>
    Ln2Scale,
    /// <summary>blocks.L.ln2.hook_normalized [b, p, d_model].</summary>
    Ln2Normalized,
    /// <summary>blocks.L.mlp.hook_pre: neuron pre-activations [b, p, d_mlp].</summary>
    MlpPre,
    /// <summary>blocks.L.mlp.hook_post: neuron activations [b, p, d_mlp].</summary>
    MlpPost,
    /// <summary>blocks.L.hook_mlp_out: the MLP's output [b, p, d_model].</summary>
    MlpOut,
    /// <summary>blocks.L.hook_resid_post: block output [b, p, d_model].</summary>
    ResidPost,
    /// <summary>ln_final.hook_scale [b, p, 1] (read-only).</summary>
    FinalScale,
    /// <summary>ln_final.hook_normalized: the unembedding's input before the final gain and bias [b, p, d_model].</summary>
    FinalNormalized,
}
