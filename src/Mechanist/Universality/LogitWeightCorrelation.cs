using Mechanist.Features.Statistics;
using Mechanist.Models;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// Logit-weight similarity of matched latents (docs/METHODS.md §3.4): each latent's direct-path logit weights over
/// the vocabulary, w = (r − mean r)·diag(γ_f)·W_U with r its write direction in the residual stream, and the Pearson
/// correlation of w_A(a) with w_B(match(a)). Activation correlation stays the primary measure; this one says
/// whether a matched pair also predicts the same tokens (the paper's Arabic pair: 0.91 by activation, 0.23 by logits).
/// </summary>
public static class LogitWeightCorrelation
{
    /// <summary>The two models the dictionaries were trained on, and the hook both read.</summary>
    public sealed record Models(Transformer<float> A, Transformer<float> B, HookPoint Hook);

    const int Chunk = 256;

    /// <summary>
    /// Per A latent, the logit-weight correlation with its match (0 when either writes nothing); NaN without a match or
    /// a direct path, or across vocabularies.
    /// </summary>
    public static float[] Of(Models models, SparseAutoencoder a, SparseAutoencoder b, int[] match)
    {
        var result = Enumerable.Repeat(float.NaN, a.DSae).ToArray();
        var unembedA = models.A.UnembeddingRows.Value; var unembedB = models.B.UnembeddingRows.Value;
        if (unembedA.RowCount != unembedB.RowCount) return result;
        var dirA = ResidualDirections.Of(models.A, models.Hook, a.WDec.Value);
        var matched = new Tensor(a.DSae, b.DIn);
        for (int i = 0; i < a.DSae; i++)
            if (match[i] >= 0) b.WDec.Value.Row(match[i]).CopyTo(matched.Row(i));
        var dirB = ResidualDirections.Of(models.B, models.Hook, matched);
        if (dirA == null || dirB == null) return result;

        int vocab = unembedA.RowCount;
        var wA = new Tensor(Math.Min(Chunk, a.DSae), vocab);
        var wB = new Tensor(Math.Min(Chunk, a.DSae), vocab);
        for (int start = 0; start < a.DSae; start += Chunk)
        {
            int n = Math.Min(Chunk, a.DSae - start);
            LogitEffectCalculator.Weights(dirA.Rows(start, n), models.A.FinalNormGain.Value.Span, unembedA, wA.Rows(0, n));
            LogitEffectCalculator.Weights(dirB.Rows(start, n), models.B.FinalNormGain.Value.Span, unembedB, wB.Rows(0, n));
            var x = new double[vocab]; var y = new double[vocab];
            for (int i = 0; i < n; i++)
            {
                if (match[start + i] < 0) continue;
                for (int v = 0; v < vocab; v++) { x[v] = wA.Row(i)[v]; y[v] = wB.Row(i)[v]; }
                result[start + i] = (float)Explain.Correlation.Pearson(x, y);
            }
        }
        return result;
    }
}
