using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// SAELens' folder layout (docs/METHODS.md §2.8): cfg.json (v6, metadata block; v5 flat files read too),
/// sae_weights.safetensors with W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec (+ threshold for
/// JumpReLU; gated has b_gate, r_mag, b_mag [d_sae] instead of b_enc, with W_enc the gate weights), and optionally
/// sparsity.safetensors with log10 feature densities.
/// </summary>
public static class SaeLensFormat
{
    public const string ConfigFile = "cfg.json";

    /// <summary>The dictionaries directly inside <paramref name="dir"/> (sub-folders holding a cfg.json), in name order.</summary>
    public static string[] DictionariesIn(string dir) =>
        Directory.GetDirectories(dir).Where(d => File.Exists(Path.Combine(d, ConfigFile))).Order(StringComparer.Ordinal).ToArray();
    public const string WeightsFile = "sae_weights.safetensors";
    public const string SparsityFile = "sparsity.safetensors";

    /// <summary>
    /// Writes the SAE as a SAELens folder, atomically (the folder appears complete or not at all).
    /// <paramref name="extra"/> goes under a "mechanist" key (training settings, the folded scale).
    /// </summary>
    public static void Save(SparseAutoencoder sae, string dir, float[]? log10Density = null, JsonObject? extra = null, bool overwrite = true)
    {
        using var staging = AtomicDirectory.Begin(dir, overwrite);
        var tensors = WeightEntries(sae);
        SafeTensors.Save(Path.Combine(staging.TempPath, WeightsFile), tensors);
        if (log10Density != null)
        {
            if (log10Density.Length != sae.DSae) throw new ArgumentException("one density per latent");
            SafeTensors.Save(Path.Combine(staging.TempPath, SparsityFile), [SafeTensorsEntry.Of("sparsity", log10Density, sae.DSae)]);
        }
        var m = sae.Metadata;
        var cfg = new JsonObject
        {
            ["architecture"] = sae.Architecture.SaeLensName(),
            ["d_in"] = sae.DIn,
            ["d_sae"] = sae.DSae,
            ["dtype"] = "float32",
            ["device"] = "cpu",
            ["apply_b_dec_to_input"] = true,
            ["normalize_activations"] = "none",
            ["reshape_activations"] = "none",
            ["metadata"] = new JsonObject
            {
                ["model_name"] = m.ModelName,
                ["hook_name"] = m.Hook?.Name,
                ["hook_head_index"] = m.HookHeadIndex,
                ["context_size"] = m.ContextSize,
                ["prepend_bos"] = m.PrependBos,
                ["dataset_path"] = m.DatasetPath,
                ["model_from_pretrained_kwargs"] = new JsonObject(),
                ["sae_lens_version"] = "6.0.0", // the cfg.json layout written (v6), not a SAELens install
            },
        };
        if (sae.Architecture == SaeArchitecture.TopK) cfg["k"] = sae.K;
        var ours = extra?.DeepClone().AsObject() ?? new JsonObject();
        ours["architecture"] = sae.Architecture.CliName();
        if (sae.Architecture == SaeArchitecture.BatchTopK) { ours["k"] = sae.K; ours["batch_threshold"] = sae.BatchThreshold; }
        cfg["mechanist"] = ours;
        AtomicFile.WriteAllText(Path.Combine(staging.TempPath, ConfigFile), cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        staging.Commit();
    }

    /// <summary>
    /// The tensors of sae_weights.safetensors in SAELens names and shapes (W_enc [d_in, d_sae], W_dec, b_enc or b_gate,
    /// b_dec, r_mag and b_mag for gated, threshold for JumpReLU and BatchTopK), stored as <paramref name="storeAs"/>.
    /// </summary>
    public static List<SafeTensorsEntry> WeightEntries(SparseAutoencoder sae, DType storeAs = DType.F32)
    {
        var wEnc = Transpose(sae.WEnc.Value); // ours [d_sae, d_in] → SAELens [d_in, d_sae]
        var tensors = new List<SafeTensorsEntry>
        {
            SafeTensorsEntry.Float("W_enc", wEnc, storeAs),
            SafeTensorsEntry.Float("W_dec", sae.WDec.Value, storeAs),
            SafeTensorsEntry.Float(sae.Architecture == SaeArchitecture.Gated ? "b_gate" : "b_enc", sae.BEnc.Value, storeAs),
            SafeTensorsEntry.Float("b_dec", sae.BDec.Value, storeAs),
        };
        if (sae.Architecture == SaeArchitecture.Gated)
        {
            tensors.Add(SafeTensorsEntry.Float("r_mag", sae.RMag!.Value, storeAs));
            tensors.Add(SafeTensorsEntry.Float("b_mag", sae.BMag!.Value, storeAs));
        }
        if (sae.Architecture is SaeArchitecture.JumpRelu or SaeArchitecture.BatchTopK)
        {
            var threshold = new Tensor(sae.DSae);
            for (int i = 0; i < sae.DSae; i++)
                threshold[i] = sae.Architecture == SaeArchitecture.JumpRelu ? MathF.Exp(sae.LogThreshold!.Value[i]) : sae.BatchThreshold;
            tensors.Add(SafeTensorsEntry.Float("threshold", threshold, storeAs));
        }
        return tensors;
    }

    /// <summary>Reads a SAELens folder (v6 or v5 cfg.json). Unsupported settings fail with the file and field named.</summary>
    public static SparseAutoencoder Load(string dir)
    {
        string cfgPath = Path.Combine(dir, ConfigFile), weightsPath = Path.Combine(dir, WeightsFile);
        if (File.Exists(dir)) throw new UserError($"{dir} is a file; give the SAE folder that holds {ConfigFile} and {WeightsFile}");
        if (!File.Exists(cfgPath)) throw new UserError($"{dir}: not an SAE folder (no {ConfigFile})");
        if (!File.Exists(weightsPath)) throw new UserError($"{dir}: no {WeightsFile}");
        JsonObject cfg;
        try { cfg = JsonNode.Parse(File.ReadAllText(cfgPath)) as JsonObject ?? throw new DataFormatError(cfgPath, "(root)", "not a JSON object"); }
        catch (JsonException e) { throw new DataFormatError(cfgPath, "(root)", "invalid JSON: " + e.Message, e); }
        var ours = cfg["mechanist"] as JsonObject;
        string archName = Str(cfg, "architecture", cfgPath) ?? "standard";
        if (!SaeArchitectureNames.TryParse(archName, out var arch))
            throw new DataFormatError(cfgPath, "architecture", $"'{archName}' is not supported (relu/standard, topk, batchtopk, jumprelu, gated)");
        if (ours != null && Str(ours, "architecture", cfgPath) == "batchtopk") arch = SaeArchitecture.BatchTopK;
        int dIn = Int(cfg, "d_in", cfgPath) ?? throw new DataFormatError(cfgPath, "d_in", "missing");
        int dSae = Int(cfg, "d_sae", cfgPath) ?? throw new DataFormatError(cfgPath, "d_sae", "missing");
        if (dIn <= 0) throw new DataFormatError(cfgPath, "d_in", $"{dIn} is not positive");
        if (dSae <= 0) throw new DataFormatError(cfgPath, "d_sae", $"{dSae} is not positive");
        string norm = Str(cfg, "normalize_activations", cfgPath) ?? "none";
        if (norm != "none")
            throw new DataFormatError(cfgPath, "normalize_activations", $"'{norm}' needs a runtime scale this loader does not apply; fold it into the weights first");
        int k = arch switch
        {
            SaeArchitecture.TopK => Int(cfg, "k", cfgPath) ?? throw new DataFormatError(cfgPath, "k", "missing for a topk SAE"),
            SaeArchitecture.BatchTopK => Int(ours!, "k", cfgPath) ?? 32,
            _ => 32,
        };
        if (arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK && (k <= 0 || k > dSae))
            throw new DataFormatError(cfgPath, "k", $"{k} is outside [1, d_sae={dSae}]");
        var sae = new SparseAutoencoder(arch, dIn, dSae, k);
        var meta = cfg["metadata"] as JsonObject ?? cfg; // v5 keeps these at the top level
        sae.Metadata = new SaeMetadata
        {
            ModelName = Str(meta, "model_name", cfgPath),
            Hook = HookPointOf(Str(meta, "hook_name", cfgPath), cfgPath),
            HookHeadIndex = Int(meta, "hook_head_index", cfgPath),
            ContextSize = Int(meta, "context_size", cfgPath),
            PrependBos = meta["prepend_bos"] is JsonValue b && b.TryGetValue(out bool pb) ? pb : true,
            DatasetPath = Str(meta, "dataset_path", cfgPath),
        };

        using var file = SafeTensorsFile.Open(weightsPath);
        var wEnc = file.ReadFloat("W_enc", dIn, dSae);
        Transpose(wEnc, sae.WEnc.Value);
        file.ReadFloat("W_dec", dSae, dIn).Span.CopyTo(sae.WDec.Value.Span);
        ReadVector(file, arch == SaeArchitecture.Gated ? "b_gate" : "b_enc", dSae).CopyTo(sae.BEnc.Value.Span);
        ReadVector(file, "b_dec", dIn).CopyTo(sae.BDec.Value.Span);
        if (arch == SaeArchitecture.Gated)
        {
            ReadVector(file, "r_mag", dSae).CopyTo(sae.RMag!.Value.Span);
            ReadVector(file, "b_mag", dSae).CopyTo(sae.BMag!.Value.Span);
        }
        if (arch is SaeArchitecture.JumpRelu or SaeArchitecture.BatchTopK)
        {
            if (!file.Contains("threshold")) throw new DataFormatError(weightsPath, "threshold", "missing for a JumpReLU SAE");
            var threshold = ReadVector(file, "threshold", dSae);
            if (arch == SaeArchitecture.JumpRelu)
                for (int i = 0; i < dSae; i++) sae.LogThreshold!.Value[i] = MathF.Log(MathF.Max(threshold[i], 1e-30f)); // θ ≤ 0 acts as "any positive"
            else
                sae.BatchThreshold = ours?["batch_threshold"] is JsonValue v && v.TryGetValue(out float th) ? th : threshold[0];
        }
        bool applies = true;
        if (cfg["apply_b_dec_to_input"] is { } apply && !(apply is JsonValue flag && flag.TryGetValue(out applies)))
            throw new DataFormatError(cfgPath, "apply_b_dec_to_input", $"expected true or false, not {apply.ToJsonString()}");
        if (!applies)
        {
            // pre = W_enc·x + b_enc; ours computes W_enc·(x − b_dec) + b_enc′, so b_enc′ = b_enc + W_enc·b_dec.
            // Gated: the same for b_gate, and b_mag′ = b_mag + exp(r_mag)·W_enc·b_dec for the magnitude path.
            for (int i = 0; i < dSae; i++)
            {
                float shift = VectorMath.Dot<float>(sae.WEnc.Value.Row(i), sae.BDec.Value.Span);
                sae.BEnc.Value[i] += shift;
                if (arch == SaeArchitecture.Gated) sae.BMag!.Value[i] += MathF.Exp(sae.RMag!.Value[i]) * shift;
            }
        }
        foreach (var p in sae.Parameters)
            foreach (float x in p.Value.Span)
                if (!float.IsFinite(x)) throw new DataFormatError(weightsPath, p.Name, "contains NaN or infinity");
        return sae;
    }

    /// <summary>The log10 feature densities from sparsity.safetensors, or null when the folder has none.</summary>
    public static float[]? LoadLog10Density(string dir, int dSae)
    {
        string path = Path.Combine(dir, SparsityFile);
        if (!File.Exists(path)) return null;
        using var file = SafeTensorsFile.Open(path);
        return ReadVector(file, "sparsity", dSae).ToArray();
    }

    static Span<float> ReadVector(SafeTensorsFile file, string name, int n)
    {
        if (!file.Contains(name)) throw new DataFormatError(file.Path, name, "missing tensor");
        var t = file.ReadFloat(name);
        if (t.Length != n || t.Rank > 2) throw new DataFormatError(file.Path, name, $"shape {t.ShapeString}, expected [{n}]");
        return t.Span;
    }

    static Tensor Transpose(Tensor a)
    {
        var t = new Tensor(a.Dim(1), a.Dim(0));
        Transpose(a, t);
        return t;
    }

    static void Transpose(Tensor a, Tensor into)
    {
        int rows = a.Dim(0), cols = a.Dim(1);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) into[c * rows + r] = a[r * cols + c];
    }

    static string? Str(JsonObject o, string key, string path) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new DataFormatError(path, key, "expected a string"),
    };

    /// <summary>hook_name as a hook point; a name no Mechanist model has is refused here, at load, naming the file.</summary>
    static HookPoint? HookPointOf(string? name, string path)
    {
        if (name == null) return null;
        if (HookPoint.TryParse(name, out var point)) return point;
        throw new DataFormatError(path, "hook_name", $"'{name}' is not a hook point of Mechanist's models (e.g. {HookPoint.MlpPost(0)}, {HookPoint.ResidPost(0)})");
    }

    static int? Int(JsonObject o, string key, string path) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
        _ => throw new DataFormatError(path, key, "expected an integer"),
    };
}
