using System.CommandLine;
using Mechanist.Activations;
using Mechanist.Cli.Commands;
using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Tests.Activations;

[Collection("console-alone")]
public class HarvestCommandTests
{
    const string Hook = "blocks.0.mlp.hook_post";

    [Fact]
    public void Command_line_harvest_records_inputs_and_refuses_to_overwrite()
    {
        var model = HarvestFixture.Model(5);
        string modelDir = TestPaths.NewTempDir();
        ModelFiles.Save(model, modelDir);
        string tokens = HarvestFixture.TokenStore(seed: 8);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "acts");
        string[] args = ["acts", "harvest", "--model", modelDir, "--data", tokens, "--hook", Hook, "--tokens", "1_000", "--per-context", "5", "--dtype", "f16", "--out", outDir];
        var (code, _, err) = Run(args);
        Assert.True(code == 0, err);
        using (var written = ActivationStore.Open(outDir))
        {
            Assert.Equal(1000, written.RowCount);
            Assert.Equal(DType.F16, written.StoredDType);
            Assert.Equal(3, written.Manifest.Inputs.Count);
            Assert.Empty(written.Manifest.ChangedInputs());
        }
        Assert.Equal(1, Run(args).Code);
        var (bad, _, badErr) = Run("acts", "harvest", "--model", modelDir, "--data", tokens, "--hook", "blocks.3.mlp.hook_post", "--tokens", "10", "--out", Path.Combine(outDir, "x"));
        Assert.Equal(1, bad);
        Assert.Contains("blocks.3.mlp.hook_post", badErr);
    }

    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(ActsCommands.Create(), args);
}
