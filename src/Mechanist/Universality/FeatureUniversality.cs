using System.Text.Json.Nodes;

namespace Mechanist.Universality;

/// <summary>
/// Feature universality between two dictionaries (docs/METHODS.md §3.4): for each A latent, the B latent it
/// correlates with best over the same tokens, that correlation, the logit-weight correlation of the pair (NaN
/// without models or when the dictionaries do not write to the residual stream), and how often the A latent
/// fires. <see cref="Neurons"/> holds the same maxima for the two models' units at the hook, the paper's
/// baseline (null when both dictionaries read the same activation rows).
/// </summary>
public sealed record FeatureUniversality(
    int[] Match,
    float[] Correlation,
    float[] LogitCorrelation,
    double[] DensityA,
    RowMaxima? Neurons,
    long Tokens,
    double L0A,
    double L0B,
    int LatentsB,
    double SparseSeconds,
    JsonObject Inputs)
{
    public int LatentsA => Match.Length;

    /// <summary>Median best correlation over the A latents that vary (dead latents have none).</summary>
    public double MedianFeatures => Median(Correlation);

    public double? MedianNeurons => Neurons == null ? null : Median(Neurons.Max);

    /// <summary>Share of the A latents that vary whose best B match correlates above <paramref name="threshold"/>.</summary>
    public double ShareAbove(double threshold)
    {
        var defined = Correlation.Where(c => !float.IsNaN(c)).ToArray();
        return defined.Length == 0 ? double.NaN : (double)defined.Count(c => c > threshold) / defined.Length;
    }

    public static double Median(IEnumerable<float> values)
    {
        var v = values.Where(x => !float.IsNaN(x)).Select(x => (double)x).Order().ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
