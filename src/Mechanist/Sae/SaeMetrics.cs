using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Plots;

namespace Mechanist.Sae;

/// <summary>
/// The model-free evaluation of an SAE on held-out activations (docs/METHODS.md §2.7). The CE/KL scores need the
/// model spliced: they are filled by the model stage through <see cref="WithSpliceScores"/>.
/// </summary>
public sealed record SaeMetrics
{
    public long Tokens { get; init; }
    /// <summary>mean_t mean_j (x − x̂)² (averaged over elements, not summed over dimensions).</summary>
    public double Mse { get; init; }
    /// <summary>1 − Σ_t‖x_t − x̂_t‖² / Σ_t‖x_t − x̄‖² (SAELens); FVU = 1 − this.</summary>
    public double ExplainedVariance { get; init; }
    public double Cosine { get; init; }
    public double L0 { get; init; }
    public double L1 { get; init; }
    /// <summary>mean_t ‖x̂_t‖/‖x_t‖ (below 1 means shrinkage).</summary>
    public double L2Ratio { get; init; }
    /// <summary>γ = E‖x̂‖² / E[x̂·x].</summary>
    public double ShrinkageGamma { get; init; }
    public int Dead { get; init; }
    /// <summary>Latents with density below 1e-6 (Towards Monosemanticity's ultralow cluster).</summary>
    public int Ultralow { get; init; }
    public int Below1e5 { get; init; }
    public int DenseAbove1Percent { get; init; }
    public int DenseAbove10Percent { get; init; }
    /// <summary>Per-latent firing density p_i on the evaluation tokens.</summary>
    public required double[] Density { get; init; }

    // Filled by splicing the SAE into the model (model stage); null until then.
    public double? CeLossScoreZero { get; init; }
    public double? CeLossScoreMean { get; init; }
    public double? KlScore { get; init; }
    public double? CeClean { get; init; }
    public double? CeSae { get; init; }

    public SaeMetrics WithSpliceScores(double ceClean, double ceSae, double ceZero, double ceMean, double klScore) => this with
    {
        CeClean = ceClean, CeSae = ceSae, KlScore = klScore,
        CeLossScoreZero = (ceZero - ceSae) / (ceZero - ceClean),
        CeLossScoreMean = (ceMean - ceSae) / (ceMean - ceClean),
    };

    public float[] Log10Density() => Density.Select(p => (float)Math.Log10(p + 1e-10)).ToArray();

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["tokens"] = Tokens,
            ["mse"] = Mse,
            ["explained_variance"] = ExplainedVariance,
            ["fvu"] = 1 - ExplainedVariance,
            ["cosine"] = Cosine,
            ["l0"] = L0,
            ["l1"] = L1,
            ["l2_ratio"] = L2Ratio,
            ["shrinkage_gamma"] = ShrinkageGamma,
            ["dead"] = Dead,
            ["ultralow"] = Ultralow,
            ["below_1e-5"] = Below1e5,
            ["dense_above_1pct"] = DenseAbove1Percent,
            ["dense_above_10pct"] = DenseAbove10Percent,
        };
        if (CeLossScoreZero is double z) o["ce_loss_score_zero"] = z;
        if (CeLossScoreMean is double m) o["ce_loss_score_mean"] = m;
        if (KlScore is double k) o["kl_score"] = k;
        if (CeClean is double c) o["ce_clean"] = c;
        if (CeSae is double s) o["ce_sae"] = s;
        return o;
    }

    /// <summary>Evaluates <paramref name="sae"/> on rows of <paramref name="x"/> (the inputs the SAE reads).</summary>
    public static SaeMetrics Evaluate(SparseAutoencoder sae, IEnumerable<Tensor> batches)
    {
        long tokens = 0;
        double sqErr = 0, cos = 0, l1 = 0, l2ratio = 0, xhatSq = 0, xhatDotX = 0, xSq = 0;
        long active = 0;
        var fired = new long[sae.DSae];
        var sum = new double[sae.DIn];
        foreach (var batch in batches)
        {
            int d = sae.DIn;
            sae.ForBatches(batch, (kernel, start, count) =>
            {
                for (int t = 0; t < count; t++)
                {
                    var x = batch.Row(start + t);
                    var r = kernel.Reconstruction(t);
                    double e2 = 0, xx = 0, rr = 0, rx = 0;
                    for (int j = 0; j < d; j++)
                    {
                        double xv = x[j], rv = r[j];
                        e2 += (rv - xv) * (rv - xv); xx += xv * xv; rr += rv * rv; rx += rv * xv;
                        sum[j] += xv;
                    }
                    sqErr += e2; xSq += xx; xhatSq += rr; xhatDotX += rx;
                    cos += xx > 0 && rr > 0 ? rx / Math.Sqrt(xx * rr) : 0;
                    l2ratio += xx > 0 ? Math.Sqrt(rr / xx) : 0;
                    var values = kernel.ActiveValues(t);
                    foreach (float v in values) l1 += Math.Abs(v);
                    foreach (int i in kernel.ActiveIndices(t)) fired[i]++;
                    active += values.Length;
                }
                tokens += count;
            });
        }
        if (tokens == 0) throw new UserError("no tokens to evaluate the SAE on");
        double meanSq = sum.Sum(s => (s / tokens) * (s / tokens));
        double variance = xSq - tokens * meanSq; // Σ_t ‖x_t − x̄‖²
        var density = fired.Select(f => (double)f / tokens).ToArray();
        return new SaeMetrics
        {
            Tokens = tokens,
            Mse = sqErr / tokens / sae.DIn,
            ExplainedVariance = variance > 0 ? 1 - sqErr / variance : 0,
            Cosine = cos / tokens,
            L0 = (double)active / tokens,
            L1 = l1 / tokens,
            L2Ratio = l2ratio / tokens,
            ShrinkageGamma = xhatDotX != 0 ? xhatSq / xhatDotX : 0,
            Dead = density.Count(p => p == 0),
            Ultralow = density.Count(p => p < 1e-6),
            Below1e5 = density.Count(p => p < 1e-5),
            DenseAbove1Percent = density.Count(p => p > 0.01),
            DenseAbove10Percent = density.Count(p => p > 0.1),
            Density = density,
        };
    }
}

/// <summary>The feature-density histogram: log10(p + 1e-10) in bins of 0.25 from −10 to 0 (docs/METHODS.md §2.7).</summary>
public static class DensityHistogram
{
    public const double Low = -10, High = 0, Width = 0.25;

    public static (double[] Edges, int[] Counts) Compute(IReadOnlyList<double> density)
    {
        int bins = (int)Math.Round((High - Low) / Width);
        var edges = Enumerable.Range(0, bins + 1).Select(i => Low + i * Width).ToArray();
        var counts = new int[bins];
        foreach (double p in density)
        {
            double v = Math.Log10(p + 1e-10);
            counts[Math.Clamp((int)Math.Floor((v - Low) / Width), 0, bins - 1)]++;
        }
        return (edges, counts);
    }

    /// <summary>Writes NAME.json (edges, counts) and NAME.svg (a bar chart) atomically.</summary>
    public static void Save(string pathWithoutExtension, IReadOnlyList<double> density, string title)
    {
        var (edges, counts) = Compute(density);
        var json = new JsonObject
        {
            ["x"] = "log10(density + 1e-10)",
            ["bin_edges"] = new JsonArray(edges.Select(e => (JsonNode)e).ToArray()),
            ["counts"] = new JsonArray(counts.Select(c => (JsonNode)c).ToArray()),
            ["latents"] = density.Count,
        };
        AtomicFile.WriteAllText(pathWithoutExtension + ".json", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var chart = new HistogramChart(title, Low, Width, counts.Select(c => (long)c).ToArray())
        {
            Area = new PlotArea(640, 320, 50, 20, 30, 40),
            XLabel = "log10 feature density",
            AxisLabel = v => v.ToString("0.##", CultureInfo.InvariantCulture),
        };
        AtomicFile.WriteAllText(pathWithoutExtension + ".svg", chart.ToFile());
    }
}
