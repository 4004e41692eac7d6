using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Explain;
using Mechanist.Models;

namespace Mechanist.Universality;

/// <summary>
/// UN24's attention-deactivation neurons (docs/METHODS.md §5.5). <b>Heuristic</b>: for neuron n and head H of a
/// later layer, h = (w_out·W_Q^H)·k_BOS^H/√d_head, how much the neuron's output raises H's query against the key
/// at the first position (our models have no BOS token; position 0 plays it, §5.1), with w_out scaled by that
/// layer's ln_1 gain and centred as the LayerNorm would (its 1/σ is left out). z divides h by its standard
/// deviation over random directions of w_out's norm, ‖w_out‖·‖g‖/√d exactly for g = the vector h is w_out's dot with.
/// <b>Path ablation</b> of a (neuron, head) pair: from a quarter of the window on, the neuron's contribution
/// activation × w_out is subtracted from the residual stream entering H's layer, with H's keys and values
/// restored from the clean run so only the query changes; per position the change of H's output norm
/// ‖z_H·W_O^H‖ and of its attention to position 0, and their correlation with the neuron's activation.
/// </summary>
public sealed class AttentionDeactivation
{
    public const string CsvFile = "attention-deactivation.csv";
    /// <summary>A pair is called attention deactivation when its norm change follows the activation this closely (Pearson) and removing the neuron lowers the attention to position 0.</summary>
    public const double RoleCorrelation = 0.5;

    public sealed record Pair(int Unit, int HeadLayer, int Head, double Score, double Z);

    public sealed record Ablation(Pair Pair, long Positions, double NormClean, double NormChange, double BosClean, double BosChange, double Pearson, double Spearman);

    AttentionDeactivation(UnitLayout layout, Pair?[] best, List<Ablation> ablations) { Layout = layout; Best = best; Ablations = ablations; }

    public UnitLayout Layout { get; }
    /// <summary>Per neuron, the later head with the highest z (null in the last layer).</summary>
    public IReadOnlyList<Pair?> Best { get; }
    public IReadOnlyList<Ablation> Ablations { get; }

    /// <summary>The heuristic for every neuron and later head, then the path ablation of the <paramref name="ablations"/> pairs with the highest z.</summary>
    public static AttentionDeactivation Run(Transformer<float> model, IReadOnlyList<(int[] Ids, int Windows)> batches, int context, int ablations,
        IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var c = model.Config;
        var best = Heuristic(model, BosKeys(model, batches, context));
        var top = best.OfType<Pair>().OrderByDescending(p => p.Z).Take(ablations).ToList();
        using var bar = (progress ?? IProgressReporter.None).Start("attention-deactivation path ablation", top.Count * batches.Count, "pass");
        var done = top.Select(p => Ablate(model, batches, context, p, bar, cancel)).ToList();
        return new AttentionDeactivation(new UnitLayout(c.Layers, c.DMlp), best, done);
    }

    /// <summary>Per layer, each head's key at position 0 averaged over the windows ([heads·d_head]).</summary>
    public static float[][] BosKeys(Transformer<float> model, IReadOnlyList<(int[] Ids, int Windows)> batches, int context)
    {
        var c = model.Config;
        var sums = Enumerable.Range(0, c.Layers).Select(_ => new double[c.DModel]).ToArray();
        long windowsSeen = 0;
        foreach (var (ids, windows) in batches)
        {
            var hooks = new Hooks<float>();
            for (int l = 0; l < c.Layers; l++)
            {
                int layer = l;
                hooks.Read(HookPoint.K(l), k =>
                {
                    for (int w = 0; w < windows; w++)
                        for (int j = 0; j < c.DModel; j++) sums[layer][j] += k[w * context * c.DModel + j];
                });
            }
            using (Autograd.Tape.NoGrad()) model.RunToHook(ids, windows, context, HookPoint.K(c.Layers - 1), hooks);
            windowsSeen += windows;
        }
        return sums.Select(s => s.Select(x => (float)(x / Math.Max(1, windowsSeen))).ToArray()).ToArray();
    }

    /// <summary>Per neuron the later head with the highest z of h = w_out·g_H, g_H = centred(γ ⊙ W_Q^H·k_BOS^H)/√d_head.</summary>
    public static Pair?[] Heuristic(Transformer<float> model, float[][] bosKeys)
    {
        var c = model.Config;
        int d = c.DModel, dh = c.DHead;
        var best = new Pair?[c.Layers * c.DMlp];
        for (int hl = 1; hl < c.Layers; hl++)
        {
            var wq = model.Blocks[hl].AttnWeight.Value; // [d, 3d]; head H's query columns are [H·dh, (H+1)·dh)
            var gain = model.Blocks[hl].Ln1Gain.Value;
            for (int head = 0; head < c.Heads; head++)
            {
                var g = new double[d];
                for (int i = 0; i < d; i++)
                {
                    double s = 0;
                    for (int j = 0; j < dh; j++) s += wq[i * 3 * d + head * dh + j] * (double)bosKeys[hl][head * dh + j];
                    g[i] = gain[i] * s / Math.Sqrt(dh);
                }
                double mean = g.Average(), gNorm = 0;
                for (int i = 0; i < d; i++) { g[i] -= mean; gNorm += g[i] * g[i]; }
                gNorm = Math.Sqrt(gNorm);
                for (int l = 0; l < hl; l++)
                {
                    var wout = model.Blocks[l].MlpOutWeight!.Value;
                    for (int n = 0; n < c.DMlp; n++)
                    {
                        double h = 0, norm = 0;
                        for (int i = 0; i < d; i++) { double w = wout[n * d + i]; h += w * g[i]; norm += w * w; }
                        double z = norm > 0 && gNorm > 0 ? h * Math.Sqrt(d) / (Math.Sqrt(norm) * gNorm) : 0;
                        int unit = l * c.DMlp + n;
                        if (best[unit] == null || z > best[unit]!.Z) best[unit] = new Pair(unit, hl, head, h, z);
                    }
                }
            }
        }
        return best;
    }

    /// <summary>The path ablation of one pair over the windows (positions from context/4 on).</summary>
    public static Ablation Ablate(Transformer<float> model, IReadOnlyList<(int[] Ids, int Windows)> batches, int context, Pair pair,
        IProgressTask? bar = null, CancellationToken cancel = default)
    {
        var c = model.Config;
        int d = c.DModel, dh = c.DHead, heads = c.Heads, layer = pair.Unit / c.DMlp, neuron = pair.Unit % c.DMlp, hl = pair.HeadLayer;
        int start = context / 4;
        var wout = model.Blocks[layer].MlpOutWeight!.Value.Row(neuron).ToArray();
        var wo = model.Blocks[hl].AttnOutWeight.Value;
        var acts = new List<double>();
        var normChange = new List<double>();
        double normClean = 0, bosClean = 0, bosChange = 0;
        foreach (var (ids, windows) in batches)
        {
            cancel.ThrowIfCancellationRequested();
            Tensor? a = null, k = null, v = null, pattern = null, ablatedPattern = null;
            var clean = new Hooks<float>()
                .Read(HookPoint.MlpPost(layer), t => a = t.Clone())
                .Read(HookPoint.K(hl), t => k = t.Clone())
                .Read(HookPoint.V(hl), t => v = t.Clone())
                .Read(HookPoint.Pattern(hl), t => pattern = t.Clone());
            Tensor zClean, zAblated;
            using (Autograd.Tape.NoGrad()) zClean = model.RunToHook(ids, windows, context, HookPoint.Z(hl), clean).Clone();
            var ablated = new Hooks<float>()
                .Replace(HookPoint.ResidPre(hl), x =>
                {
                    var y = x.Clone();
                    for (int w = 0; w < windows; w++)
                        for (int p = start; p < context; p++)
                        {
                            int i = w * context + p;
                            float act = a![i * c.DMlp + neuron];
                            var row = y.Row(i);
                            for (int j = 0; j < d; j++) row[j] -= act * wout[j];
                        }
                    return y;
                })
                .Replace(HookPoint.K(hl), _ => k!)
                .Replace(HookPoint.V(hl), _ => v!)
                .Read(HookPoint.Pattern(hl), t => ablatedPattern = t.Clone());
            using (Autograd.Tape.NoGrad()) zAblated = model.RunToHook(ids, windows, context, HookPoint.Z(hl), ablated);
            for (int w = 0; w < windows; w++)
                for (int p = start; p < context; p++)
                {
                    int i = w * context + p;
                    double before = HeadNorm(zClean, wo, i, pair.Head, heads, dh, d), after = HeadNorm(zAblated, wo, i, pair.Head, heads, dh, d);
                    long at = (((long)w * heads + pair.Head) * context + p) * context;
                    normClean += before; bosClean += pattern![(int)at];
                    bosChange += ablatedPattern![(int)at] - pattern[(int)at];
                    acts.Add(a![i * c.DMlp + neuron]);
                    normChange.Add(after - before);
                }
            bar?.Advance(1);
        }
        int n = Math.Max(1, acts.Count);
        return new Ablation(pair, acts.Count, normClean / n, normChange.Sum() / n, bosClean / n, bosChange / n,
            Correlation.Pearson([.. acts], [.. normChange]), Correlation.Spearman([.. acts], [.. normChange]));
    }

    /// <summary>‖z_H·W_O^H‖ at flat position i (z: [b, p, heads, d_head]; W_O: [d, d], head H's rows [H·dh, (H+1)·dh)).</summary>
    static double HeadNorm(Tensor z, Tensor wo, int i, int head, int heads, int dh, int d)
    {
        double s = 0;
        for (int col = 0; col < d; col++)
        {
            double o = 0;
            for (int j = 0; j < dh; j++) o += z[(i * heads + head) * dh + j] * (double)wo[(head * dh + j) * d + col];
            s += o * o;
        }
        return Math.Sqrt(s);
    }

    /// <summary>"attention_deactivation" for a neuron with an ablated pair whose norm change follows its activation (Pearson ≥ 0.5) and whose removal lowers the attention to position 0.</summary>
    public string? RoleOf(int unit) =>
        Ablations.Any(a => a.Pair.Unit == unit && a.Pearson >= RoleCorrelation && a.BosChange < 0) ? "attention_deactivation" : null;

    public string ToCsv()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("layer,neuron,head_layer,head,score,z,positions,norm_clean,norm_change,bos_attention_clean,bos_attention_change,pearson,spearman\n");
        foreach (var a in Ablations)
        {
            var p = a.Pair;
            sb.Append(string.Create(inv, $"{Layout.LayerOf(p.Unit)},{Layout.NeuronOf(p.Unit)},{p.HeadLayer},{p.Head},{p.Score:0.######},{p.Z:0.###},{a.Positions},") +
                string.Create(inv, $"{a.NormClean:0.######},{a.NormChange:0.######},{a.BosClean:0.######},{a.BosChange:0.######},{a.Pearson:0.####},{a.Spearman:0.####}\n"));
        }
        return sb.ToString();
    }

    public JsonObject Summary() => new()
    {
        ["pairs_with_z_above_3"] = Best.Count(p => p is { Z: > 3 }),
        ["ablated"] = new JsonArray(Ablations.Select(a => (JsonNode)new JsonObject
        {
            ["neuron"] = Layout.Name(a.Pair.Unit), ["head"] = $"L{a.Pair.HeadLayer}.H{a.Pair.Head}", ["z"] = a.Pair.Z,
            ["norm_change"] = a.NormChange, ["bos_attention_change"] = a.BosChange, ["pearson"] = a.Pearson, ["spearman"] = a.Spearman,
            ["role"] = RoleOf(a.Pair.Unit),
        }).ToArray()),
    };
}
