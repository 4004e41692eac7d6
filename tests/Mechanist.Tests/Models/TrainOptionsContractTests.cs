using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>
/// `mechanist model train`'s settings: the defaults a user gets, each refusal with the option it names and its exact
/// boundary (a value just inside passes), and the AbsTopK site override.
/// </summary>
public class TrainOptionsContractTests
{
    [Fact]
    public void Defaults_are_the_documented_recipe()
    {
        var o = new TrainOptions().Validate();
        Assert.Equal("toy-1l", o.Preset);
        Assert.True(o.SparseKernels);
        Assert.Equal((16, 20_000_000L, 1e-3f, 0.1f, 1f), (o.Batch, o.Tokens, o.LearningRate, o.WeightDecay, o.ClipNorm));
        Assert.Equal((100, 64, 250), (o.EvalEvery, o.EvalWindows, o.CheckpointEvery));
    }

    public static TheoryData<TrainOptions, string> Refused => new()
    {
        { new() { Batch = 0 }, "--batch must be ≥ 1, not 0" },
        { new() { Tokens = 0 }, "--tokens must be ≥ 1, not 0" },
        { new() { Context = 1 }, "--context must be ≥ 2, not 1" },
        { new() { LearningRate = 0 }, "--lr must be > 0, not 0" },
        { new() { LearningRate = float.NaN }, "--lr must be > 0, not NaN" },
        { new() { WeightDecay = -0.5f }, "--weight-decay must be ≥ 0, not -0.5" },
        { new() { ClipNorm = 0 }, "--clip must be > 0, not 0" },
        { new() { EvalEvery = 0 }, "--eval-every, --eval-windows and --checkpoint-every must be ≥ 1" },
        { new() { EvalWindows = 0 }, "--eval-every, --eval-windows and --checkpoint-every must be ≥ 1" },
        { new() { CheckpointEvery = 0 }, "--eval-every, --eval-windows and --checkpoint-every must be ≥ 1" },
        { new() { WeightDensity = 0 }, "--weight-density must be in (0, 1], not 0" },
        { new() { WeightDensity = 1.5 }, "--weight-density must be in (0, 1], not 1.5" },
        { new() { WeightDensity = 0.5, EmbeddingDensity = 0 }, "--embedding-density must be in (0, 1], not 0" },
        { new() { WeightDensity = 0.5, EmbeddingDensity = 2 }, "--embedding-density must be in (0, 1], not 2" },
        { new() { EmbeddingDensity = 0.5 }, "--embedding-density needs --weight-density" },
        { new() { Preset = "micro", ActivationSites = "mlp_out" },
            "--activation-sites: preset micro has no AbsTopK activation sparsity (use a weight-sparse preset: sparse-micro, sparse-2l)" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Each_bad_setting_is_refused_naming_its_option(TrainOptions options, string message) =>
        Assert.Equal(message, Assert.Throws<UserError>(() => options.Validate()).Message);

    [Fact]
    public void Values_on_the_boundaries_are_accepted()
    {
        new TrainOptions { Batch = 1, Tokens = 1, Context = 2, WeightDecay = 0, EvalEvery = 1, EvalWindows = 1, CheckpointEvery = 1 }.Validate();
        new TrainOptions { WeightDensity = 1, EmbeddingDensity = 1 }.Validate();
        new TrainOptions { WeightDensity = 1e-3, EmbeddingDensity = 1e-3 }.Validate();
    }

    [Fact]
    public void Activation_sites_override_the_presets_and_tolerate_spaces_and_empty_entries()
    {
        var o = new TrainOptions { Preset = "sparse-micro", ActivationSites = " mlp_neuron, resid_post_mlp,," }.Validate();
        Assert.Equal(SparsitySites.MlpNeuron | SparsitySites.ResidPostMlp, o.Config(50).ActivationSites);
        Assert.Equal(TransformerConfig.Preset("sparse-micro", 50).ActivationSites, new TrainOptions { Preset = "sparse-micro" }.Config(50).ActivationSites);
    }

    [Fact]
    public void An_unknown_site_is_refused_before_training()
    {
        var e = Assert.Throws<DataFormatError>(() => new TrainOptions { Preset = "sparse-micro", ActivationSites = "mlp_neuron,ffn" }.Validate());
        Assert.StartsWith("--activation-sites: site: 'ffn' is not a sparsity site (attn_in, attn_q,", e.Message);
    }

    [Fact]
    public void The_context_override_replaces_the_presets()
    {
        Assert.Equal(16, new TrainOptions { Preset = "micro", Context = 16 }.Config(40).Context);
        Assert.Equal(32, new TrainOptions { Preset = "micro" }.Config(40).Context);
    }
}
