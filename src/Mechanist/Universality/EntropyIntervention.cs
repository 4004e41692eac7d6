using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Plots;

namespace Mechanist.Universality;

/// <summary>
/// UN24's entropy-neuron intervention (docs/METHODS.md §5.5): a neuron's post-activation fixed at −0.17, 0, 1, …, 6
/// at every position, and at each value the next-token loss, the entropy of the prediction, the median rank of the
/// true token and the final LayerNorm's scale (<c>ln_final.hook_scale</c>), averaged over every position but the
/// first of each window. The candidates are last-layer neurons that write much (large L2 penalty) but nearly
/// orthogonally to the unembedding (low vocab_kurt and vocab_var); the baseline is 20 random neurons of the last
/// two layers with L2 penalty ≤ its 90th percentile and vocab_var ≥ its 10th.
/// </summary>
public sealed class EntropyIntervention
{
    public static readonly double[] Values = [-0.17, 0, 1, 2, 3, 4, 5, 6];
    public const string CsvFile = "entropy-intervention.csv", PlotFile = "entropy-intervention.svg";

    /// <summary>One neuron at one fixed value (Unit −1 and Value NaN: the clean run).</summary>
    public sealed record Row(int Unit, string Kind, double Value, double Loss, double Entropy, double MedianRank, double Scale);

    EntropyIntervention(UnitLayout layout, List<Row> rows) { Layout = layout; Rows = rows; }

    public UnitLayout Layout { get; }
    public IReadOnlyList<Row> Rows { get; }
    public Row Clean => Rows[0];

    /// <summary>The <paramref name="count"/> last-layer neurons with the largest L2 penalty among those with vocab_kurt ≤ 10 and vocab_var at most the layer's median.</summary>
    public static int[] Candidates(NeuronStatistics stats, int count)
    {
        var layout = stats.Layout;
        var last = Enumerable.Range((layout.Layers - 1) * layout.Width, layout.Width).ToArray();
        double medianVar = last.Select(u => stats["vocab_var"][u]).Order().ElementAt(last.Length / 2);
        return last.Where(u => stats["vocab_kurt"][u] <= 10 && stats["vocab_var"][u] <= medianVar)
            .OrderByDescending(u => stats["l2_penalty"][u]).Take(count).ToArray();
    }

    /// <summary>UN24's control: <paramref name="count"/> seeded random neurons of the last two layers with L2 penalty ≤ p90 and vocab_var ≥ p10 (of those layers), none of <paramref name="exclude"/>.</summary>
    public static int[] RandomBaseline(NeuronStatistics stats, int count, ulong seed, IReadOnlyCollection<int> exclude)
    {
        var layout = stats.Layout;
        int first = Math.Max(0, layout.Layers - 2) * layout.Width;
        var pool = Enumerable.Range(first, layout.Units - first).ToArray();
        double p90 = Percentile(pool.Select(u => stats["l2_penalty"][u]), 0.9), p10 = Percentile(pool.Select(u => stats["vocab_var"][u]), 0.1);
        var eligible = pool.Where(u => stats["l2_penalty"][u] <= p90 && stats["vocab_var"][u] >= p10 && !exclude.Contains(u)).ToArray();
        new Rng(seed).Shuffle(eligible.AsSpan());
        return [.. eligible.Take(count).Order()];
    }

    static double Percentile(IEnumerable<double> values, double q)
    {
        var v = values.Where(double.IsFinite).Order().ToArray();
        return v.Length == 0 ? double.NaN : v[(int)Math.Min(v.Length - 1, Math.Floor(q * v.Length))];
    }

    /// <summary>Runs the clean model, then every neuron at every value, over the same windows ([windows·context] ids each).</summary>
    public static EntropyIntervention Run(Transformer<float> model, IReadOnlyList<(int[] Ids, int Windows)> batches, int context,
        IReadOnlyList<int> candidates, IReadOnlyList<int> random, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var c = model.Config;
        var layout = new UnitLayout(c.Layers, c.DMlp);
        var units = candidates.Select(u => (u, "candidate")).Concat(random.Select(u => (u, "random"))).ToList();
        var rows = new List<Row>();
        using var bar = (progress ?? IProgressReporter.None).Start("entropy-neuron intervention", (1 + units.Count * Values.Length) * batches.Count, "pass");
        rows.Add(Measure(model, batches, context, -1, "clean", double.NaN, bar, cancel));
        foreach (var (unit, kind) in units)
            foreach (double value in Values)
                rows.Add(Measure(model, batches, context, unit, kind, value, bar, cancel));
        return new EntropyIntervention(layout, rows);
    }

    static Row Measure(Transformer<float> model, IReadOnlyList<(int[] Ids, int Windows)> batches, int context, int unit, string kind, double value,
        IProgressTask bar, CancellationToken cancel)
    {
        var c = model.Config;
        double loss = 0, entropy = 0, scale = 0;
        var ranks = new List<int>();
        foreach (var (ids, windows) in batches)
        {
            cancel.ThrowIfCancellationRequested();
            var hooks = new Hooks<float>();
            if (unit >= 0) hooks.Ablate(HookPoint.MlpPost(unit / c.DMlp), [unit % c.DMlp], (float)value);
            Tensor? scales = null;
            hooks.Read(HookPoint.FinalScale, t => scales = t.Clone());
            Tensor logits;
            using (Autograd.Tape.NoGrad()) logits = model.Forward(ids, windows, context, hooks).Value;
            int vocab = c.Vocab;
            for (int w = 0; w < windows; w++)
                for (int p = 1; p < context - 1; p++)
                {
                    int i = w * context + p;
                    var (l, h, r) = Predict(logits.Row(i)[..vocab], ids[i + 1]);
                    loss += l; entropy += h; ranks.Add(r); scale += scales![i];
                }
            bar.Advance(1);
        }
        int n = Math.Max(1, ranks.Count);
        ranks.Sort();
        return new Row(unit, kind, value, loss / n, entropy / n, ranks.Count == 0 ? double.NaN : ranks[ranks.Count / 2], scale / n);
    }

    /// <summary>Cross-entropy of the target, entropy of the softmax, and the target's 1-based rank, from one position's logits.</summary>
    internal static (double Loss, double Entropy, int Rank) Predict(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double z = 0, weighted = 0;
        foreach (float x in logits) { double e = Math.Exp(x - max); z += e; weighted += e * (x - max); }
        double logZ = Math.Log(z);
        int rank = 1;
        float t = logits[target];
        foreach (float x in logits) if (x > t) rank++;
        return (logZ - (t - max), logZ - weighted / z, rank);
    }

    /// <summary>The row of <paramref name="unit"/> at <paramref name="value"/>.</summary>
    public Row At(int unit, double value) => Rows.First(r => r.Unit == unit && r.Value == value);

    public IEnumerable<int> Units(string kind) => Rows.Where(r => r.Kind == kind).Select(r => r.Unit).Distinct();

    /// <summary>
    /// "entropy" when fixing the neuron at 6 raises the entropy more than any random neuron does, "anti-entropy" when it
    /// lowers it more than any random neuron; null otherwise (or for random neurons).
    /// </summary>
    public string? RoleOf(int unit)
    {
        if (!Units("candidate").Contains(unit)) return null;
        double top = Values[^1], change = At(unit, top).Entropy - Clean.Entropy;
        var random = Units("random").Select(u => At(u, top).Entropy - Clean.Entropy).ToArray();
        if (random.Length == 0) return null;
        return change > random.Max() ? "entropy" : change < random.Min() ? "anti-entropy" : null;
    }

    public string ToCsv()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("layer,neuron,kind,value,loss,entropy,median_true_rank,ln_final_scale\n");
        foreach (var r in Rows)
        {
            string where = r.Unit < 0 ? "," : $"{Layout.LayerOf(r.Unit)},{Layout.NeuronOf(r.Unit)}";
            sb.Append(string.Create(inv, $"{where},{r.Kind},{(double.IsNaN(r.Value) ? "" : r.Value.ToString("0.##", inv))},{r.Loss:0.######},{r.Entropy:0.######},{r.MedianRank},{r.Scale:0.######}\n"));
        }
        return sb.ToString();
    }

    /// <summary>Change of the prediction's entropy against the fixed value: each candidate in colour, the random neurons in grey (or only <paramref name="unit"/> against them).</summary>
    public string Plot(int? unit = null)
    {
        string[] colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
        var series = new List<LineSeries>();
        LineSeries Line(int u, string name, string colour) =>
            new(name, colour, Values.Select(v => (v, At(u, v).Entropy - Clean.Entropy)).ToList());
        var candidates = unit is int only ? [only] : Units("candidate").ToArray();
        for (int i = 0; i < candidates.Length; i++) series.Add(Line(candidates[i], Layout.Name(candidates[i]), colours[i % colours.Length]));
        bool first = true;
        foreach (int u in Units("random"))
        {
            series.Add(Line(u, first ? "random neurons" : "", "#bbbbbb"));
            first = false;
        }
        return new LineChart("Entropy neurons: fixed activation against the prediction's entropy", "activation fixed at", "entropy change (nats)", series).ToFile();
    }

    public JsonObject Summary()
    {
        double top = Values[^1];
        var random = Units("random").Select(u => At(u, top).Entropy - Clean.Entropy).Order().ToArray();
        return new JsonObject
        {
            ["clean"] = new JsonObject { ["loss"] = Clean.Loss, ["entropy"] = Clean.Entropy, ["median_true_rank"] = Clean.MedianRank, ["ln_final_scale"] = Clean.Scale },
            ["candidates"] = new JsonArray(Units("candidate").Select(u => (JsonNode)new JsonObject
            {
                ["neuron"] = Layout.Name(u),
                ["entropy_change_at_6"] = At(u, top).Entropy - Clean.Entropy,
                ["loss_change_at_6"] = At(u, top).Loss - Clean.Loss,
                ["ln_final_scale_at_6"] = At(u, top).Scale,
                ["role"] = RoleOf(u),
            }).ToArray()),
            ["random_entropy_change_at_6"] = random.Length == 0 ? null : new JsonObject { ["min"] = random[0], ["median"] = random[random.Length / 2], ["max"] = random[^1] },
        };
    }
}
