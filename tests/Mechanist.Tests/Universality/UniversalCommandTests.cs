using System.Globalization;
using Mechanist.Cli.Commands;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Mechanist.Tests.Activations;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

[Collection("console-alone")]
public class UniversalCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(UniversalCommands.Create(), args);

    static string[] Acts => [UniversalFixture.Acts(0), UniversalFixture.Acts(1), UniversalFixture.Acts(2)];

    static List<string[]> Csv(string dir) =>
        File.ReadAllLines(Path.Combine(dir, UniversalOutput.CsvFile)).Select(l => l.Split(',')).ToList();

    [Fact]
    public void Acts_run_writes_the_csv_columns_and_universal_neurons_then_refuses_to_overwrite()
    {
        string outDir = Path.Combine(TestPaths.NewTempDir(), "un");
        string[] args = ["universal", "neurons", "--acts", .. Acts, "--layers", "2", "--out", outDir, "--batch", "700"];
        var (code, stdout, err) = Run(args);
        Assert.True(code == 0, err);
        var rows = Csv(outDir);
        Assert.Equal("layer,neuron,max_corr_1,max_corr_2,mean_max_corr,baseline,excess_corr,is_universal,baseline_rotation,match_1,match_2",
            string.Join(',', rows[0]));
        Assert.Equal(33, rows.Count);
        var max = UniversalFixture.Golden("max01.npy");
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal((i / 16).ToString(CultureInfo.InvariantCulture), rows[i + 1][0]);
            if (!double.IsNaN(max[i])) Assert.Equal(max[i], double.Parse(rows[i + 1][2], CultureInfo.InvariantCulture), 1e-5);
            double excess = double.Parse(rows[i + 1][6], CultureInfo.InvariantCulture);
            Assert.Equal(excess > 0.5 ? "true" : "false", rows[i + 1][7]);
        }
        // Only neurons that follow shared factors (layer 0: 0-5, layer 1: 0-3; max_corr 0.85-0.95) can be universal;
        // with the paper's rotation baseline (≈ 0.35-0.45 here: a rotated layer still mixes in the shared factors) some are.
        var universal = Enumerable.Range(0, 32).Where(i => rows[i + 1][7] == "true").ToList();
        Assert.NotEmpty(universal);
        Assert.All(universal, i => Assert.True(i < 6 || i is >= 16 and < 20, $"neuron {i}"));
        Assert.Contains("universal (excess_corr > 0.5)", stdout);
        Assert.Equal(1, Run(args).Code);
    }

    [Fact]
    public void Shards_merged_by_the_command_give_the_unsharded_csv()
    {
        string root = TestPaths.NewTempDir();
        string[] common = ["--acts", .. Acts, "--layers", "2", "--batch", "250", "--baselines", "rotation,gaussian", "--seed", "3"];
        Assert.Equal(0, Run(["universal", "neurons", .. common, "--out", Path.Combine(root, "whole")]).Code);
        string sharded = Path.Combine(root, "sharded");
        for (int i = 0; i < 3; i++)
        {
            var (code, _, err) = Run(["universal", "neurons", .. common, "--shard", $"{i}/3", "--out", sharded]);
            Assert.True(code == 0, err);
        }
        var (mergeCode, _, mergeErr) = Run("universal", "merge", "--out", sharded);
        Assert.True(mergeCode == 0, mergeErr);
        var a = Csv(Path.Combine(root, "whole"));
        var b = Csv(sharded);
        Assert.Equal(a[0], b[0]);
        for (int r = 1; r < a.Count; r++)
            for (int c = 0; c < a[r].Length; c++)
                if (double.TryParse(a[r][c], CultureInfo.InvariantCulture, out double x) && !double.IsNaN(x))
                    Assert.Equal(x, double.Parse(b[r][c], CultureInfo.InvariantCulture), 2e-6);
                else Assert.Equal(a[r][c], b[r][c]);
        Assert.Equal(1, Run("universal", "merge", "--out", sharded).Code); // universal.csv is there now
    }

    [Fact]
    public void Bad_inputs_get_one_clear_error_and_write_nothing()
    {
        string root = TestPaths.NewTempDir();
        string narrow = Path.Combine(root, "narrow.npy");
        Npy.Save(narrow, new Tensor(100, 30));
        string outDir = Path.Combine(root, "out");
        var (code, _, err) = Run(["universal", "neurons", "--acts", UniversalFixture.Acts(0), narrow, "--out", outDir]);
        Assert.Equal(1, code);
        Assert.Contains("different shapes", err);
        Assert.Single(err.Trim().Split('\n'));

        string tokens = HarvestFixture.TokenStore(seed: 4);
        string a = SaveModel(Config(2, 32), 1), b = SaveModel(Config(1, 32), 2), small = SaveModel(Config(2, 32) with { Vocab = 20 }, 3);
        (code, _, err) = Run(["universal", "neurons", "--models", a, b, "--data", tokens, "--tokens", "200", "--out", outDir]);
        Assert.Equal(1, code);
        Assert.Contains("different shapes", err);
        (code, _, err) = Run(["universal", "neurons", "--models", a, small, "--data", tokens, "--tokens", "200", "--out", outDir]);
        Assert.Equal(1, code);
        Assert.Contains("another tokenizer", err);
        string gpt2 = Mechanist.Tests.Text.Gpt2.Dir;
        if (Directory.Exists(gpt2))
        {
            string withTokenizer = SaveModel(Config(2, 32), 4);
            foreach (string f in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(gpt2, f), Path.Combine(withTokenizer, f));
            (code, _, err) = Run(["universal", "neurons", "--models", withTokenizer, a, "--data", tokens, "--tokens", "200", "--out", outDir]);
            Assert.Equal(1, code);
            Assert.Contains("another tokenizer", err);
        }
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(root, ".out*"));
    }

    [Fact]
    public void Models_run_writes_statistics_families_and_roles_per_model()
    {
        string tokens = HarvestFixture.TokenStore(seed: 7);
        var config = Config(2, 32);
        string a = SaveModel(config, 1), b = SaveModel(config, 2), c = SaveModel(config, 3);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "un");
        var (code, _, err) = Run("universal", "neurons", "--models", a, b, c, "--data", tokens, "--tokens", "480", "--context", "12", "--batch", "10",
            "--stats-tokens", "240", "--out", outDir);
        Assert.True(code == 0, err);
        var rows = Csv(outDir);
        Assert.Equal(65, rows.Count);
        Assert.Equal([.. "layer,neuron,max_corr_1,max_corr_2,mean_max_corr,baseline,excess_corr,is_universal".Split(',')], rows[0].Take(8));
        Assert.Contains("sparsity", rows[0]);
        Assert.Contains("vocab_kurt", rows[0]);
        Assert.Equal("role", rows[0][^1]);
        foreach (int m in new[] { 0, 1, 2 })
        {
            var lines = File.ReadAllLines(Path.Combine(outDir, $"neurons-model{m}.csv"));
            Assert.Equal(65, lines.Length);
            Assert.StartsWith("layer,neuron,sparsity,mean,var,skew,kurt,w_in_norm", lines[0]);
            Assert.Equal(m == 0, lines[0].EndsWith("is_universal"));
        }
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, UniversalOutput.SummaryFile)))!;
        Assert.NotNull(summary["neurons"]!["other"]!["median_activation_frequency"]);
        Assert.Equal(1 + 24 * 8, File.ReadAllLines(Path.Combine(outDir, EntropyIntervention.CsvFile)).Length - 1);
        Assert.True(File.Exists(Path.Combine(outDir, EntropyIntervention.PlotFile)));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(outDir, AttentionDeactivation.CsvFile)).Length - 1);
        Assert.NotNull(summary["roles"]!["entropy_intervention"]!["clean"]!["loss"]);
    }

    [Fact]
    public void Model_rows_are_the_hook_activations_without_first_positions_and_end_of_text()
    {
        string tokens = HarvestFixture.TokenStore(seed: 5);
        var config = Config(2, 32);
        string a = SaveModel(config, 1), b = SaveModel(config, 2);
        using var data = ModelUnitBatches.Open([a, b], tokens, 96, context: 12, batchWindows: 4);
        Assert.Equal(2, data.BatchCount);
        var buffers = data.Layouts.Select(l => new float[data.MaxTokens * l.Units]).ToArray();
        int rows = data.Read(1, buffers);
        using var store = Mechanist.Text.TokenStore.Open(tokens);
        var model = ModelFiles.Load(b);
        int r = 0;
        for (int w = 4; w < 8; w++)
        {
            var window = new int[12];
            store.ReadWindow(w * 12, window);
            var direct = Enumerable.Range(0, 2).Select(l => HarvestFixture.Direct(model, window, HookPoint.MlpPost(l))).ToArray();
            for (int p = 1; p < 12; p++)
            {
                if (window[p] == store.EndOfText) continue;
                for (int l = 0; l < 2; l++)
                    for (int j = 0; j < 32; j++)
                        Assert.Equal(direct[l][p * 32 + j], buffers[1][r * 64 + l * 32 + j], 1e-5f);
                r++;
            }
        }
        Assert.Equal(r, rows);
        Assert.True(rows < 4 * 11 + 1);
    }

    [Fact]
    public void Gpt2_small_shape_runs_tiled_within_a_two_gigabyte_budget()
    {
        // 12 layers × 3,072 neurons (36,864 per model; the full float64 sums would take 10.9 GB), random weights
        // saved and read in the Hugging Face layout, a small vocabulary and few tokens to keep it to seconds.
        var config = new TransformerConfig { Layers = 12, DModel = 768, Heads = 12, DMlp = 3072, Context = 64, Vocab = HarvestFixture.Vocab, Activation = Activation.GeluNew };
        string a = SaveModel(config, 1), b = SaveModel(config, 2);
        string tokens = HarvestFixture.TokenStore(seed: 6);
        const long Budget = 2L << 30;
        using var data = ModelUnitBatches.Open([a, b], tokens, 64, batchWindows: 1);
        var result = NeuronCorrelation.Correlate(data, new CorrelationOptions { Baselines = [], MemoryBytes = Budget });
        Assert.Equal(36_864, result.Layouts[0].Units);
        Assert.True(result.Plan.Tiles > 1, result.Plan.ToString());
        Assert.True(result.Plan.PlannedBytes <= Budget, result.Plan.ToString());
        Assert.True(result.Plan.PlannedBytes > data.ResidentBytes);
        var m = result.For(1, null);
        Assert.All(m.Max, v => Assert.True(float.IsNaN(v) || v is > -1 and <= 1));
        Assert.True(m.ArgMax.Count(i => i >= 0) > 30_000);
        Directory.Delete(a, true);
        Directory.Delete(b, true);
    }

    static TransformerConfig Config(int layers, int mlp) => new()
    {
        Layers = layers, DModel = 16, Heads = 2, DMlp = mlp, Context = 12, Vocab = HarvestFixture.Vocab, Activation = Activation.GeluNew,
    };

    static string SaveModel(TransformerConfig config, int seed)
    {
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(Transformer<float>.Create(config, (ulong)seed), dir);
        return dir;
    }
}
