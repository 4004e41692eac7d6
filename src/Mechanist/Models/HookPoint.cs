using System.Globalization;

namespace Mechanist.Models;

/// <summary>
/// One of TransformerLens's hook points (docs/METHODS.md §1.3): a <see cref="HookSite"/> and, for the points inside a
/// block, its layer (−1 for hook_embed, hook_pos_embed and ln_final.*). <see cref="Parse"/> is the only reader of a
/// hook name and <see cref="Name"/> the only writer: names are strings only at the edges (command-line options,
/// <c>hook_name</c> in an SAE's cfg.json, manifests). Which points a model has is its config's business
/// (<see cref="TransformerConfig.HookPoints"/>, <see cref="TransformerConfig.Check(HookPoint)"/>).
/// </summary>
public readonly record struct HookPoint
{
    HookPoint(HookSite site, int layer)
    {
        Site = site;
        Layer = layer;
    }

    public HookSite Site { get; }
    /// <summary>The block's index, or −1 for a point outside the blocks.</summary>
    public int Layer { get; }

    public static HookPoint Embed { get; } = new(HookSite.Embed, -1);
    public static HookPoint PosEmbed { get; } = new(HookSite.PosEmbed, -1);
    public static HookPoint FinalScale { get; } = new(HookSite.FinalScale, -1);
    public static HookPoint FinalNormalized { get; } = new(HookSite.FinalNormalized, -1);

    /// <summary>The point <paramref name="site"/> of block <paramref name="layer"/> (or the model-level point, layer ignored).</summary>
    public static HookPoint At(HookSite site, int layer)
    {
        if (!IsBlockSite(site)) return new(site, -1);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        return new(site, layer);
    }

    public static HookPoint ResidPre(int layer) => At(HookSite.ResidPre, layer);
    public static HookPoint ResidMid(int layer) => At(HookSite.ResidMid, layer);
    public static HookPoint ResidPost(int layer) => At(HookSite.ResidPost, layer);
    public static HookPoint AttnOut(int layer) => At(HookSite.AttnOut, layer);
    public static HookPoint MlpOut(int layer) => At(HookSite.MlpOut, layer);
    public static HookPoint MlpPre(int layer) => At(HookSite.MlpPre, layer);
    public static HookPoint MlpPost(int layer) => At(HookSite.MlpPost, layer);
    public static HookPoint Q(int layer) => At(HookSite.Q, layer);
    public static HookPoint K(int layer) => At(HookSite.K, layer);
    public static HookPoint V(int layer) => At(HookSite.V, layer);
    public static HookPoint Z(int layer) => At(HookSite.Z, layer);
    public static HookPoint Pattern(int layer) => At(HookSite.Pattern, layer);
    /// <summary>blocks.L.ln{1,2}.hook_normalized.</summary>
    public static HookPoint Normalized(int layer, int ln) => At(ln == 1 ? HookSite.Ln1Normalized : HookSite.Ln2Normalized, layer);
    /// <summary>blocks.L.ln{1,2}.hook_scale.</summary>
    public static HookPoint Scale(int layer, int ln) => At(ln == 1 ? HookSite.Ln1Scale : HookSite.Ln2Scale, layer);

    /// <summary>Inside a block (blocks.L.*).</summary>
    public bool InBlock => Layer >= 0;

    /// <summary>Per-head points (q, k, v, z): the activation is [b, p, h, d_head].</summary>
    public bool IsPerHead => Site is HookSite.Q or HookSite.K or HookSite.V or HookSite.Z;

    /// <summary>
    /// Computed for inspection, not vectors per token (the pattern, LayerNorm scales): hooks read them; only a scale may be
    /// replaced, by a frozen σ (see <see cref="Hooks{T}"/>).
    /// </summary>
    public bool IsReadOnly => Site is HookSite.Pattern or HookSite.Ln1Scale or HookSite.Ln2Scale or HookSite.FinalScale;

    /// <summary>Part of the MLP sublayer: absent from attention-only models.</summary>
    public bool InMlp => Site is HookSite.ResidMid or HookSite.Ln2Scale or HookSite.Ln2Normalized
        or HookSite.MlpPre or HookSite.MlpPost or HookSite.MlpOut;

    /// <summary>
    /// Its vectors live in the residual stream's basis (embeddings, resid_*, attn_out, mlp_out): a direction here
    /// is read by the unembedding directly.
    /// </summary>
    public bool InResidualBasis => Site is HookSite.Embed or HookSite.PosEmbed or HookSite.ResidPre or HookSite.ResidMid
        or HookSite.ResidPost or HookSite.AttnOut or HookSite.MlpOut;

    /// <summary>
    /// Values per position as one row (what a harvest stores and an SAE reads): d_model, d_mlp, h·d_head for
    /// per-head points (heads side by side, as SAELens's hook_z SAEs read them), 1 for a LayerNorm scale. The
    /// pattern, [b, h, q, k], has no row per position.
    /// </summary>
    public int Width(TransformerConfig c) => Site switch
    {
        HookSite.Ln1Scale or HookSite.Ln2Scale or HookSite.FinalScale => 1,
        HookSite.MlpPre or HookSite.MlpPost => c.DMlp,
        HookSite.Q or HookSite.K or HookSite.V or HookSite.Z => c.Heads * c.DHead,
        HookSite.Pattern => throw new UserError($"{Name} is [batch, head, query, key]: it has no row of values per position"),
        _ => c.DModel,
    };

    /// <summary>The TransformerLens name, e.g. blocks.0.mlp.hook_post.</summary>
    public string Name => InBlock ? $"blocks.{Layer.ToString(CultureInfo.InvariantCulture)}.{Names[(int)Site]}" : Names[(int)Site];

    public override string ToString() => Name;

    /// <summary>Reads a TransformerLens hook name; false when it names no point any model here offers.</summary>
    public static bool TryParse(string? name, out HookPoint point)
    {
        point = default;
        if (string.IsNullOrEmpty(name)) return false;
        const string Blocks = "blocks.";
        if (!name.StartsWith(Blocks, StringComparison.Ordinal))
        {
            int site = Array.IndexOf(Names, name);
            if (site < 0 || IsBlockSite((HookSite)site)) return false;
            point = new((HookSite)site, -1);
            return true;
        }
        int dot = name.IndexOf('.', Blocks.Length);
        var digits = name.AsSpan(Blocks.Length, Math.Max(0, dot - Blocks.Length));
        if (dot < 0 || (digits.Length > 1 && digits[0] == '0') // one spelling per layer, so names round-trip
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            return false;
        int blockSite = Array.IndexOf(Names, name[(dot + 1)..]);
        if (blockSite < 0 || !IsBlockSite((HookSite)blockSite)) return false;
        point = new((HookSite)blockSite, layer);
        return true;
    }

    /// <summary>Reads a TransformerLens hook name, or throws a UserError naming the forms a hook point takes.</summary>
    public static HookPoint Parse(string name) => TryParse(name, out var point) ? point
        : throw new UserError($"'{name}' is not a hook point (e.g. {MlpPost(0).Name}, {ResidPre(0).Name}, {FinalNormalized.Name}; see docs/METHODS.md §1.3)");

    /// <summary>
    /// A short list of the given points for error messages: the model-level names, and the block points as
    /// blocks.{first…last}.{site, …}.
    /// </summary>
    public static string Describe(IReadOnlyCollection<HookPoint> points)
    {
        var layers = points.Where(p => p.InBlock).Select(p => p.Layer).Distinct().Order().ToList();
        var sites = points.Where(p => p.InBlock).Select(p => p.Site).Distinct().Order().Select(s => Names[(int)s]);
        var parts = points.Where(p => !p.InBlock && p.Site < HookSite.ResidPre).Select(p => p.Name).ToList();
        if (layers.Count > 0)
            parts.Add($"blocks.{(layers.Count == 1 ? $"{layers[0]}" : $"{{{layers[0]}…{layers[^1]}}}")}.{{{string.Join(", ", sites)}}}");
        parts.AddRange(points.Where(p => !p.InBlock && p.Site > HookSite.ResidPost).Select(p => p.Name));
        return string.Join(", ", parts);
    }

    static bool IsBlockSite(HookSite site) => site is >= HookSite.ResidPre and <= HookSite.ResidPost;

    /// <summary>Names of the model-level points, and of the block points after "blocks.L.", by <see cref="HookSite"/>.</summary>
    static readonly string[] Names =
    [
        "hook_embed", "hook_pos_embed",
        "hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v",
        "attn.hook_pattern", "attn.hook_z", "hook_attn_out", "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized",
        "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
        "ln_final.hook_scale", "ln_final.hook_normalized",
    ];
}
