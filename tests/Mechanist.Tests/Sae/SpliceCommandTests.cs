using System.CommandLine;
using System.Text.Json.Nodes;
using Mechanist.Cli.Commands;
using Mechanist.Sae;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Sae;

[Collection("console-alone")]
public class SpliceCommandTests
{
    const string Hook = "blocks.0.mlp.hook_post";
    const int Context = 12;

    [Fact]
    public void Sae_eval_with_a_model_reports_the_splice_keys_and_writes_eval_json()
    {
        var model = HarvestFixture.Model(4);
        string modelDir = TestPaths.NewTempDir();
        ModelFiles.Save(model, modelDir);
        string tokens = HarvestFixture.TokenStore(seed: 9);
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, 32, 64, 5);
        sae.Metadata = new SaeMetadata { Hook = HookPoint.Parse(Hook) };
        string saeDir = Path.Combine(TestPaths.NewTempDir(), "sae");
        SaeLensFormat.Save(sae, saeDir);

        var (code, output, error) = CliRun.Capture(SaeCommands.Create(), "sae", "eval", "--sae", saeDir, "--model", modelDir, "--data", tokens, "--windows", "5", "--json");
        Assert.True(code == 0, error);
        var json = JsonNode.Parse(output)!.AsObject();
        foreach (string key in new[] { "mse", "explained_variance", "l0", "dead", "ultralow", "ce_loss_score_zero", "ce_loss_score_mean", "kl_score", "ce_clean", "ce_sae" })
            Assert.True(json.ContainsKey(key), key);
        Assert.Equal(5 * (Context - 1), json["tokens"]!.GetValue<long>());
        Assert.Equal(json["scored_tokens"]!.GetValue<long>(), json["tokens"]!.GetValue<long>());
        Assert.True(File.Exists(Path.Combine(saeDir, "eval.json")));
        Assert.True(File.Exists(Path.Combine(saeDir, "eval.density.svg")));

        // Without --json: a readable summary naming both baselines.
        (code, string summary, error) = CliRun.Capture(SaeCommands.Create(), "sae", "eval", "--sae", saeDir, "--model", modelDir, "--data", tokens, "--windows", "5");
        Assert.True(code == 0, error);
        Assert.Contains("(zero ablation)", summary);
        Assert.Contains("(mean ablation)", summary);

        // The same numbers through the library call.
        using var store = TokenStore.Open(tokens, "valid");
        var r = SpliceEvaluation.Evaluate(model, SaeLensFormat.Load(saeDir), store, new SpliceOptions { Windows = 5 }, IProgressReporter.None);
        Assert.Equal(r.Metrics.CeSae!.Value, json["ce_sae"]!.GetValue<double>(), 12);
        Assert.Equal(r.Losses.CeLossScoreZero, json["ce_loss_score_zero"]!.GetValue<double>(), 12);
        string savedDir = TestPaths.NewTempDir();
        SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Model = modelDir, Data = tokens, Splice = new SpliceOptions { Windows = 5 }, Out = Path.Combine(savedDir, "eval.json") },
            IProgressReporter.None, default);
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(savedDir, "eval.json")))!;
        Assert.Equal(r.Metrics.L0, file["l0"]!.GetValue<double>(), 12);
        Assert.Equal(64, JsonNode.Parse(File.ReadAllText(Path.Combine(savedDir, "eval.density.json")))!["latents"]!.GetValue<int>());
    }

}
