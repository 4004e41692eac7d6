using System.Numerics;
using Mechanist.Autograd;
using Mechanist.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Mechanist.Models;

/// <summary>
/// What to do at named hook points (TransformerLens names, METHODS.md §1.3) during one forward pass:
/// read an activation, replace it (splice an SAE reconstruction, ablate, patch) or add to it (steer).
/// A forward pass without hooks pays one null check per hook point.
/// <code>
/// var hooks = new Hooks&lt;float&gt;()
///     .Replace("blocks.0.mlp.hook_post", acts => sae.Reconstruct(acts))   // [b·p, d_mlp] rows
///     .Read("blocks.0.hook_resid_pre", x => ...);
/// </code>
/// Activations are passed in their hook shape ([b, p, d], [b, p, h, d_head], [b, h, q, k]); replacements
/// must keep it. Hooks run in the order they were added. Read-only points (attn.hook_pattern,
/// ln*.hook_scale) accept Read only.
/// </summary>
public sealed class Hooks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Dictionary<string, List<Func<Var<T>, Var<T>>>> _byName = new(StringComparer.Ordinal);

    public bool Has(string name) => _byName.ContainsKey(name);
    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>The most general hook: a differentiable function of the activation (gradients flow through it).</summary>
    public Hooks<T> Apply(string name, Func<Var<T>, Var<T>> hook)
    {
        HookNames.Check(name);
        if (!_byName.TryGetValue(name, out var list)) _byName[name] = list = [];
        list.Add(hook);
        return this;
    }

    /// <summary>Sees the activation (do not modify it; clone it to keep a copy beyond the pass).</summary>
    public Hooks<T> Read(string name, Action<Tensor<T>> read) => Apply(name, v => { read(v.Value); return v; });

    /// <summary>Replaces the activation with a tensor of the same shape; no gradient flows into the replaced value.</summary>
    public Hooks<T> Replace(string name, Func<Tensor<T>, Tensor<T>> replace) => Apply(name, v =>
    {
        var r = replace(v.Value);
        if (!r.SameShape(v.Value)) throw new ArgumentException($"hook {name}: replacement {r.ShapeString} does not match {v.Value.ShapeString}");
        return Ops.Constant(r);
    });

    /// <summary>Adds a vector to every position (steering), broadcast over the leading axes; differentiable.</summary>
    public Hooks<T> Add(string name, Tensor<T> delta) => Apply(name, v => Ops.Add(v, Ops.Constant(delta)));

    /// <summary>Sets the given columns (neurons, or features of a spliced dictionary) to a constant at every position.</summary>
    public Hooks<T> Ablate(string name, IReadOnlyList<int> columns, T value = default) => Replace(name, x =>
    {
        var y = x.Clone();
        int d = y.Columns, rows = y.RowCount;
        for (int r = 0; r < rows; r++) foreach (int c in columns) y[r * d + c] = value;
        return y;
    });

    internal Var<T> Run(string name, Var<T> x)
    {
        if (!_byName.TryGetValue(name, out var list)) return x;
        foreach (var hook in list) x = hook(x);
        return x;
    }
}

/// <summary>The hook point names a <see cref="Transformer{T}"/> offers.</summary>
public static class HookNames
{
    public const string Embed = "hook_embed";
    public const string PosEmbed = "hook_pos_embed";
    public const string FinalNormalized = "ln_final.hook_normalized";
    public const string FinalScale = "ln_final.hook_scale";

    public static string ResidPre(int layer) => $"blocks.{layer}.hook_resid_pre";
    public static string ResidMid(int layer) => $"blocks.{layer}.hook_resid_mid";
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";
    public static string AttnOut(int layer) => $"blocks.{layer}.hook_attn_out";
    public static string MlpOut(int layer) => $"blocks.{layer}.hook_mlp_out";
    public static string MlpPre(int layer) => $"blocks.{layer}.mlp.hook_pre";
    public static string MlpPost(int layer) => $"blocks.{layer}.mlp.hook_post";
    public static string Q(int layer) => $"blocks.{layer}.attn.hook_q";
    public static string K(int layer) => $"blocks.{layer}.attn.hook_k";
    public static string V(int layer) => $"blocks.{layer}.attn.hook_v";
    public static string Z(int layer) => $"blocks.{layer}.attn.hook_z";
    public static string Pattern(int layer) => $"blocks.{layer}.attn.hook_pattern";
    public static string Normalized(int layer, int ln) => $"blocks.{layer}.ln{ln}.hook_normalized";
    public static string Scale(int layer, int ln) => $"blocks.{layer}.ln{ln}.hook_scale";

    /// <summary>Every hook point of a model with this config, in the order a forward pass reaches them.</summary>
    public static IEnumerable<string> All(TransformerConfig config)
    {
        yield return Embed;
        yield return PosEmbed;
        for (int i = 0; i < config.Layers; i++)
        {
            yield return ResidPre(i);
            yield return Scale(i, 1);
            yield return Normalized(i, 1);
            yield return Q(i); yield return K(i); yield return V(i);
            yield return Pattern(i);
            yield return Z(i);
            yield return AttnOut(i);
            if (config.AttentionOnly) { yield return ResidPost(i); continue; }
            yield return ResidMid(i);
            yield return Scale(i, 2);
            yield return Normalized(i, 2);
            yield return MlpPre(i); yield return MlpPost(i);
            yield return MlpOut(i);
            yield return ResidPost(i);
        }
        yield return FinalScale;
        yield return FinalNormalized;
    }

    static readonly System.Text.RegularExpressions.Regex Pattern_ = new(
        @"^(hook_embed|hook_pos_embed|ln_final\.hook_(normalized|scale)|blocks\.\d+\.(hook_(resid_pre|resid_mid|resid_post|attn_out|mlp_out)|ln[12]\.hook_(normalized|scale)|attn\.hook_(q|k|v|z|pattern)|mlp\.hook_(pre|post)))$");

    /// <summary>Throws an ArgumentException naming the valid forms when <paramref name="name"/> is not a hook point.</summary>
    public static void Check(string name)
    {
        if (!Pattern_.IsMatch(name))
            throw new UserError($"'{name}' is not a hook point (e.g. blocks.0.mlp.hook_post, blocks.0.hook_resid_pre, ln_final.hook_normalized; see METHODS.md §1.3)");
    }

    /// <summary>The d of a hook's last axis for this config, and whether it is a per-head [b, p, h, d_head] point.</summary>
    public static int Width(TransformerConfig c, string name)
    {
        Check(name);
        if (name.EndsWith("hook_scale")) return 1;
        if (name.EndsWith("attn.hook_pattern")) return c.Context;
        if (name.EndsWith("mlp.hook_pre") || name.EndsWith("mlp.hook_post")) return c.DMlp;
        if (name.Contains("attn.hook_")) return c.DHead;
        return c.DModel;
    }
}

/// <summary>Small tensor helpers for hook callbacks.</summary>
public static class HookTensors
{
    /// <summary>x + s·delta in place, broadcast over rows (steering by a scaled direction).</summary>
    public static void AddScaled(Tensor x, ReadOnlySpan<float> delta, float s)
    {
        for (int r = 0; r < x.RowCount; r++) TensorPrimitives.MultiplyAdd(delta, s, x.Row(r), x.Row(r));
    }
}
