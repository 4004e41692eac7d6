using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// What SAELens' cfg.json must hold when we write it, each malformed cfg.json refused with its field named, and
/// the SAE object's own contract: refused sizes, parameter names and weight decay, the initialisations METHODS.md
/// §2 describes, clone, fold, encode/decode checks and batching past 4,096 rows.
/// </summary>
public class SaeFormatContractTests
{
    static SparseAutoencoder Sae(SaeArchitecture arch, int d = 6, int m = 10, int k = 3) => SparseAutoencoder.Create(arch, d, m, seed: 8, k: k);

    static JsonObject Cfg(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, SaeLensFormat.ConfigFile)))!.AsObject();

    [Fact]
    public void The_written_cfg_json_has_every_field_SAELens_v6_reads()
    {
        var sae = Sae(SaeArchitecture.BatchTopK);
        sae.BatchThreshold = 0.25f;
        sae.Metadata = new SaeMetadata { ModelName = "m", HookHeadIndex = 2, ContextSize = 64, PrependBos = false, DatasetPath = "data.jsonl" };
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        SaeLensFormat.Save(sae, dir, extra: new JsonObject { ["lr"] = 0.001 });
        var cfg = Cfg(dir);
        Assert.Equal("jumprelu", (string)cfg["architecture"]!);
        Assert.Equal(6, (int)cfg["d_in"]!);
        Assert.Equal(10, (int)cfg["d_sae"]!);
        Assert.Equal("float32", (string)cfg["dtype"]!);
        Assert.Equal("cpu", (string)cfg["device"]!);
        Assert.True((bool)cfg["apply_b_dec_to_input"]!);
        Assert.Equal("none", (string)cfg["normalize_activations"]!);
        Assert.Equal("none", (string)cfg["reshape_activations"]!);
        var meta = cfg["metadata"]!.AsObject();
        Assert.Equal("m", (string)meta["model_name"]!);
        Assert.Equal(2, (int)meta["hook_head_index"]!);
        Assert.Equal(64, (int)meta["context_size"]!);
        Assert.False((bool)meta["prepend_bos"]!);
        Assert.Equal("data.jsonl", (string)meta["dataset_path"]!);
        Assert.Empty(meta["model_from_pretrained_kwargs"]!.AsObject());
        Assert.Equal("6.0.0", (string)meta["sae_lens_version"]!);
        var ours = cfg["mechanist"]!.AsObject();
        Assert.Equal("batchtopk", (string)ours["architecture"]!);
        Assert.Equal(3, (int)ours["k"]!);
        Assert.Equal(0.25f, (float)ours["batch_threshold"]!);
        Assert.Equal(0.001, (double)ours["lr"]!);
        using (var file = SafeTensorsFile.Open(Path.Combine(dir, SaeLensFormat.WeightsFile)))
            Assert.All(file.ReadFloat("threshold").ToArray(), t => Assert.Equal(0.25f, t)); // every latent's threshold is θ

        var loaded = SparseAutoencoder.Load(dir);
        Assert.Equal(SaeArchitecture.BatchTopK, loaded.Architecture);
        Assert.Equal(0.25f, loaded.BatchThreshold);
        Assert.False(loaded.Metadata.PrependBos);
        Assert.Equal(2, loaded.Metadata.HookHeadIndex);
        Assert.Equal("data.jsonl", loaded.Metadata.DatasetPath);
        Assert.Equal(3, loaded.K);
        Assert.Throws<ArgumentException>(() => SaeLensFormat.Save(sae, Path.Combine(dir, "x"), new float[9]));
    }

    public static TheoryData<string, string, string> BadConfigs() => new()
    {
        { """{"architecture": "sparse", "d_in": 6, "d_sae": 10}""", "architecture", "'sparse' is not supported" },
        { """{"architecture": 3, "d_in": 6, "d_sae": 10}""", "architecture", "expected a string" },
        { """{"d_sae": 10}""", "d_in", "missing" },
        { """{"d_in": 6}""", "d_sae", "missing" },
        { """{"d_in": 0, "d_sae": 10}""", "d_in", "0 is not positive" },
        { """{"d_in": 6, "d_sae": 0}""", "d_sae", "0 is not positive" },
        { """{"d_in": 6.5, "d_sae": 10}""", "d_in", "expected an integer" },
        { """{"d_in": "6", "d_sae": 10}""", "d_in", "expected an integer" },
        { """{"d_in": 6, "d_sae": 10, "normalize_activations": "expected_average_only_in"}""", "normalize_activations", "fold it into the weights" },
        { """{"architecture": "topk", "d_in": 6, "d_sae": 10}""", "k", "missing for a topk SAE" },
        { """{"architecture": "topk", "d_in": 6, "d_sae": 10, "k": 0}""", "k", "0 is outside [1, d_sae=10]" },
        { """{"architecture": "topk", "d_in": 6, "d_sae": 10, "k": 11}""", "k", "11 is outside [1, d_sae=10]" },
        { """{"d_in": 6, "d_sae": 10, "apply_b_dec_to_input": "yes"}""", "apply_b_dec_to_input", "expected true or false" },
        { """{"d_in": 6, "d_sae": 10, "metadata": {"hook_name": "blocks.0.nowhere"}}""", "hook_name", "is not a hook point" },
        { """[1, 2]""", "(root)", "not a JSON object" },
        { """{"d_in": 6,""", "(root)", "invalid JSON" },
    };

    [Theory, MemberData(nameof(BadConfigs))]
    public void A_malformed_cfg_json_is_refused_naming_the_field(string json, string field, string message)
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        SaeLensFormat.Save(Sae(SaeArchitecture.Relu), dir);
        File.WriteAllText(Path.Combine(dir, SaeLensFormat.ConfigFile), json);
        var e = Assert.Throws<DataFormatError>(() => SparseAutoencoder.Load(dir));
        Assert.Equal(field, e.Field);
        Assert.Contains(message, e.Message);
        Assert.EndsWith(SaeLensFormat.ConfigFile, e.FilePath);
    }

    [Fact]
    public void The_edges_of_what_a_cfg_json_may_say_load()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        var sae = Sae(SaeArchitecture.TopK, k: 10);
        SaeLensFormat.Save(sae, dir);
        // k = d_sae, sizes written as 6.0, v5's metadata at the top level, no architecture (standard) but then topk's k.
        File.WriteAllText(Path.Combine(dir, SaeLensFormat.ConfigFile),
            """{"architecture": "topk", "d_in": 6.0, "d_sae": 10, "k": 10, "hook_name": "blocks.0.mlp.hook_post", "context_size": 32}""");
        var loaded = SparseAutoencoder.Load(dir);
        Assert.Equal(10, loaded.K);
        Assert.Equal("blocks.0.mlp.hook_post", loaded.Metadata.Hook?.Name);
        Assert.Equal(32, loaded.Metadata.ContextSize);
        Assert.True(loaded.Metadata.PrependBos); // SAELens' default when the cfg does not say
        File.WriteAllText(Path.Combine(dir, SaeLensFormat.ConfigFile), """{"d_in": 6, "d_sae": 10}""");
        Assert.Equal(SaeArchitecture.Relu, SparseAutoencoder.Load(dir).Architecture);
    }

    [Fact]
    public void Missing_files_and_bad_tensors_are_refused_naming_the_file()
    {
        string root = TestPaths.NewTempDir();
        string dir = Path.Combine(root, "sae");
        Assert.Contains("not an SAE folder (no cfg.json)", Assert.Throws<UserError>(() => SparseAutoencoder.Load(root)).Message);
        SaeLensFormat.Save(Sae(SaeArchitecture.JumpRelu), dir);
        string weights = Path.Combine(dir, SaeLensFormat.WeightsFile);
        Assert.Contains("is a file", Assert.Throws<UserError>(() => SparseAutoencoder.Load(weights)).Message);
        var good = File.ReadAllBytes(weights);

        void WithTensors(List<SafeTensorsEntry> tensors, string field, string message)
        {
            SafeTensors.Save(weights, tensors);
            var e = Assert.Throws<DataFormatError>(() => SparseAutoencoder.Load(dir));
            Assert.Equal(field, e.Field);
            Assert.Contains(message, e.Message);
            File.WriteAllBytes(weights, good);
        }
        var sae = Sae(SaeArchitecture.JumpRelu);
        var entries = SaeLensFormat.WeightEntries(sae);
        WithTensors(entries.Where(t => t.Name != "threshold").ToList(), "threshold", "missing for a JumpReLU SAE");
        WithTensors(entries.Where(t => t.Name != "b_dec").ToList(), "b_dec", "missing tensor");
        WithTensors(entries.Select(t => t.Name == "b_enc" ? SafeTensorsEntry.Of("b_enc", new float[9], 9) : t).ToList(), "b_enc", "expected [10]");
        WithTensors(entries.Select(t => t.Name == "b_enc" ? SafeTensorsEntry.Of("b_enc", new float[10], 1, 1, 10) : t).ToList(), "b_enc", "expected [10]");
        var nan = new float[10]; nan[3] = float.NaN;
        WithTensors(entries.Select(t => t.Name == "b_enc" ? SafeTensorsEntry.Of("b_enc", nan, 10) : t).ToList(), "b_enc", "NaN or infinity");
        File.Delete(weights);
        Assert.Contains("no sae_weights.safetensors", Assert.Throws<UserError>(() => SparseAutoencoder.Load(dir)).Message);
    }

    [Fact]
    public void Dictionaries_in_a_folder_are_its_subfolders_with_a_cfg_json_in_ordinal_order()
    {
        string root = TestPaths.NewTempDir();
        foreach (var name in new[] { "b", "a", "B" }) SaeLensFormat.Save(Sae(SaeArchitecture.Relu), Path.Combine(root, name));
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        Assert.Equal(["B", "a", "b"], SaeLensFormat.DictionariesIn(root).Select(Path.GetFileName));
        Assert.Null(SaeLensFormat.LoadLog10Density(Path.Combine(root, "a"), 10));
    }

    [Fact]
    public void The_constructor_refuses_empty_sizes_and_k_outside_one_to_d_sae()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SparseAutoencoder(SaeArchitecture.Relu, 0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SparseAutoencoder(SaeArchitecture.Relu, 4, 0));
        Assert.Contains("k must be in [1, d_sae=4]", Assert.Throws<ArgumentOutOfRangeException>(() => new SparseAutoencoder(SaeArchitecture.TopK, 4, 4, k: 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SparseAutoencoder(SaeArchitecture.BatchTopK, 4, 4, k: 5));
        _ = new SparseAutoencoder(SaeArchitecture.TopK, 4, 4, k: 4);
        _ = new SparseAutoencoder(SaeArchitecture.Relu, 4, 4, k: 0); // k only matters for topk and batchtopk
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu, "W_enc b_enc W_dec b_dec", "W_enc W_dec")]
    [InlineData(SaeArchitecture.JumpRelu, "W_enc b_enc W_dec b_dec log_threshold", "W_enc W_dec")]
    [InlineData(SaeArchitecture.Gated, "W_enc b_gate W_dec b_dec r_mag b_mag", "W_enc W_dec")]
    public void Parameters_are_named_as_SAELens_names_them_and_only_weights_decay(SaeArchitecture arch, string names, string decaying)
    {
        var sae = new SparseAutoencoder(arch, 4, 6);
        Assert.Equal(names, string.Join(' ', sae.Parameters.Select(p => p.Name)));
        Assert.Equal(decaying, string.Join(' ', sae.Parameters.Where(p => p.WeightDecay).Select(p => p.Name)));
        Assert.Equal("relu SAE 4 → 6", new SparseAutoencoder(SaeArchitecture.Relu, 4, 6).ToString());
        Assert.Equal("topk SAE 4 → 6 (k=2)", new SparseAutoencoder(SaeArchitecture.TopK, 4, 6, k: 2).ToString());
        Assert.Equal("batchtopk SAE 4 → 6 (k=2)", new SparseAutoencoder(SaeArchitecture.BatchTopK, 4, 6, k: 2).ToString());
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.Gated)]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    public void Create_initialises_as_the_papers_do(SaeArchitecture arch)
    {
        var sae = Sae(arch, d: 16, m: 40);
        for (int i = 0; i < 40; i++)
        {
            double sq = 0; foreach (float v in sae.WDec.Value.Row(i)) sq += v * v;
            Assert.Equal(1, sq, 1e-5);
        }
        bool tied = arch is not (SaeArchitecture.Relu or SaeArchitecture.Gated);
        Assert.Equal(tied, sae.WEnc.Value.ToArray().SequenceEqual(sae.WDec.Value.ToArray()));
        float bound = 1 / MathF.Sqrt(16);
        if (!tied) Assert.All(sae.WEnc.Value.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.Contains(sae.WEnc.Value.ToArray(), v => Math.Abs(v) > 0.05f);
        Assert.All(sae.BEnc.Value.ToArray(), v => Assert.Equal(0, v));
        Assert.All(sae.BDec.Value.ToArray(), v => Assert.Equal(0, v));
        if (sae.LogThreshold != null) Assert.All(sae.LogThreshold.Value.ToArray(), v => Assert.Equal(MathF.Log(0.001f), v));
        Assert.Equal(sae.WDec.Value.ToArray(), Sae(arch, d: 16, m: 40).WDec.Value.ToArray()); // the seed decides
    }

    [Fact]
    public void Normalising_leaves_zero_rows_zero_and_clone_and_fold_keep_everything()
    {
        var sae = Sae(SaeArchitecture.BatchTopK);
        sae.WDec.Value.Row(2).Clear();
        for (int j = 0; j < 6; j++) sae.WDec.Value[j] *= 3;
        sae.NormalizeDecoderRows();
        Assert.All(sae.WDec.Value.Row(2).ToArray(), v => Assert.Equal(0, v));
        double sq = 0; foreach (float v in sae.WDec.Value.Row(0)) sq += v * v;
        Assert.Equal(1, sq, 1e-5);

        sae.BatchThreshold = 0.3f;
        sae.Metadata = new SaeMetadata { ModelName = "m" };
        var copy = sae.Clone();
        Assert.Equal(0.3f, copy.BatchThreshold);
        Assert.Equal("m", copy.Metadata.ModelName);
        Assert.Throws<ArgumentOutOfRangeException>(() => sae.FoldInputScale(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => sae.FoldInputScale(float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => sae.FoldInputScale(float.NaN));
    }

    [Fact]
    public void Inputs_of_the_wrong_width_and_codes_of_another_sae_are_refused()
    {
        var sae = Sae(SaeArchitecture.Relu);
        Assert.Contains("the SAE reads d_in = 6", Assert.Throws<ArgumentException>(() => sae.Encode(new Tensor(2, 5))).Message);
        Assert.Contains("the SAE reads d_in = 6", Assert.Throws<ArgumentException>(() => sae.Reconstruct(new Tensor(2, 7))).Message);
        var codes = new SparseCodes(11, [0, 0], [], []);
        Assert.Contains("codes have 11 latents, the SAE 10", Assert.Throws<ArgumentException>(() => sae.Decode(codes)).Message);
    }

    [Fact]
    public void Batchtopk_infers_with_its_threshold_and_inputs_past_one_batch_are_all_encoded()
    {
        var sae = Sae(SaeArchitecture.BatchTopK, d: 4, m: 8, k: 2);
        var x = new Tensor(4096 + 5, 4);
        new Rng(1).FillNormal(x.Span, 0, 1);
        sae.BatchThreshold = 1e9f; // nothing passes θ: inference uses θ, not the batch's own top k·B
        Assert.Equal(0, sae.Encode(x).L0);
        sae.BatchThreshold = 1e-9f;
        var codes = sae.Encode(x);
        Assert.Equal(4101, codes.Rows);
        var reconstructed = sae.Reconstruct(x);
        var decoded = sae.Decode(codes);
        for (int t = 4090; t < 4101; t++) // the second batch's rows too
        {
            Assert.True(codes.RowIndices(t).Length > 0, $"row {t} has no active latent");
            for (int j = 0; j < 4; j++) Assert.Equal(decoded[t * 4 + j], reconstructed[t * 4 + j], 1e-5f);
        }
        var stats = new List<SaeBatchStats>();
        sae.ForBatches(x, (_, _, _) => { }, stats.Add);
        Assert.Equal([4096, 5], stats.Select(s => s.Batch));
    }
}
