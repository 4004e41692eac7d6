using System.CommandLine;
using System.Text.Json;
using Mechanist.Cli.Commands;
using Mechanist.Models;

namespace Mechanist.Tests.Models;

[Collection("console-alone")]
public class ModelCommandsTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(ModelCommands.Create(), args);

    [Fact]
    public void Logits_export_and_import_from_the_command_line()
    {
        var model = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 10 }, 5);
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(model, dir);
        var (code, output, _) = Run("model", "logits", "--model", dir, "--tokens", "1,2,3", "--json");
        Assert.Equal(0, code);
        var logits = JsonSerializer.Deserialize<float[]>(output)!;
        Assert.Equal(model.Forward([1, 2, 3], 1, 3).Value.Row(2).ToArray(), logits);

        string exported = Path.Combine(TestPaths.NewTempDir(), "hf");
        Assert.Equal(0, Run("model", "export-hf", "--model", dir, "--out", exported).Code);
        string imported = Path.Combine(TestPaths.NewTempDir(), "back");
        Assert.Equal(0, Run("model", "import-hf", "--from", exported, "--out", imported).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), File.ReadAllBytes(Path.Combine(imported, "model.safetensors")));
        Assert.Equal(1, Run("model", "import-hf", "--from", exported, "--out", imported).Code); // exists, no --force

        var (bad, _, err) = Run("model", "logits", "--model", dir, "--tokens", "1,99");
        Assert.Equal(1, bad);
        Assert.Contains("outside the vocabulary", err);
    }
}
