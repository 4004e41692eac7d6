using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>A model folder's files as other tools read them, and each broken folder refused with the file and field named.</summary>
public class ModelFilesContractTests
{
    static readonly TransformerConfig Config = new() { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 13 };

    static string Saved()
    {
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(Transformer<float>.Create(Config, 1), dir);
        return dir;
    }

    [Fact]
    public void Save_writes_an_indented_config_and_pytorch_format_metadata()
    {
        string dir = Saved();
        string config = File.ReadAllText(Path.Combine(dir, ModelFiles.ConfigFile));
        Assert.StartsWith("{\n  \"architectures\": [", config.Replace("\r\n", "\n"));
        Assert.EndsWith("}\n", config);
        // transformers refuses a safetensors file without {"format": "pt"} in its metadata.
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, ModelFiles.WeightsFile));
        Assert.Equal("pt", weights.Metadata["format"]);
    }

    [Fact]
    public void Broken_folders_are_refused_naming_the_file_and_field()
    {
        string empty = TestPaths.NewTempDir();
        Assert.Equal($"{empty}: no config.json (is this a model folder?)", Assert.Throws<UserError>(() => ModelFiles.ReadConfig(empty)).Message);

        string dir = Saved();
        string config = Path.Combine(dir, ModelFiles.ConfigFile);
        string good = File.ReadAllText(config);
        File.WriteAllText(config, "[1]");
        Assert.Equal($"{config}: (root): not a JSON object", Assert.Throws<DataFormatError>(() => ModelFiles.ReadConfig(dir)).Message);
        File.WriteAllText(config, "{\"n_layer\": ");
        Assert.StartsWith($"{config}: (json): ", Assert.Throws<DataFormatError>(() => ModelFiles.ReadConfig(dir)).Message);
        var json = JsonNode.Parse(good)!.AsObject();
        json["model_type"] = "llama";
        File.WriteAllText(config, json.ToJsonString());
        Assert.Equal($"{config}: model_type: 'llama' is not supported (only gpt2)", Assert.Throws<DataFormatError>(() => ModelFiles.ReadConfig(dir)).Message);
        File.WriteAllText(config, good);

        File.Delete(Path.Combine(dir, ModelFiles.WeightsFile));
        Assert.Equal($"{dir}: no model.safetensors", Assert.Throws<UserError>(() => ModelFiles.Load(dir)).Message);
    }

    [Fact]
    public void A_missing_or_unexpected_tensor_is_named()
    {
        string dir = Saved();
        string weights = Path.Combine(dir, ModelFiles.WeightsFile);
        var model = Transformer<float>.Create(Config, 1);
        var entries = model.Weights.Select(w => SafeTensorsEntry.Float(w.Name, w.Weight.Value)).ToList();
        SafeTensors.Save(weights, entries.Where(e => e.Name != "transformer.ln_f.weight").ToList());
        var e = Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir));
        Assert.Equal($"{weights}: transformer.ln_f.weight: missing (expected shape [8])", e.Message);

        SafeTensors.Save(weights, [.. entries, SafeTensorsEntry.Float("transformer.h.1.ln_1.weight", new Tensor(8))]);
        e = Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir));
        Assert.Equal($"{weights}: transformer.h.1.ln_1.weight: unexpected tensor for this config (wrong n_layer, or not a GPT-2 checkpoint?)", e.Message);
    }

    [Fact]
    public void Models_without_a_gpt2_equivalent_are_not_exported()
    {
        var attnOnly = Transformer<float>.Create(Config with { AttentionOnly = true }, 1);
        Assert.Equal("an attention-only model has no GPT2LMHeadModel equivalent (GPT-2 blocks always have an MLP)",
            Assert.Throws<UserError>(() => ModelFiles.ExportHuggingFace(attnOnly, TestPaths.NewTempDir())).Message);
        var sparse = Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", 13), 1);
        Assert.StartsWith("a weight-sparse-family model (RMSNorm, bigram table, attention sink, AbsTopK) has no GPT2LMHeadModel equivalent",
            Assert.Throws<UserError>(() => ModelFiles.ExportHuggingFace(sparse, TestPaths.NewTempDir())).Message);
    }
}
