using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Mechanist.Universality;

/// <summary>
/// The universality test of METHODS.md §5.3 per model-0 neuron: max_corr_s against each other seed s, their
/// mean, the baseline (the mean over seeds of the first baseline's max), excess_corr = mean − baseline, and
/// universal when excess_corr &gt; the threshold (0.5). Written as <c>universal.csv</c>.
/// </summary>
public sealed class UniversalTable
{
    UniversalTable(CorrelationResult result)
    {
        Result = result;
        int n = result.Layouts[0].Units, seeds = result.Models - 1;
        MaxCorr = Enumerable.Range(1, seeds).Select(s => result.For(s, null).Max).ToArray();
        MeanMaxCorr = new double[n];
        Baselines = result.Options.Baselines.ToDictionary(b => b, _ => new double[n]);
        for (int i = 0; i < n; i++)
        {
            MeanMaxCorr[i] = Enumerable.Range(0, seeds).Average(s => (double)MaxCorr[s][i]);
            foreach (var (b, values) in Baselines)
                values[i] = Enumerable.Range(1, seeds).Average(s => (double)result.For(s, b).Max[i]);
        }
        Baseline = result.Options.Baselines.Count > 0 ? Baselines[result.Options.Baselines[0]] : Enumerable.Repeat(double.NaN, n).ToArray();
        Excess = MeanMaxCorr.Zip(Baseline, (m, b) => m - b).ToArray();
        IsUniversal = Excess.Select(e => e > result.Options.Threshold).ToArray();
    }

    public CorrelationResult Result { get; }

    /// <summary>[seed − 1][neuron]: best correlation with any neuron of seed s.</summary>
    public float[][] MaxCorr { get; }
    public double[] MeanMaxCorr { get; }
    /// <summary>The first baseline's mean max (NaN without baselines).</summary>
    public double[] Baseline { get; }
    public Dictionary<CorrelationBaseline, double[]> Baselines { get; }
    public double[] Excess { get; }
    public bool[] IsUniversal { get; }

    public static UniversalTable From(CorrelationResult result) => new(result);

    /// <summary>The columns the issue fixes, in order; then each baseline's mean max and each seed's best match.</summary>
    public IReadOnlyList<string> Header()
    {
        int seeds = Result.Models - 1;
        var h = new List<string> { "layer", "neuron" };
        h.AddRange(Enumerable.Range(1, seeds).Select(s => $"max_corr_{s}"));
        h.AddRange(["mean_max_corr", "baseline", "excess_corr", "is_universal"]);
        h.AddRange(Result.Options.Baselines.Select(b => $"baseline_{b.Name()}"));
        h.AddRange(Enumerable.Range(1, seeds).Select(s => $"match_{s}"));
        return h;
    }

    /// <summary>Row i's fields (same order as <see cref="Header"/>).</summary>
    public IEnumerable<string> Row(int i)
    {
        var layout = Result.Layouts[0];
        yield return layout.LayerOf(i).ToString(CultureInfo.InvariantCulture);
        yield return layout.NeuronOf(i).ToString(CultureInfo.InvariantCulture);
        foreach (var m in MaxCorr) yield return Number(m[i]);
        yield return Number(MeanMaxCorr[i]);
        yield return Number(Baseline[i]);
        yield return Number(Excess[i]);
        yield return IsUniversal[i] ? "true" : "false";
        foreach (var b in Result.Options.Baselines) yield return Number(Baselines[b][i]);
        for (int s = 1; s < Result.Models; s++) yield return Result.Layouts[s].Name(Result.For(s, null).ArgMax[i]);
    }

    public static string Number(double v) => double.IsNaN(v) ? "nan" : v.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>The CSV text, with <paramref name="extraHeader"/>/<paramref name="extra"/> columns appended per row (statistics).</summary>
    public string ToCsv(IReadOnlyList<string>? extraHeader = null, Func<int, IEnumerable<string>>? extra = null)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', Header().Concat(extraHeader ?? [])).Append('\n');
        for (int i = 0; i < Result.Layouts[0].Units; i++)
            sb.AppendJoin(',', Row(i).Concat(extra?.Invoke(i) ?? [])).Append('\n');
        return sb.ToString();
    }

    /// <summary>Universal share per layer and overall, with the medians of the correlations.</summary>
    public JsonObject Summary()
    {
        var layout = Result.Layouts[0];
        var perLayer = new JsonArray();
        for (int l = 0; l < layout.Layers; l++)
        {
            int count = Enumerable.Range(l * layout.Width, layout.Width).Count(i => IsUniversal[i]);
            perLayer.Add(new JsonObject { ["layer"] = l, ["universal"] = count, ["neurons"] = layout.Width, ["share"] = count / (double)layout.Width });
        }
        int total = IsUniversal.Count(u => u);
        return new JsonObject
        {
            ["neurons"] = layout.Units,
            ["seeds"] = Result.Models,
            ["tokens"] = Result.Tokens,
            ["baseline"] = Result.Options.Baselines.Count > 0 ? Result.Options.Baselines[0].Name() : "none",
            ["threshold"] = Result.Options.Threshold,
            ["universal"] = total,
            ["universal_share"] = total / (double)layout.Units,
            ["median_mean_max_corr"] = Median(MeanMaxCorr),
            ["median_baseline"] = Median(Baseline),
            ["median_excess_corr"] = Median(Excess),
            ["per_layer"] = perLayer,
            ["gemm_gflops"] = double.IsNaN(Result.GemmGflops) ? null : Result.GemmGflops,
            ["plan"] = Result.Plan.ToString(),
        };
    }

    static double? Median(double[] values)
    {
        var v = values.Where(x => !double.IsNaN(x)).Order().ToArray();
        return v.Length == 0 ? null : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
