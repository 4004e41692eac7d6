using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Circuits;

/// <summary>
/// A model with a gate on every circuit node (docs/METHODS.md §6.5), through the forward pass's differentiable hooks:
/// at each site, x ↦ μ + (x − μ)·m with m the site's gates (1 keeps a channel, 0 replaces it by its ablation value
/// μ). With frozen norms every norm divides by the σ the unpruned model had on the same prompts (ln*.hook_scale
/// replaced), so ablating channels cannot rescale the others.
/// </summary>
public sealed class GatedModel
{
    readonly Dictionary<HookPoint, (Tensor<float> Mean, Tensor<float> NegativeMean)> _means = [];

    public GatedModel(Transformer<float> model, AblationMeans means)
    {
        Model = model;
        Nodes = new CircuitNodes(model.Config);
        Means = means;
        foreach (var site in Nodes.Sites)
        {
            var mean = Tensor<float>.FromArray(means.Of(site), ShapeOf(site));
            var negative = mean.Clone();
            for (int i = 0; i < negative.Length; i++) negative[i] = -negative[i];
            _means[site.Point] = (mean, negative);
        }
    }

    public Transformer<float> Model { get; }
    public CircuitNodes Nodes { get; }
    public AblationMeans Means { get; }

    /// <summary>Per-head sites gate [heads, d_head]; the others their width.</summary>
    int[] ShapeOf(NodeSite site) => site.Point.IsPerHead ? [Model.Config.Heads, Model.Config.DHead] : [site.Width];

    /// <summary>
    /// Each prompt's logits at its last token [prompts, vocab], with the gates <paramref name="gates"/> ([nodes]; 1 keeps,
    /// 0 ablates; differentiable) or without any (null: the unpruned model).
    /// </summary>
    public Var<float> LastLogits(TaskPrompts prompts, Var<float>? gates, bool freezeNorms)
    {
        int n = prompts.Count, seq = prompts.Tokens.Max(t => t.Length);
        var tokens = new int[n * seq]; // right-padded with token 0: causal attention keeps padding out of each prompt's last position
        var last = new int[n];
        for (int i = 0; i < n; i++)
        {
            prompts.Tokens[i].CopyTo(tokens, i * seq);
            last[i] = i * seq + prompts.Tokens[i].Length - 1;
        }
        var hooks = new Hooks<float>();
        if (gates != null)
        {
            if (freezeNorms) FreezeNorms(hooks, tokens, n, seq);
            foreach (var site in Nodes.Sites)
            {
                var gate = Ops.Reshape(Ops.Columns(gates, site.Offset, site.Width), ShapeOf(site));
                var (mean, negative) = _means[site.Point];
                hooks.Apply(site.Point, x => Ops.Add(Ops.Mul(Ops.Add(x, Ops.Constant(negative)), gate), Ops.Constant(mean)));
            }
        }
        var logits = Model.Forward(tokens, n, seq, hooks);
        return Ops.Embedding(Ops.Reshape(logits, n * seq, Model.Config.Vocab), last, n);
    }

    /// <summary>Runs the unpruned model once on the batch and replaces every norm's σ by what it saw.</summary>
    void FreezeNorms(Hooks<float> hooks, int[] tokens, int n, int seq)
    {
        var points = Nodes.ScalePoints().ToList();
        Dictionary<HookPoint, Tensor<float>> scales;
        using (Tape.NoGrad()) scales = Model.RunWithCache(tokens, n, seq, points).Cache;
        foreach (var point in points) hooks.Replace(point, _ => scales[point]);
    }

    /// <summary>Gates as a constant: 1 for kept nodes.</summary>
    public static Var<float> Constant(bool[] keep)
    {
        var t = new Tensor<float>(keep.Length);
        for (int i = 0; i < keep.Length; i++) t[i] = keep[i] ? 1 : 0;
        return Ops.Constant(t);
    }

    /// <summary>Contrast loss (per prompt), accuracy and each prompt's logit difference right − wrong, without gradients.</summary>
    public TaskScore Score(TaskPrompts prompts, bool[]? keep, bool freezeNorms, int batch = 64)
    {
        using var _ = Tape.NoGrad();
        double loss = 0;
        var margins = new float[prompts.Count];
        var right = prompts.Right;
        var wrong = prompts.Wrong;
        var gates = keep == null ? null : Constant(keep);
        for (int start = 0; start < prompts.Count; start += batch)
        {
            int b = Math.Min(batch, prompts.Count - start);
            var logits = LastLogits(prompts.Slice(start, b), gates, freezeNorms);
            loss += Ops.ContrastLoss(logits, right[start..(start + b)], wrong[start..(start + b)]).Value[0] * b;
            int v = logits.Value.Columns;
            for (int i = 0; i < b; i++)
                margins[start + i] = logits.Value[i * v + right[start + i]] - logits.Value[i * v + wrong[start + i]];
        }
        return new TaskScore(loss / prompts.Count, margins.Count(m => m > 0) / (double)prompts.Count, margins);
    }
}
