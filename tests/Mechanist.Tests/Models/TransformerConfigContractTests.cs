using System.Text.Json.Nodes;
using Mechanist.Models;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Tests.Models;

/// <summary>
/// The config's contract as a user meets it: each preset's shape, the config.json it writes (Hugging Face GPT-2 keys,
/// read by transformers), every refusal of a broken config.json naming its key, and the hook-point error messages.
/// </summary>
public class TransformerConfigContractTests
{
    [Theory]
    [InlineData("micro", 1, 32, 2, 64, 32, Activation.Relu)]
    [InlineData("toy-1l", 1, 128, 4, 512, 256, Activation.Relu)]
    [InlineData("tiny-2l", 2, 256, 8, 1024, 256, Activation.Gelu)]
    [InlineData("tiny-4l", 4, 256, 8, 1024, 256, Activation.Gelu)]
    [InlineData("small-6l", 6, 384, 6, 1536, 512, Activation.Gelu)]
    public void Presets_have_their_documented_shapes(string name, int layers, int d, int heads, int mlp, int context, Activation activation)
    {
        var c = TransformerConfig.Preset(name, 300);
        Assert.Equal((layers, d, heads, mlp, context, 300, activation), (c.Layers, c.DModel, c.Heads, c.DMlp, c.Context, c.Vocab, c.Activation));
        Assert.True(c.IsGpt2);
        Assert.Contains(name, TransformerConfig.PresetNames);
    }

    [Fact]
    public void An_unknown_preset_is_refused_with_the_known_names()
    {
        var e = Assert.Throws<UserError>(() => TransformerConfig.Preset("huge", 300));
        Assert.Equal("unknown model preset 'huge' (known: micro, toy-1l, tiny-2l, tiny-4l, small-6l, sparse-micro, sparse-2l)", e.Message);
    }

    [Fact]
    public void Gpt2_config_json_has_the_keys_transformers_reads()
    {
        var c = new TransformerConfig { Layers = 2, DModel = 16, Heads = 2, DMlp = 48, Context = 12, Vocab = 70, Activation = Activation.GeluNew };
        var json = c.ToJson();
        Assert.Equal("""["GPT2LMHeadModel"]""", json["architectures"]!.ToJsonString());
        Assert.Equal("gpt2", (string)json["model_type"]!);
        Assert.Equal(12, (int)json["n_positions"]!);
        Assert.Equal(12, (int)json["n_ctx"]!);
        Assert.Equal("gelu_new", (string)json["activation_function"]!);
        foreach (var dropout in new[] { "resid_pdrop", "embd_pdrop", "attn_pdrop" }) Assert.Equal(0.0, (double)json[dropout]!);
        Assert.False((bool)json["mechanist_attn_only"]!);
        Assert.Null(json["mechanist_norm"]);
    }

    [Theory]
    [InlineData(true, "rmsnorm")]
    [InlineData(false, "layernorm")]
    public void Sparse_family_json_names_its_architecture_and_norm(bool rms, string norm)
    {
        var c = new TransformerConfig { DModel = 16, Heads = 2, DMlp = 32, Context = 8, Vocab = 20, Bigram = true, Norm = rms ? NormKind.RmsNorm : NormKind.LayerNorm };
        var json = c.ToJson();
        Assert.Equal("""["MechanistSparseGPT"]""", json["architectures"]!.ToJsonString());
        Assert.Equal(norm, (string)json["mechanist_norm"]!);
        Assert.Equal(c, TransformerConfig.FromJson(JsonNode.Parse(json.ToJsonString())!.AsObject(), "config.json"));
    }

    [Theory]
    [InlineData(Activation.Relu, "relu")]
    [InlineData(Activation.Gelu, "gelu")]
    [InlineData(Activation.GeluNew, "gelu_new")]
    public void Activation_names_round_trip(Activation activation, string name)
    {
        Assert.Equal(name, TransformerConfig.ActivationName(activation));
        Assert.Equal(activation, TransformerConfig.ParseActivation(name, "config.json"));
    }

    [Theory]
    [InlineData("gelu_pytorch_tanh")]
    [InlineData("gelu_fast")]
    public void Hugging_face_aliases_of_the_tanh_gelu_read_as_gelu_new(string name) =>
        Assert.Equal(Activation.GeluNew, TransformerConfig.ParseActivation(name, "config.json"));

    [Fact]
    public void Activation_errors_name_the_file_field_and_choices()
    {
        var e = Assert.Throws<DataFormatError>(() => TransformerConfig.ParseActivation("swish", "m/config.json"));
        Assert.Equal("m/config.json: activation_function: 'swish' is not supported (relu, gelu, gelu_new)", e.Message);
        var a = Assert.Throws<ArgumentOutOfRangeException>(() => TransformerConfig.ActivationName((Activation)99));
        Assert.Contains("99 is not an MLP activation", a.Message);
    }

    static JsonObject Minimal() => new() { ["n_layer"] = 1, ["n_embd"] = 8, ["n_head"] = 2, ["vocab_size"] = 11, ["n_positions"] = 6 };

    [Fact]
    public void A_minimal_config_takes_gpt2_defaults()
    {
        var c = TransformerConfig.FromJson(Minimal(), "config.json");
        Assert.Equal(32, c.DMlp);                      // n_inner defaults to 4 · n_embd
        Assert.Equal(Activation.GeluNew, c.Activation); // GPT-2's activation_function default
        Assert.True(c.TiedEmbeddings);
        Assert.False(c.ScaleAttnByInverseLayerIdx);
        Assert.False(c.AttentionOnly);
        Assert.True(c.LearnedPositions);
        Assert.Equal(1e-5f, c.LayerNormEps);
        Assert.True(c.IsGpt2);
    }

    [Fact]
    public void Context_falls_back_to_n_ctx_when_n_positions_is_missing()
    {
        var json = Minimal();
        json.Remove("n_positions");
        json["n_ctx"] = 9;
        Assert.Equal(9, TransformerConfig.FromJson(json, "config.json").Context);
        json.Remove("n_ctx");
        var e = Assert.Throws<DataFormatError>(() => TransformerConfig.FromJson(json, "config.json"));
        Assert.Equal("config.json: n_positions: missing", e.Message);
    }

    [Fact]
    public void Switches_are_read_from_their_keys()
    {
        var json = Minimal();
        json["tie_word_embeddings"] = false;
        json["scale_attn_by_inverse_layer_idx"] = true;
        json["mechanist_attn_only"] = true;
        json["layer_norm_epsilon"] = 1e-6;
        var c = TransformerConfig.FromJson(json, "config.json");
        Assert.False(c.TiedEmbeddings);
        Assert.True(c.ScaleAttnByInverseLayerIdx);
        Assert.True(c.AttentionOnly);
        Assert.Equal(1e-6f, c.LayerNormEps);
    }

    [Theory]
    [InlineData("n_layer", "\"two\"", "config.json: n_layer: '\"two\"' is not an integer")]
    [InlineData("n_layer", "1.5", "config.json: n_layer: '1.5' is not an integer")]
    [InlineData("n_head", "null", "config.json: n_head: missing")]
    [InlineData("tie_word_embeddings", "\"yes\"", "config.json: tie_word_embeddings: '\"yes\"' is not true or false")]
    [InlineData("layer_norm_epsilon", "\"small\"", "config.json: layer_norm_epsilon: not a number")]
    [InlineData("mechanist_afrac", "\"quarter\"", "config.json: mechanist_afrac: not a number")]
    [InlineData("mechanist_afrac_sites", "\"mlp\"", "config.json: mechanist_afrac_sites: not a list of site names")]
    [InlineData("mechanist_afrac_sites", "[\"mlp_post\", 3]", "config.json: mechanist_afrac_sites: not a list of site names")]
    [InlineData("mechanist_norm", "1", "config.json: mechanist_norm: '1' is not a string")]
    [InlineData("mechanist_norm", "\"batchnorm\"", "config.json: mechanist_norm: 'batchnorm' is not layernorm or rmsnorm")]
    [InlineData("scale_attn_weights", "false", "config.json: scale_attn_weights: false is not supported (attention scores are always divided by √d_head)")]
    public void A_broken_key_is_refused_by_name(string key, string value, string message)
    {
        var json = Minimal();
        json[key] = JsonNode.Parse(value);
        var e = Assert.Throws<DataFormatError>(() => TransformerConfig.FromJson(json, "config.json"));
        Assert.Equal(message, e.Message);
        Assert.Equal(key, e.Field);
    }

    [Fact]
    public void A_null_switch_takes_its_default_and_scaled_attention_is_accepted()
    {
        var json = Minimal();
        json["tie_word_embeddings"] = null;
        json["mechanist_norm"] = null;
        json["scale_attn_weights"] = true;
        var c = TransformerConfig.FromJson(json, "config.json");
        Assert.True(c.TiedEmbeddings);
        Assert.Equal(NormKind.LayerNorm, c.Norm);
    }

    [Fact]
    public void A_model_without_learned_positions_has_no_pos_embed_point()
    {
        var c = new TransformerConfig { LearnedPositions = false, Norm = NormKind.RmsNorm };
        Assert.False(c.Has(HookPoint.PosEmbed));
        Assert.True(c.Has(HookPoint.Embed));
        Assert.True(new TransformerConfig().Has(HookPoint.PosEmbed));
        Assert.DoesNotContain(HookPoint.PosEmbed, c.HookPoints());
    }

    [Fact]
    public void Missing_hook_points_are_named_with_the_models_shape()
    {
        var one = new TransformerConfig { Layers = 1 };
        var e1 = Assert.Throws<UserError>(() => one.ParseHookPoint("blocks.3.hook_resid_pre"));
        Assert.StartsWith("'blocks.3.hook_resid_pre' is not a hook point of this model (1 layer); its points are hook_embed, hook_pos_embed, blocks.0.{", e1.Message);
        var two = new TransformerConfig { Layers = 2, AttentionOnly = true };
        var e2 = Assert.Throws<UserError>(() => two.Check(HookPoint.MlpPost(0)));
        Assert.StartsWith("'blocks.0.mlp.hook_post' is not a hook point of this model (2 layers, attention-only); its points are", e2.Message);
        Assert.Contains("blocks.{0…1}.{", e2.Message);
    }
}
