using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Models;

/// <summary>
/// Reads and writes models as Hugging Face GPT-2 folders: <c>config.json</c> + <c>model.safetensors</c> with
/// <c>GPT2LMHeadModel</c> tensor names and Conv1D [in, out] weights. Mechanist's own run directories use the
/// same layout, so exporting is writing and importing is a validated read.
/// </summary>
public static class ModelFiles
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes config.json and model.safetensors into <paramref name="dir"/> (each file atomically).</summary>
    public static void Save(Transformer<float> model, string dir)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), model.Config.ToJson().ToJsonString(Indented) + "\n");
        SafeTensors.Save(Path.Combine(dir, WeightsFile),
            model.Weights.Select(w => (w.Name, w.Weight.Value, DType.F32)),
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Reads a model folder's config.json.</summary>
    public static TransformerConfig ReadConfig(string dir)
    {
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new UserError($"{dir}: no {ConfigFile} (is this a model folder?)");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatError(path, "(root)", "not a JSON object"); }
        catch (JsonException e) { throw new DataFormatError(path, "(json)", e.Message, e); }
        if (json["model_type"]?.GetValue<string>() is { } type && type != "gpt2")
            throw new DataFormatError(path, "model_type", $"'{type}' is not supported (only gpt2)");
        return TransformerConfig.FromJson(json, path);
    }

    /// <summary>
    /// Loads a model folder (Mechanist's or a Hugging Face GPT-2 download). Keys may carry the
    /// <c>transformer.</c> prefix or not; attention mask buffers are skipped; F16/BF16/F64 weights are
    /// widened to float32. Every weight must be present with its exact shape, and no unknown tensor may remain.
    /// </summary>
    public static Transformer<float> Load(string dir)
    {
        var config = ReadConfig(dir);
        string path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path)) throw new UserError($"{dir}: no {WeightsFile}");
        var model = Transformer<float>.Empty(config);
        using var file = SafeTensorsFile.Open(path);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, weight) in model.Weights)
        {
            string? stored = file.Contains(name) ? name
                : name.StartsWith("transformer.") && file.Contains(name["transformer.".Length..]) ? name["transformer.".Length..] : null;
            if (stored == null)
                throw new DataFormatError(path, name, $"missing (expected shape {weight.Value.ShapeString})");
            var t = file.ReadFloat(stored, weight.Value.Shape);
            t.Span.CopyTo(weight.Value.Span);
            used.Add(stored);
        }
        foreach (string name in file.Names)
        {
            if (used.Contains(name) || name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias")) continue;
            if (name == "lm_head.weight" && config.TiedEmbeddings) continue; // some savers store the tied copy
            throw new DataFormatError(path, name, "unexpected tensor for this config (wrong n_layer, or not a GPT-2 checkpoint?)");
        }
        return model;
    }

    /// <summary>Writes a Hugging Face GPT2LMHeadModel folder; attention-only models have no GPT-2 equivalent.</summary>
    public static void ExportHuggingFace(Transformer<float> model, string dir)
    {
        if (model.Config.AttentionOnly)
            throw new UserError("an attention-only model has no GPT2LMHeadModel equivalent (GPT-2 blocks always have an MLP)");
        if (!model.Config.IsGpt2)
            throw new UserError("a weight-sparse-family model (RMSNorm, bigram table, attention sink, AbsTopK) has no GPT2LMHeadModel equivalent");
        Save(model, dir);
    }
}
