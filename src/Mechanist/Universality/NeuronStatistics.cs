using Mechanist.Models;

namespace Mechanist.Universality;

/// <summary>
/// The per-neuron statistics of docs/METHODS.md §5.4 under the paper's column names: activation statistics from
/// <see cref="PreActivationHistogram"/> and weight statistics read from the model. The vocabulary moments are
/// those of cos(W_U[:, v], w_out) over the vocabulary, with the final LayerNorm's gain folded into W_U and w_out
/// centred (LayerNorm removes the mean of what a neuron writes), W_U's columns unit-normalised; and the largest
/// composition score with any attention head (<see cref="HeadComposition"/>).
/// </summary>
public sealed class NeuronStatistics
{
    public static readonly string[] Columns =
    [
        "sparsity", "mean", "var", "skew", "kurt", "w_in_norm", "w_out_norm", "input_bias", "in_out_sim", "l2_penalty",
        "vocab_mean", "vocab_var", "vocab_skew", "vocab_kurt", .. HeadComposition.Columns,
    ];

    readonly Dictionary<string, double[]> _values;

    NeuronStatistics(UnitLayout layout, Dictionary<string, double[]> values) { Layout = layout; _values = values; }

    public UnitLayout Layout { get; }

    public double[] this[string column] => _values[column];

    /// <summary>Weight statistics of every MLP neuron, and activation statistics when a histogram is given.</summary>
    public static NeuronStatistics Of(Transformer<float> model, PreActivationHistogram? histogram)
    {
        var c = model.Config;
        var layout = new UnitLayout(c.Layers, c.DMlp);
        var v = Columns.ToDictionary(k => k, _ => Enumerable.Repeat(double.NaN, layout.Units).ToArray());
        int d = c.DModel, vocab = c.Vocab;
        // Unembedding directions with ln_f's gain folded in, unit-normalised: row u is token u's direction.
        var unembed = model.UnembeddingRows.Value;
        var gain = model.FinalNormGain.Value;
        var u = new float[vocab * d];
        for (int t = 0; t < vocab; t++)
        {
            double norm = 0;
            for (int k = 0; k < d; k++) { float x = unembed[t * d + k] * gain[k]; u[t * d + k] = x; norm += x * (double)x; }
            float inv = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0;
            for (int k = 0; k < d; k++) u[t * d + k] *= inv;
        }
        var cos = new float[c.DMlp * vocab];
        for (int l = 0; l < c.Layers; l++)
        {
            var block = model.Blocks[l];
            var win = block.MlpInWeight!.Value; var bin = block.MlpInBias!.Value; var wout = block.MlpOutWeight!.Value;
            var centred = new float[c.DMlp * d];
            for (int n = 0; n < c.DMlp; n++)
            {
                int unit = l * c.DMlp + n;
                double inNorm = 0, outNorm = 0, dot = 0, mean = 0;
                for (int k = 0; k < d; k++)
                {
                    double a = win[k * c.DMlp + n], b = wout[n * d + k];
                    inNorm += a * a; outNorm += b * b; dot += a * b; mean += b;
                }
                mean /= d;
                double centredNorm = 0;
                for (int k = 0; k < d; k++) { double x = wout[n * d + k] - mean; centredNorm += x * x; centred[n * d + k] = (float)x; }
                float scale = centredNorm > 0 ? (float)(1 / Math.Sqrt(centredNorm)) : 0;
                for (int k = 0; k < d; k++) centred[n * d + k] *= scale;
                v["w_in_norm"][unit] = Math.Sqrt(inNorm);
                v["w_out_norm"][unit] = Math.Sqrt(outNorm);
                v["input_bias"][unit] = bin[n];
                v["in_out_sim"][unit] = inNorm > 0 && outNorm > 0 ? dot / Math.Sqrt(inNorm * outNorm) : double.NaN;
                v["l2_penalty"][unit] = inNorm + outNorm;
            }
            // cos(W_U[:, v], w_out) for all neurons of the layer at once: [d_mlp, d] · [vocab, d]ᵀ.
            Numerics.Gemm.Multiply(false, true, c.DMlp, vocab, d, 1f, centred, d, u, d, 0f, cos, vocab);
            for (int n = 0; n < c.DMlp; n++)
            {
                var (m, var, skew, kurt) = Moments(cos.AsSpan(n * vocab, vocab));
                int unit = l * c.DMlp + n;
                v["vocab_mean"][unit] = m; v["vocab_var"][unit] = var; v["vocab_skew"][unit] = skew; v["vocab_kurt"][unit] = kurt;
            }
        }
        var composition = HeadComposition.Of(model);
        for (int k = 0; k < HeadComposition.Columns.Length; k++) v[HeadComposition.Columns[k]] = composition[k];
        if (histogram != null)
            for (int unit = 0; unit < layout.Units; unit++)
            {
                v["sparsity"][unit] = histogram.Frequency(unit);
                var (m, var, skew, kurt) = histogram.Moments(unit);
                v["mean"][unit] = m; v["var"][unit] = var; v["skew"][unit] = skew; v["kurt"][unit] = kurt;
            }
        return new NeuronStatistics(layout, v);
    }

    /// <summary>Mean, variance, skewness, kurtosis (non-excess) of the values.</summary>
    public static (double Mean, double Var, double Skew, double Kurt) Moments(ReadOnlySpan<float> x)
    {
        double n = x.Length, mean = 0;
        foreach (float a in x) mean += a;
        mean /= n;
        double m2 = 0, m3 = 0, m4 = 0;
        foreach (float a in x) { double dd = a - mean, d2 = dd * dd; m2 += d2; m3 += d2 * dd; m4 += d2 * d2; }
        m2 /= n; m3 /= n; m4 /= n;
        return m2 > 0 ? (mean, m2, m3 / Math.Pow(m2, 1.5), m4 / (m2 * m2)) : (mean, 0, double.NaN, double.NaN);
    }

    /// <summary>The paper's weight-based roles (§5.5): prediction / suppression (vocab_kurt &gt; 10, by the sign of vocab_skew), partition (vocab_var &gt; 0.005).</summary>
    public string Role(int unit)
    {
        double kurt = _values["vocab_kurt"][unit], skew = _values["vocab_skew"][unit], var = _values["vocab_var"][unit];
        if (kurt > 10) return skew > 0 ? "prediction" : "suppression";
        return var > 0.005 ? "partition" : "";
    }
}
