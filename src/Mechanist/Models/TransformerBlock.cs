using System.Numerics;
using Mechanist.Autograd;

namespace Mechanist.Models;

/// <summary>
/// One pre-LN block's weights, in GPT-2's Conv1D layout ([in, out], y = x·W + b). The fused c_attn columns
/// are Q = [0, d), K = [d, 2d), V = [2d, 3d), each split head-major into [heads, d_head]. An RMSNorm model's norms
/// have no bias (null); a model with an attention sink has <see cref="Sink"/>.
/// </summary>
public sealed class TransformerBlock<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal TransformerBlock(TransformerConfig c, int layer, Func<string, int[], bool, Var<T>> weight)
    {
        string p = $"transformer.h.{layer}.";
        int d = c.DModel;
        bool layerNorm = c.Norm == NormKind.LayerNorm;
        Ln1Gain = weight(p + "ln_1.weight", [d], false);
        if (layerNorm) Ln1Bias = weight(p + "ln_1.bias", [d], false);
        AttnWeight = weight(p + "attn.c_attn.weight", [d, 3 * d], true);
        AttnBias = weight(p + "attn.c_attn.bias", [3 * d], false);
        AttnOutWeight = weight(p + "attn.c_proj.weight", [d, d], true);
        AttnOutBias = weight(p + "attn.c_proj.bias", [d], false);
        if (c.AttentionSink) Sink = weight(p + "attn.sink", [c.Heads], false);
        if (c.AttentionOnly) return;
        Ln2Gain = weight(p + "ln_2.weight", [d], false);
        if (layerNorm) Ln2Bias = weight(p + "ln_2.bias", [d], false);
        MlpInWeight = weight(p + "mlp.c_fc.weight", [d, c.DMlp], true);
        MlpInBias = weight(p + "mlp.c_fc.bias", [c.DMlp], false);
        MlpOutWeight = weight(p + "mlp.c_proj.weight", [c.DMlp, d], true);
        MlpOutBias = weight(p + "mlp.c_proj.bias", [d], false);
    }

    public Var<T> Ln1Gain { get; }
    /// <summary>LayerNorm's bias; null for RMSNorm.</summary>
    public Var<T>? Ln1Bias { get; }
    /// <summary>c_attn: [d_model, 3·d_model], Q | K | V.</summary>
    public Var<T> AttnWeight { get; }
    public Var<T> AttnBias { get; }
    /// <summary>W_O as c_proj: [d_model (= heads·d_head), d_model].</summary>
    public Var<T> AttnOutWeight { get; }
    public Var<T> AttnOutBias { get; }
    /// <summary>The attention sink's logit per head [heads], or null.</summary>
    public Var<T>? Sink { get; }
    public Var<T>? Ln2Gain { get; }
    public Var<T>? Ln2Bias { get; }
    /// <summary>W_in: [d_model, d_mlp].</summary>
    public Var<T>? MlpInWeight { get; }
    public Var<T>? MlpInBias { get; }
    /// <summary>W_out: [d_mlp, d_model]; row n is neuron n's output direction.</summary>
    public Var<T>? MlpOutWeight { get; }
    public Var<T>? MlpOutBias { get; }
}
