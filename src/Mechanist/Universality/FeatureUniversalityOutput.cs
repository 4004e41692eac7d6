using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Plots;

namespace Mechanist.Universality;

/// <summary>
/// Writes an A/B feature-universality run into a folder: <c>matches.csv</c> (a,b,corr,logit_corr,density_a),
/// <c>neurons.csv</c> (the baseline, when there is one), <c>histogram.svg</c> (best correlations, features over
/// neurons), <c>summary.json</c> and <c>manifest.json</c>. Each file is written atomically.
/// </summary>
public static class FeatureUniversalityOutput
{
    public const string MatchesFile = "matches.csv";
    public const string NeuronsFile = "neurons.csv";
    public const string HistogramFile = "histogram.svg";
    public const string SummaryFile = "summary.json";
    public const string Stage = "universal-features";
    public const string MatchesHeader = "a,b,corr,logit_corr,density_a";

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static JsonObject Summary(FeatureUniversality r) => new()
    {
        ["tokens"] = r.Tokens,
        ["latents_a"] = r.LatentsA,
        ["latents_b"] = r.LatentsB,
        ["l0_a"] = r.L0A,
        ["l0_b"] = r.L0B,
        ["undefined_a"] = r.Correlation.Count(float.IsNaN),
        ["median_max_corr_features"] = Number(r.MedianFeatures),
        ["median_max_corr_neurons"] = r.MedianNeurons is double n ? Number(n) : null,
        ["share_features_above_0.8"] = Number(r.ShareAbove(0.8)),
        ["median_logit_corr"] = Number(FeatureUniversality.Median(r.LogitCorrelation)),
        ["sparse_seconds"] = r.SparseSeconds,
    };

    public static JsonObject Write(string dir, FeatureUniversality r, JsonObject settings)
    {
        Directory.CreateDirectory(dir);
        var summary = Summary(r);
        var sb = new StringBuilder(MatchesHeader).Append('\n');
        for (int i = 0; i < r.LatentsA; i++)
            sb.Append(i).Append(',').Append(r.Match[i] < 0 ? "" : r.Match[i].ToString(Inv)).Append(',').Append(Cell(r.Correlation[i]))
              .Append(',').Append(Cell(r.LogitCorrelation[i])).Append(',').Append(r.DensityA[i].ToString("G6", Inv)).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(dir, MatchesFile), sb.ToString());
        var outputs = new List<ManifestFile> { new(MatchesFile), new(HistogramFile), new(SummaryFile) };
        if (r.Neurons is RowMaxima neurons)
        {
            var nb = new StringBuilder("a,b,corr\n");
            for (int i = 0; i < neurons.Max.Length; i++)
                nb.Append(i).Append(',').Append(neurons.ArgMax[i] < 0 ? "" : neurons.ArgMax[i].ToString(Inv)).Append(',').Append(Cell(neurons.Max[i])).Append('\n');
            AtomicFile.WriteAllText(Path.Combine(dir, NeuronsFile), nb.ToString());
            outputs.Add(new ManifestFile(NeuronsFile));
        }
        AtomicFile.WriteAllText(Path.Combine(dir, HistogramFile), Histogram(r));
        AtomicFile.WriteAllText(Path.Combine(dir, SummaryFile), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        new Manifest
        {
            Stage = Stage,
            Settings = settings,
            Outputs = outputs,
            Contents = new JsonObject { ["inputs"] = r.Inputs.DeepClone(), ["summary"] = summary.DeepClone() },
        }.SaveTo(dir);
        return summary;
    }

    /// <summary>Best correlations on 20 bins over [0, 1] (below 0 counts in the first), features above neurons.</summary>
    static string Histogram(FeatureUniversality r)
    {
        var charts = new List<HistogramChart> { Chart($"A features: best correlation with any B feature (median {r.MedianFeatures:F2})", r.Correlation) };
        if (r.Neurons is RowMaxima n) charts.Add(Chart($"A neurons: best correlation with any B neuron (median {r.MedianNeurons:F2})", n.Max));
        return HistogramChart.StackedFile(charts);
    }

    static HistogramChart Chart(string title, float[] values)
    {
        const int Bins = 20;
        var counts = new long[Bins];
        foreach (float v in values)
            if (!float.IsNaN(v)) counts[Math.Clamp((int)(v * Bins), 0, Bins - 1)]++;
        return new HistogramChart(title, 0, 1.0 / Bins, counts);
    }

    static string Cell(float v) => float.IsNaN(v) ? "" : v.ToString("0.######", Inv);

    static JsonNode? Number(double v) => double.IsNaN(v) ? null : JsonValue.Create(v);
}
