using System.Text.Json.Nodes;
using Mechanist.Cli.Commands;
using Mechanist.Sae;
using Mechanist.Models;
using Mechanist.Tests.Activations;

namespace Mechanist.Tests.Sae;

[Collection("console-alone")]
public class StreamTrainCommandTests
{
    const string Hook = "blocks.0.mlp.hook_post";

    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(SaeCommands.Create(), ["sae", "train", .. args]);

    [Fact]
    public void Sae_train_streams_from_a_model_and_records_where_the_rows_came_from()
    {
        string modelDir = TestPaths.NewTempDir();
        ModelFiles.Save(HarvestFixture.Model(5), modelDir);
        string tokens = HarvestFixture.TokenStore(seed: 8);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "sae");
        var (code, output, err) = Run("--model", modelDir, "--data", tokens, "--hook", Hook, "--per-context", "5", "--shuffle-mb", "1", "--context", "10",
            "--tokens", "1280", "--batch-size", "64", "--width", "32", "--k", "4", "--warmup-steps", "2", "--out", outDir);
        Assert.True(code == 0, err);
        Assert.Contains("explained variance", output);
        var sae = SaeLensFormat.Load(Path.Combine(outDir, "topk-w32-k4"));
        Assert.Equal(Hook, sae.Metadata.Hook?.Name);
        Assert.Equal(10, sae.Metadata.ContextSize);
        Assert.Equal(Path.GetFullPath(modelDir), sae.Metadata.ModelName);
        Assert.Equal(Path.GetFullPath(tokens), sae.Metadata.DatasetPath);   // the token store's folder, as for a stored source
        Assert.Empty(Directory.GetFiles(outDir, "*.bin", SearchOption.AllDirectories)); // no activations stored
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, SaeTrainer.CheckpointDir, "state.json")))!;
        Assert.Equal(5, state["stream"]!["per_context"]!.GetValue<int>());
        Assert.Equal(10, state["stream"]!["context"]!.GetValue<int>());
    }

    [Fact]
    public void Sae_train_needs_exactly_one_source_and_everything_a_stream_needs()
    {
        string dir = TestPaths.NewTempDir(), outDir = Path.Combine(dir, "out");
        void Refused(string expected, params string[] args)
        {
            var (code, _, err) = Run([.. args, "--out", outDir]);
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.False(Directory.Exists(outDir));
        }
        Refused("not both", "--acts", "x.npy", "--model", "m", "--data", "t", "--hook", Hook, "--tokens", "100");
        Refused("give --acts STORE, or --model DIR --data TOKENS --hook NAME", "--tokens", "100");
        Refused("--model needs --data", "--model", "m", "--hook", Hook, "--tokens", "100");
        Refused("--model needs --hook", "--model", "m", "--data", "t", "--tokens", "100");
        Refused("--model needs --tokens", "--model", "m", "--data", "t", "--hook", Hook);
        Refused("--per-context is for streaming from a model", "--acts", "x.npy", "--per-context", "5");
        Refused("--shuffle-mb is for streaming from a model", "--acts", "x.npy", "--shuffle-mb", "0");
        string modelDir = TestPaths.NewTempDir();
        ModelFiles.Save(HarvestFixture.Model(5), modelDir);
        Refused("blocks.3.mlp.hook_post", "--model", modelDir, "--data", HarvestFixture.TokenStore(seed: 8), "--hook", "blocks.3.mlp.hook_post", "--tokens", "100");
    }
}
