using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Tests.Models;

/// <summary>
/// A deliberately plain GPT-2 forward pass (nested loops in double, straight from docs/METHODS.md §1.2), used as
/// the hand-computed reference the model's fused, vectorised forward must match.
/// </summary>
static class ReferenceGpt2
{
    public static double[,] Logits(Transformer<float> m, int[] tokens)
    {
        var c = m.Config;
        int p = tokens.Length, d = c.DModel;
        double W(Mechanist.Autograd.Var<float> v, int i) => v.Value[i];
        var x = new double[p, d];
        for (int t = 0; t < p; t++)
            for (int j = 0; j < d; j++)
                x[t, j] = W(m.TokenEmbedding, tokens[t] * d + j) + W(m.PositionEmbedding!, t * d + j);
        for (int layer = 0; layer < c.Layers; layer++)
        {
            var b = m.Blocks[layer];
            var h = LayerNorm(x, b.Ln1Gain.Value.ToArray(), b.Ln1Bias!.Value.ToArray(), c.LayerNormEps);
            var qkv = Affine(h, b.AttnWeight.Value.ToArray(), b.AttnBias.Value.ToArray(), d, 3 * d);
            var z = new double[p, d];
            for (int head = 0; head < c.Heads; head++)
            {
                int o = head * c.DHead;
                for (int i = 0; i < p; i++)
                {
                    var s = new double[i + 1];
                    double max = double.MinValue;
                    for (int j = 0; j <= i; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < c.DHead; e++) dot += qkv[i, o + e] * qkv[j, d + o + e];
                        s[j] = dot / Math.Sqrt(c.DHead) / (c.ScaleAttnByInverseLayerIdx ? layer + 1 : 1);
                        max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) { s[j] = Math.Exp(s[j] - max); sum += s[j]; }
                    for (int j = 0; j <= i; j++)
                        for (int e = 0; e < c.DHead; e++) z[i, o + e] += s[j] / sum * qkv[j, 2 * d + o + e];
                }
            }
            var attn = Affine(z, b.AttnOutWeight.Value.ToArray(), b.AttnOutBias.Value.ToArray(), d, d);
            for (int t = 0; t < p; t++) for (int j = 0; j < d; j++) x[t, j] += attn[t, j];
            if (c.AttentionOnly) continue;
            h = LayerNorm(x, b.Ln2Gain!.Value.ToArray(), b.Ln2Bias!.Value.ToArray(), c.LayerNormEps);
            var pre = Affine(h, b.MlpInWeight!.Value.ToArray(), b.MlpInBias!.Value.ToArray(), d, c.DMlp);
            for (int t = 0; t < p; t++) for (int j = 0; j < c.DMlp; j++) pre[t, j] = Act(c.Activation, pre[t, j]);
            var mlp = Affine(pre, b.MlpOutWeight!.Value.ToArray(), b.MlpOutBias!.Value.ToArray(), c.DMlp, d);
            for (int t = 0; t < p; t++) for (int j = 0; j < d; j++) x[t, j] += mlp[t, j];
        }
        var f = LayerNorm(x, m.FinalNormGain.Value.ToArray(), m.FinalNormBias!.Value.ToArray(), c.LayerNormEps);
        var u = m.UnembeddingRows.Value;
        var logits = new double[p, c.Vocab];
        for (int t = 0; t < p; t++)
            for (int v = 0; v < c.Vocab; v++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += f[t, j] * u[v * d + j];
                logits[t, v] = s;
            }
        return logits;
    }

    static double Act(Activation a, double x) => a switch
    {
        Activation.Relu => Math.Max(0, x),
        Activation.GeluNew => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        Activation.Gelu => 0.5 * x * (1 + VectorMath.Erf(x / Math.Sqrt(2))),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    static double[,] LayerNorm(double[,] x, float[] g, float[] b, double eps)
    {
        int p = x.GetLength(0), d = x.GetLength(1);
        var y = new double[p, d];
        for (int t = 0; t < p; t++)
        {
            double mean = 0, var = 0;
            for (int j = 0; j < d; j++) mean += x[t, j] / d;
            for (int j = 0; j < d; j++) var += (x[t, j] - mean) * (x[t, j] - mean) / d;
            for (int j = 0; j < d; j++) y[t, j] = (x[t, j] - mean) / Math.Sqrt(var + eps) * g[j] + b[j];
        }
        return y;
    }

    /// <summary>Conv1D: y = x·W + b with W stored [in, out].</summary>
    static double[,] Affine(double[,] x, float[] w, float[] b, int nIn, int nOut)
    {
        int p = x.GetLength(0);
        var y = new double[p, nOut];
        for (int t = 0; t < p; t++)
            for (int o = 0; o < nOut; o++)
            {
                double s = b[o];
                for (int i = 0; i < nIn; i++) s += x[t, i] * w[i * nOut + o];
                y[t, o] = s;
            }
        return y;
    }
}
