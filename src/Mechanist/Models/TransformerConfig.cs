using System.Text.Json.Nodes;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Models;

/// <summary>
/// Shape of a GPT-2-style transformer (pre-LayerNorm, learned positions, causal multi-head attention,
/// MLP, final LayerNorm, unembedding). Serialised as a Hugging Face GPT-2 <c>config.json</c> (plus a few
/// Mechanist keys), so a run directory is also a loadable <c>GPT2LMHeadModel</c> folder.
/// </summary>
public sealed record TransformerConfig
{
    public int Layers { get; init; } = 1;
    public int DModel { get; init; } = 128;
    public int Heads { get; init; } = 4;
    public int DMlp { get; init; } = 512;
    public int Context { get; init; } = 256;
    public int Vocab { get; init; } = 8192;
    public Activation Activation { get; init; } = Activation.Relu;
    /// <summary>No MLP blocks (attention-only models).</summary>
    public bool AttentionOnly { get; init; }
    /// <summary>Unembedding W_U = W_Eᵀ (GPT-2's default) instead of its own lm_head.</summary>
    public bool TiedEmbeddings { get; init; } = true;
    /// <summary>Stanford CRFM models: attention scores also divided by (layer index + 1).</summary>
    public bool ScaleAttnByInverseLayerIdx { get; init; }
    public float LayerNormEps { get; init; } = 1e-5f;

    // The weight-sparse family (WS25, docs/METHODS.md §6.1). Every switch off is today's GPT-2.
    /// <summary>LayerNorm (GPT-2) or RMSNorm (gain only, no bias).</summary>
    public NormKind Norm { get; init; } = NormKind.LayerNorm;
    /// <summary>A dense [vocab, vocab] table whose current-token row is added to the logits.</summary>
    public bool Bigram { get; init; }
    /// <summary>A learnable logit per head on a dummy key with value 0.</summary>
    public bool AttentionSink { get; init; }
    /// <summary>Learned position embeddings (GPT-2); the sparse preset has none, as most of the paper's models.</summary>
    public bool LearnedPositions { get; init; } = true;
    /// <summary>AbsTopK activation sparsity: the fraction of each site's values kept per position (0 = off).</summary>
    public float ActivationFraction { get; init; }
    /// <summary>Where AbsTopK applies when <see cref="ActivationFraction"/> &gt; 0.</summary>
    public SparsitySites ActivationSites { get; init; }

    public int DHead => DModel / Heads;

    /// <summary>Whether the model is a GPT2LMHeadModel (no switch of the weight-sparse family on).</summary>
    public bool IsGpt2 => Norm == NormKind.LayerNorm && !Bigram && !AttentionSink && LearnedPositions && ActivationFraction == 0;

    /// <summary>Values AbsTopK keeps at a site of <paramref name="width"/> values, or null when the site is not sparsified.</summary>
    public int? KeptAt(SparsitySites site, int width) =>
        ActivationFraction > 0 && ActivationSites.HasFlag(site) ? Math.Clamp((int)MathF.Floor(ActivationFraction * width), 1, width) : null;

    /// <summary>Preset names for --preset.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["micro", "toy-1l", "tiny-2l", "tiny-4l", "small-6l", "sparse-micro", "sparse-2l"];

    /// <summary>
    /// micro: 1 layer, d 32, 2 heads, MLP 64, context 32 (tests, demo). toy-1l: the TM23 one-layer model
    /// (d 128, 4 heads, MLP 512, ReLU, context 256). tiny-2l / tiny-4l: 2 or 4 layers, d 256, 8 heads, MLP 1,024,
    /// GELU, context 256. small-6l: 6 layers, d 384, 6 heads, MLP 1,536, GELU, context 512.
    /// sparse-2l: the weight-sparse family (METHODS.md §6.1) sized for a 2-core machine: 2 layers, d 128, 8 heads of 16,
    /// MLP 512, GELU, context 128, RMSNorm, bigram table, attention sink, no positions, untied unembedding, AbsTopK 0.25 at
    /// the 8 sites. sparse-micro: the same family at micro's size (tests).
    /// </summary>
    public static TransformerConfig Preset(string name, int vocab) => name switch
    {
        "micro" => new() { Layers = 1, DModel = 32, Heads = 2, DMlp = 64, Context = 32, Vocab = vocab, Activation = Activation.Relu },
        "toy-1l" => new() { Layers = 1, DModel = 128, Heads = 4, DMlp = 512, Context = 256, Vocab = vocab, Activation = Activation.Relu },
        "tiny-2l" => new() { Layers = 2, DModel = 256, Heads = 8, DMlp = 1024, Context = 256, Vocab = vocab, Activation = Activation.Gelu },
        "tiny-4l" => new() { Layers = 4, DModel = 256, Heads = 8, DMlp = 1024, Context = 256, Vocab = vocab, Activation = Activation.Gelu },
        "small-6l" => new() { Layers = 6, DModel = 384, Heads = 6, DMlp = 1536, Context = 512, Vocab = vocab, Activation = Activation.Gelu },
        "sparse-micro" => SparseFamily(new() { Layers = 1, DModel = 32, Heads = 4, DMlp = 64, Context = 32, Vocab = vocab }),
        "sparse-2l" => SparseFamily(new() { Layers = 2, DModel = 128, Heads = 8, DMlp = 512, Context = 128, Vocab = vocab }),
        _ => throw new UserError($"unknown model preset '{name}' (known: {string.Join(", ", PresetNames)})"),
    };

    /// <summary>The weight-sparse family's switches on a shape: RMSNorm, bigram, sink, no positions, untied, GELU, AbsTopK 0.25 at 8 sites.</summary>
    public static TransformerConfig SparseFamily(TransformerConfig shape) => shape with
    {
        Activation = Activation.Gelu, Norm = NormKind.RmsNorm, Bigram = true, AttentionSink = true, LearnedPositions = false,
        TiedEmbeddings = false, ActivationFraction = 0.25f, ActivationSites = SparsitySites.All,
    };

    /// <summary>Checks the sizes fit together; throws a UserError naming the problem.</summary>
    public TransformerConfig Validate(string source = "model config")
    {
        void Need(bool ok, string field, string problem) { if (!ok) throw new DataFormatError(source, field, problem); }
        Need(Layers >= 1, "n_layer", $"{Layers} must be ≥ 1");
        Need(DModel >= 1, "n_embd", $"{DModel} must be ≥ 1");
        Need(Heads >= 1 && DModel % Heads == 0, "n_head", $"{Heads} heads do not divide n_embd {DModel}");
        Need(AttentionOnly || DMlp >= 1, "n_inner", $"{DMlp} must be ≥ 1");
        Need(Context >= 1, "n_positions", $"{Context} must be ≥ 1");
        Need(Vocab >= 1, "vocab_size", $"{Vocab} must be ≥ 1");
        Need(LayerNormEps > 0, "layer_norm_epsilon", $"{LayerNormEps} must be > 0");
        Need(ActivationFraction is >= 0 and <= 1, "mechanist_afrac", $"{ActivationFraction} must be in [0, 1]");
        Need(ActivationFraction == 0 || Norm == NormKind.RmsNorm, "mechanist_afrac", "activation sparsity needs mechanist_norm rmsnorm (the weight-sparse family)");
        Need(!AttentionOnly || IsGpt2, "mechanist_attn_only", "the weight-sparse family has MLPs");
        return this;
    }

    /// <summary>Every hook point of a model with this config, in the order a forward pass reaches them.</summary>
    public IReadOnlyList<HookPoint> HookPoints()
    {
        var points = new List<HookPoint> { HookPoint.Embed };
        if (LearnedPositions) points.Add(HookPoint.PosEmbed);
        for (int layer = 0; layer < Layers; layer++)
            for (var site = HookSite.ResidPre; site <= HookSite.ResidPost; site++)
                if (Has(HookPoint.At(site, layer))) points.Add(HookPoint.At(site, layer));
        points.Add(HookPoint.FinalScale);
        points.Add(HookPoint.FinalNormalized);
        return points;
    }

    /// <summary>Whether a model with this config has the point (its layer exists; no MLP points in attention-only models).</summary>
    public bool Has(HookPoint point) => point.InBlock ? point.Layer < Layers && !(AttentionOnly && point.InMlp)
        : point.Site != HookSite.PosEmbed || LearnedPositions;

    /// <summary>Returns the point when this model has it, else throws a UserError listing the model's points.</summary>
    public HookPoint Check(HookPoint point) => Has(point) ? point : throw NotAPoint(point.Name);

    /// <summary>The hook point <paramref name="name"/> of this model, or a UserError listing the model's points.</summary>
    public HookPoint ParseHookPoint(string name) => HookPoint.TryParse(name, out var point) && Has(point) ? point : throw NotAPoint(name);

    UserError NotAPoint(string name) => new(
        $"'{name}' is not a hook point of this model ({Layers} layer{(Layers == 1 ? "" : "s")}{(AttentionOnly ? ", attention-only" : "")}); " +
        $"its points are {HookPoint.Describe(HookPoints())}");

    public static string ActivationName(Activation a) => a switch
    {
        Activation.Relu => "relu",
        Activation.Gelu => "gelu",
        Activation.GeluNew => "gelu_new",
        _ => throw new ArgumentOutOfRangeException(nameof(a), $"{a} is not an MLP activation"),
    };

    public static Activation ParseActivation(string name, string source) => name switch
    {
        "relu" => Activation.Relu,
        "gelu" => Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluNew,
        _ => throw new DataFormatError(source, "activation_function", $"'{name}' is not supported (relu, gelu, gelu_new)"),
    };

    /// <summary>
    /// Hugging Face GPT-2 config keys, plus mechanist_attn_only and, for the weight-sparse family only, mechanist_norm,
    /// mechanist_bigram, mechanist_attn_sink, mechanist_positions, mechanist_afrac and mechanist_afrac_sites (such a model
    /// is no GPT2LMHeadModel: its architectures entry says MechanistSparseGPT).
    /// </summary>
    public JsonObject ToJson()
    {
        var json = Gpt2Json();
        if (IsGpt2) return json;
        json["architectures"] = new JsonArray("MechanistSparseGPT");
        json["mechanist_norm"] = Norm == NormKind.RmsNorm ? "rmsnorm" : "layernorm";
        json["mechanist_bigram"] = Bigram;
        json["mechanist_attn_sink"] = AttentionSink;
        json["mechanist_positions"] = LearnedPositions;
        json["mechanist_afrac"] = ActivationFraction;
        json["mechanist_afrac_sites"] = new JsonArray(SparsitySiteNames.Format(ActivationSites).Select(n => (JsonNode)n!).ToArray());
        return json;
    }

    JsonObject Gpt2Json() => new()
    {
        ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["model_type"] = "gpt2",
        ["n_layer"] = Layers,
        ["n_embd"] = DModel,
        ["n_head"] = Heads,
        ["n_inner"] = DMlp,
        ["n_positions"] = Context,
        ["n_ctx"] = Context,
        ["vocab_size"] = Vocab,
        ["activation_function"] = ActivationName(Activation),
        ["layer_norm_epsilon"] = LayerNormEps,
        ["scale_attn_by_inverse_layer_idx"] = ScaleAttnByInverseLayerIdx,
        ["tie_word_embeddings"] = TiedEmbeddings,
        ["resid_pdrop"] = 0.0,
        ["embd_pdrop"] = 0.0,
        ["attn_pdrop"] = 0.0,
        ["mechanist_attn_only"] = AttentionOnly,
    };

    public static TransformerConfig FromJson(JsonObject json, string source)
    {
        int Int(string key, int? fallback = null)
        {
            var node = json[key];
            if (node == null || node.GetValueKind() == System.Text.Json.JsonValueKind.Null)
                return fallback ?? throw new DataFormatError(source, key, "missing");
            try { return node.GetValue<int>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw new DataFormatError(source, key, $"'{node.ToJsonString()}' is not an integer"); }
        }
        bool Bool(string key, bool fallback)
        {
            var node = json[key];
            if (node == null || node.GetValueKind() == System.Text.Json.JsonValueKind.Null) return fallback;
            try { return node.GetValue<bool>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw new DataFormatError(source, key, $"'{node.ToJsonString()}' is not true or false"); }
        }
        int d = Int("n_embd");
        float eps = 1e-5f;
        if (json["layer_norm_epsilon"] is { } epsNode)
            try { eps = (float)epsNode.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw new DataFormatError(source, "layer_norm_epsilon", "not a number"); }
        string activation = json["activation_function"]?.GetValue<string>() ?? "gelu_new";
        string String(string key, string fallback)
        {
            var node = json[key];
            if (node == null || node.GetValueKind() == System.Text.Json.JsonValueKind.Null) return fallback;
            return node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>()
                : throw new DataFormatError(source, key, $"'{node.ToJsonString()}' is not a string");
        }
        var norm = String("mechanist_norm", "layernorm") switch
        {
            "layernorm" => NormKind.LayerNorm,
            "rmsnorm" => NormKind.RmsNorm,
            var other => throw new DataFormatError(source, "mechanist_norm", $"'{other}' is not layernorm or rmsnorm"),
        };
        float afrac = 0;
        if (json["mechanist_afrac"] is { } afracNode)
            try { afrac = (float)afracNode.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw new DataFormatError(source, "mechanist_afrac", "not a number"); }
        var sites = SparsitySites.None;
        if (json["mechanist_afrac_sites"] is { } sitesNode)
            sites = sitesNode is JsonArray array && array.All(n => n?.GetValueKind() == System.Text.Json.JsonValueKind.String)
                ? SparsitySiteNames.Parse(array.Select(n => n!.GetValue<string>()), source, "mechanist_afrac_sites")
                : throw new DataFormatError(source, "mechanist_afrac_sites", "not a list of site names");
        // Hugging Face divides attention scores by √d_head only when scale_attn_weights is true (its default);
        // every model here is scaled, so an unscaled checkpoint is refused rather than run with other scores.
        if (!Bool("scale_attn_weights", true))
            throw new DataFormatError(source, "scale_attn_weights", "false is not supported (attention scores are always divided by √d_head)");
        return new TransformerConfig
        {
            Layers = Int("n_layer"),
            DModel = d,
            Heads = Int("n_head"),
            DMlp = Int("n_inner", 4 * d),
            Context = Int("n_positions", json["n_ctx"] != null ? Int("n_ctx") : null),
            Vocab = Int("vocab_size"),
            Activation = ParseActivation(activation, source),
            AttentionOnly = Bool("mechanist_attn_only", false),
            TiedEmbeddings = Bool("tie_word_embeddings", true),
            ScaleAttnByInverseLayerIdx = Bool("scale_attn_by_inverse_layer_idx", false),
            LayerNormEps = eps,
            Norm = norm,
            Bigram = Bool("mechanist_bigram", false),
            AttentionSink = Bool("mechanist_attn_sink", false),
            LearnedPositions = Bool("mechanist_positions", true),
            ActivationFraction = afrac,
            ActivationSites = sites,
        }.Validate(source);
    }

    public long ParameterCount()
    {
        long d = DModel, norm = Norm == NormKind.RmsNorm ? d : 2 * d;
        long block = 2 * norm + d * 3 * d + 3 * d + d * d + d + (AttentionSink ? Heads : 0);
        if (AttentionOnly) block -= norm;
        else block += d * DMlp + DMlp + DMlp * d + d;
        return (long)Vocab * d + (LearnedPositions ? (long)Context * d : 0) + Layers * block + norm
            + (TiedEmbeddings ? 0 : (long)Vocab * d) + (Bigram ? (long)Vocab * Vocab : 0);
    }
}
