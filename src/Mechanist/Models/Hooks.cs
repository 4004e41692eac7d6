using System.Numerics;
using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>
/// What to do at hook points (<see cref="HookPoint"/>, TransformerLens's names, docs/METHODS.md §1.3) during a forward
/// pass: read an activation, replace it (splice an SAE reconstruction, ablate, patch) or add to it (steer).
/// A forward pass without hooks pays one null check per hook point.
/// <code>
/// var hooks = new Hooks&lt;float&gt;()
///     .Replace(HookPoint.MlpPost(0), acts => sae.Reconstruct(acts.Reshape(-1, sae.DIn)).Reshape(acts.Shape))
///     .Read(HookPoint.ResidPre(0), x => ...);
/// </code>
/// Activations are passed in their hook shape ([b, p, d], [b, p, h, d_head], [b, h, q, k]); replacements
/// must keep it. Hooks run in the order they were added. attn.hook_pattern accepts Read only. ln*.hook_scale
/// (σ per position, [b, p, 1]) may be replaced: the norm then divides by the given σ, with no gradient through it
/// (frozen normalisation for circuit pruning, docs/METHODS.md §6.5). The pass checks that the model has every
/// hooked point before it starts.
/// <para>
/// In a cached pass (generation, <see cref="KvCache{T}"/>) hooks see what TransformerLens's do: per-position
/// points get the new positions only ([b, new, ...]); the keys and values that leave hook_k and hook_v (edits
/// included) are what the cache keeps for later steps; hook_pattern is [b, h, new, all positions so far].
/// </para>
/// </summary>
public sealed class Hooks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Dictionary<HookPoint, List<Func<Var<T>, Var<T>>>> _byPoint = [];

    public bool Has(HookPoint point) => _byPoint.ContainsKey(point);
    public IEnumerable<HookPoint> Points => _byPoint.Keys;

    /// <summary>The most general hook: a differentiable function of the activation (gradients flow through it).</summary>
    public Hooks<T> Apply(HookPoint point, Func<Var<T>, Var<T>> hook)
    {
        if (!_byPoint.TryGetValue(point, out var list)) _byPoint[point] = list = [];
        list.Add(hook);
        return this;
    }

    /// <summary>Sees the activation (do not modify it; clone it to keep a copy beyond the pass).</summary>
    public Hooks<T> Read(HookPoint point, Action<Tensor<T>> read) => Apply(point, v => { read(v.Value); return v; });

    /// <summary>Replaces the activation with a tensor of the same shape; no gradient flows into the replaced value.</summary>
    public Hooks<T> Replace(HookPoint point, Func<Tensor<T>, Tensor<T>> replace) => Apply(point, v =>
    {
        var r = replace(v.Value);
        if (!r.SameShape(v.Value)) throw new ArgumentException($"hook {point}: replacement {r.ShapeString} does not match {v.Value.ShapeString}");
        return Ops.Constant(r);
    });

    /// <summary>Adds a vector to every position (steering), broadcast over the leading axes; differentiable.</summary>
    public Hooks<T> Add(HookPoint point, Tensor<T> delta) => Apply(point, v => Ops.Add(v, Ops.Constant(delta)));

    /// <summary>Sets the given columns (neurons, or features of a spliced dictionary) to a constant at every position.</summary>
    public Hooks<T> Ablate(HookPoint point, IReadOnlyList<int> columns, T value = default) => Replace(point, x =>
    {
        var y = x.Clone();
        int d = y.Columns, rows = y.RowCount;
        foreach (int c in columns)
            if ((uint)c >= (uint)d) throw new UserError($"{point} has {d} values per position; {c} is out of range");
        for (int r = 0; r < rows; r++) foreach (int c in columns) y[r * d + c] = value;
        return y;
    });

    internal Var<T> Run(HookPoint point, Var<T> x)
    {
        if (!_byPoint.TryGetValue(point, out var list)) return x;
        foreach (var hook in list) x = hook(x);
        return x;
    }
}
