namespace Mechanist.Models;

/// <summary>
/// Where a weight-sparse model applies AbsTopK activation sparsity (docs/METHODS.md §6.1), by circuit_sparsity's site
/// names (<see cref="Names"/>). Each site's result is what the hook point at that place sees (see
/// docs/ARCHITECTURE.md, "the weight-sparse family").
/// </summary>
[Flags]
public enum SparsitySites
{
    None = 0,
    /// <summary>attn_in: the attention's input after RMSNorm (ln1.hook_normalized).</summary>
    AttnIn = 1,
    /// <summary>attn_q, attn_k, attn_v: each over the whole heads·d_head row (attn.hook_q/k/v).</summary>
    AttnQ = 2,
    AttnK = 4,
    AttnV = 8,
    /// <summary>attn_out: the attention's output after c_proj (hook_attn_out).</summary>
    AttnOut = 16,
    /// <summary>mlp_in: the MLP's input after RMSNorm (ln2.hook_normalized).</summary>
    MlpIn = 32,
    /// <summary>mlp_neuron: the neurons after the activation (mlp.hook_post).</summary>
    MlpNeuron = 64,
    /// <summary>mlp_out: the MLP's output after c_proj (hook_mlp_out).</summary>
    MlpOut = 128,
    /// <summary>The eight sites of circuit_sparsity's example model (the presets' sites).</summary>
    All = 255,
    /// <summary>resid_post_attn: the residual stream after the attention's output is added (hook_resid_mid; hook_resid_post in an attention-only block).</summary>
    ResidPostAttn = 256,
    /// <summary>resid_post_mlp: the residual stream after the MLP's output is added (hook_resid_post), what the next block and the final norm read.</summary>
    ResidPostMlp = 512,
    /// <summary>The two post-block residual sites (an option: the presets leave the residual stream dense).</summary>
    Residual = ResidPostAttn | ResidPostMlp,
}
