using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Tests.Models;

public class ModelFilesTests
{
    static readonly TransformerConfig Config = new() { Layers = 2, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 13 };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Export_then_import_is_exact(bool tied)
    {
        var model = Transformer<float>.Create(Config with { TiedEmbeddings = tied, ScaleAttnByInverseLayerIdx = !tied }, 42);
        string dir = TestPaths.NewTempDir();
        ModelFiles.ExportHuggingFace(model, dir);
        var loaded = ModelFiles.Load(dir);
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(model.Weights.Count, loaded.Weights.Count);
        for (int i = 0; i < model.Weights.Count; i++)
        {
            Assert.Equal(model.Weights[i].Name, loaded.Weights[i].Name);
            Assert.Equal(model.Weights[i].Weight.Value.ToArray(), loaded.Weights[i].Weight.Value.ToArray());
        }
        using var file = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        Assert.Equal([8L, 24L], file.Info("transformer.h.0.attn.c_attn.weight").Shape); // Conv1D [in, out]
        Assert.Equal(!tied, file.Contains("lm_head.weight"));
    }

    [Fact]
    public void Keys_without_the_transformer_prefix_and_mask_buffers_load()
    {
        var model = Transformer<float>.Create(Config, 1);
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(model, dir);
        var entries = model.Weights.Select(w => SafeTensorsEntry.Float(w.Name.Replace("transformer.", ""), w.Weight.Value)).ToList();
        entries.Add(SafeTensorsEntry.Float("h.0.attn.bias", new Tensor(1, 1, 8, 8)));
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), entries);
        var loaded = ModelFiles.Load(dir);
        Assert.Equal(model.TokenEmbedding.Value.ToArray(), loaded.TokenEmbedding.Value.ToArray());
    }

    [Fact]
    public void Loading_rejects_missing_or_misshaped_tensors_naming_them()
    {
        var model = Transformer<float>.Create(Config, 1);
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(model, dir);
        string weights = Path.Combine(dir, "model.safetensors");

        SafeTensors.Save(weights, model.Weights.Where(w => w.Name != "transformer.h.1.mlp.c_fc.bias")
            .Select(w => SafeTensorsEntry.Float(w.Name, w.Weight.Value)));
        var missing = Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir));
        Assert.Equal("transformer.h.1.mlp.c_fc.bias", missing.Field);
        Assert.Contains("missing", missing.Message);

        SafeTensors.Save(weights, model.Weights.Select(w => SafeTensorsEntry.Float(w.Name,
            w.Name == "transformer.h.0.attn.c_proj.weight" ? new Tensor(4, 8) : w.Weight.Value)));
        var shaped = Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir));
        Assert.Equal("transformer.h.0.attn.c_proj.weight", shaped.Field);
        Assert.Contains("[4, 8]", shaped.Message);

        SafeTensors.Save(weights, model.Weights.Select(w => SafeTensorsEntry.Float(w.Name, w.Weight.Value))
            .Append(SafeTensorsEntry.Float("transformer.h.2.ln_1.weight", new Tensor(8))));
        Assert.Contains("unexpected", Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir)).Message);

        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"n_embd\": 8, \"n_layer\": 2, \"n_head\": 3, \"n_positions\": 8, \"vocab_size\": 13}");
        Assert.Equal("n_head", Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir)).Field);
    }
}
