using Mechanist.Browser;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Tests.Browser;

/// <summary>
/// The page's model (Assets/wm-*.js) runs GPT-2-style models only: a weight-sparse-family model is never packed for it
/// (its weights would load and give other logits). export-web refuses; export-html and browse leave the model out.
/// </summary>
[Collection("console-alone")]
public class WebModelRefusalTests
{
    static readonly BpeTokenizer Tokenizer = BpeTrainer.Train(["def f(x):\n    return [x, 'a']", "a tokenizer for the tests"], 270);

    [Fact]
    public void A_weight_sparse_model_is_refused_for_the_page_and_a_gpt2_model_is_not()
    {
        var tokenizer = Tokenizer;
        var sparse = Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", tokenizer.VocabSize), 0);
        string? why = WebModelFiles.Unsupported(sparse.Config);
        Assert.NotNull(why);
        foreach (string part in new[] { "GPT-2-style models only", "RMSNorm", "bigram", "sink", "AbsTopK" }) Assert.Contains(part, why);
        var error = Assert.Throws<UserError>(() => WebModelFiles.Build(sparse, tokenizer, null, null));
        Assert.Contains("cannot pack this model for the page", error.Message);
        // One switch is enough: a GPT-2 shape with RMSNorm alone is not what the page computes either.
        Assert.Contains("RMSNorm", WebModelFiles.Unsupported(TransformerConfig.Preset("micro", 50) with { Norm = NormKind.RmsNorm }));
        Assert.Null(WebModelFiles.Unsupported(TransformerConfig.Preset("micro", 50)));
        Assert.Null(WebModelFiles.Unsupported(TransformerConfig.Preset("tiny-2l", 50)));
        Assert.True(WebModelFiles.Build(Transformer<float>.Create(TransformerConfig.Preset("micro", tokenizer.VocabSize), 0), tokenizer, null, null).Files.Count > 1);
    }

    [Fact]
    public void Export_web_of_a_sparse_model_is_one_error_line_and_writes_nothing()
    {
        string work = TestPaths.NewTempDir();
        try
        {
            string model = Path.Combine(work, "model"), site = Path.Combine(work, "site");
            ModelFiles.Save(Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", Tokenizer.VocabSize), 0), model);
            TokenizerFiles.Save(Tokenizer, model);
            var export = Mechanist.Cli.Commands.BrowseCommands.Create().Single(c => c.Name == "export-web");
            var (code, output, err) = CliRun.Capture(export, ["export-web", "--model", model, "--out", site]);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("weight-sparse-family model", err);
            Assert.False(Directory.Exists(site));
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void Browse_leaves_a_sparse_models_page_copy_out_with_a_note_and_packs_a_gpt2_model()
    {
        foreach (string preset in new[] { "sparse-micro", "micro" })
        {
            var model = Transformer<float>.Create(TransformerConfig.Preset(preset, Tokenizer.VocabSize), 0);
            var sae = Mechanist.Sae.SparseAutoencoder.Create(Mechanist.Sae.SaeArchitecture.TopK, 32, 16, 0, k: 2);
            var encoder = new Mechanist.Features.ModelFeatureEncoder(model, sae, Tokenizer, HookPoint.ResidPost(0));
            var saved = Console.Error;
            var error = new StringWriter();
            Console.SetError(error);
            try
            {
                var packed = Mechanist.Cli.Commands.BrowseCommands.PackModel(encoder, WebPrecision.F32, out string? whyNot);
                Assert.Equal(preset == "micro", packed != null);
                Assert.Equal(preset == "micro", whyNot == null);
                if (whyNot != null) Assert.Contains("GPT-2-style models only", whyNot);
            }
            finally { Console.SetError(saved); }
            Assert.Contains(preset == "micro" ? "in-page model:" : "no Generate page: the page's in-browser model runs GPT-2-style models only", error.ToString());
        }
    }
}
