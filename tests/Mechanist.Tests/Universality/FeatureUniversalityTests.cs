using Mechanist.Activations;
using Mechanist.Tests.Activations;
using Mechanist.Cli.Commands;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Sae;
using Mechanist.Universality;
using Xunit.Abstractions;

namespace Mechanist.Tests.Universality;

/// <summary>A/B feature universality (docs/METHODS.md §3.4): the sparse accumulator, the matching, the command.</summary>
// The command runs redirect Console.Out, which is process-wide: run alone.
[Collection("console-alone")]
public class FeatureUniversalityTests(ITestOutputHelper output)
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(UniversalCommands.Create(), args);

    /// <summary>Random codes: each token fires about <paramref name="l0"/> of <paramref name="latents"/> latents, a few of them often.</summary>
    static SparseCodes RandomCodes(int rows, int latents, double l0, int seed)
    {
        var rng = new Random(seed);
        var offsets = new int[rows + 1];
        var indices = new List<int>();
        var values = new List<float>();
        for (int t = 0; t < rows; t++)
        {
            var set = new SortedSet<int>();
            int count = rng.Next(0, (int)(2 * l0) + 1);
            while (set.Count < count) set.Add(rng.NextDouble() < 0.3 ? rng.Next(Math.Min(4, latents)) : rng.Next(latents));
            foreach (int i in set) { indices.Add(i); values.Add((float)(0.1 + 3 * rng.NextDouble())); }
            offsets[t + 1] = indices.Count;
        }
        return new SparseCodes(latents, offsets, [.. indices], [.. values]);
    }

    /// <summary>Two-pass Pearson in float64 over dense columns: the independent reference.</summary>
    static double DenseCorrelation(Tensor x, int i, Tensor y, int j)
    {
        int n = x.RowCount;
        double mx = 0, my = 0;
        for (int t = 0; t < n; t++) { mx += x.Row(t)[i]; my += y.Row(t)[j]; }
        mx /= n; my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int t = 0; t < n; t++)
        {
            double dx = x.Row(t)[i] - mx, dy = y.Row(t)[j] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }

    [Fact]
    public void Sparse_sums_give_the_dense_correlations_over_several_batches()
    {
        var sums = SparsePearsonAccumulator.NewSums(40, 30);
        var batches = new[] { (RandomCodes(700, 40, 4, 1), RandomCodes(700, 30, 3, 2)), (RandomCodes(500, 40, 4, 3), RandomCodes(500, 30, 3, 4)) };
        foreach (var (a, b) in batches) SparsePearsonAccumulator.Add(sums, a, b);
        var da = Concat(batches.Select(p => p.Item1.ToDense()).ToArray());
        var db = Concat(batches.Select(p => p.Item2.ToDense()).ToArray());
        Assert.Equal(1200, sums.Tokens);
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 30; j++)
            {
                double want = DenseCorrelation(da, i, db, j), got = sums.Correlation(i, j);
                if (double.IsNaN(want)) Assert.True(double.IsNaN(got));
                else Assert.True(Math.Abs(want - got) < 1e-9, $"({i},{j}): {got} vs {want}");
            }
        // The same sums from the dense GEMM formulation (shifted by the first batch's means).
        var dense = new PearsonSums(Means(da), Means(db));
        var acc = new PearsonAccumulator(40, 30, 1200);
        unsafe
        {
            acc.SetRows(da.Pointer, 40, 1200, dense.Rows.Shift);
            acc.AddTo(dense, db.Pointer, 30);
        }
        var s = sums.RowMaxima(); var d = dense.RowMaxima();
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(d.ArgMax[i], s.ArgMax[i]);
            Assert.True(Math.Abs(d.Max[i] - s.Max[i]) < 1e-6, $"{i}: {s.Max[i]} vs {d.Max[i]}");
        }
    }

    [Fact]
    public void Sparse_sums_refuse_a_shift_and_codes_of_other_tokens()
    {
        var shifted = new PearsonSums([1f, 0f], [0f, 0f]);
        Assert.Throws<ArgumentException>(() => SparsePearsonAccumulator.Add(shifted, RandomCodes(10, 2, 1, 1), RandomCodes(10, 2, 1, 2)));
        var sums = SparsePearsonAccumulator.NewSums(2, 2);
        Assert.Throws<ArgumentException>(() => SparsePearsonAccumulator.Add(sums, RandomCodes(10, 2, 1, 1), RandomCodes(11, 2, 1, 2)));
    }

    static Tensor Concat(Tensor[] parts)
    {
        var all = new Tensor(parts.Sum(p => p.RowCount), parts[0].Columns);
        int r = 0;
        foreach (var p in parts) { p.Span.CopyTo(all.Span[(r * p.Columns)..]); r += p.RowCount; }
        return all;
    }

    static float[] Means(Tensor x)
    {
        var m = new float[x.Columns];
        for (int j = 0; j < x.Columns; j++)
        {
            double s = 0;
            for (int t = 0; t < x.RowCount; t++) s += x.Row(t)[j];
            m[j] = (float)(s / x.RowCount);
        }
        return m;
    }

    /// <summary>
    /// The must-show against NumPy: tests/fixtures/ab holds synthetic rows with 64 planted directions, two TopK dictionaries
    /// Mechanist trained on them from seeds 1 and 2, and what NumPy computed from them densely in float64
    /// (make_golden.py: every latent's codes over every row, the full correlation matrix, each A row's maximum).
    /// </summary>
    [Fact]
    public void Two_seeds_on_planted_features_equal_numpys_dense_computation()
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "ab");
        double[] Golden(string name) { using var f = NpyFile.Open(Path.Combine(dir, name)); return f.ReadArray<double>(); }
        var max = Golden("max_ab.npy");
        var corr = Golden("corr_ab.npy");
        var density = Golden("density_a.npy");
        long[] argmax;
        using (var f = NpyFile.Open(Path.Combine(dir, "argmax_ab.npy"))) argmax = f.ReadArray<long>();

        string outDir = Path.Combine(TestPaths.NewTempDir(), "ab");
        var (code, stdout, err) = Run("universal", "features", "--a", Path.Combine(dir, "sae1"), "--b", Path.Combine(dir, "sae2"),
            "--acts", Path.Combine(dir, "synth.npy"), "--out", outDir, "--batch", "1000");
        Assert.True(code == 0, err);
        output.WriteLine(stdout);
        var lines = File.ReadAllLines(Path.Combine(outDir, FeatureUniversalityOutput.MatchesFile));
        Assert.Equal(65, lines.Length);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var best = new List<double>();
        for (int a = 0; a < 64; a++)
        {
            var cells = lines[a + 1].Split(',');
            Assert.Equal(a, int.Parse(cells[0]));
            Assert.Equal(density[a], double.Parse(cells[4], inv), 5);
            if (double.IsNaN(max[a])) { Assert.Equal("", cells[2]); continue; }
            double got = double.Parse(cells[2], inv);
            int b = int.Parse(cells[1]);
            Assert.True(Math.Abs(got - max[a]) < 1e-4, $"A {a}: {got} vs NumPy {max[a]}");
            // The same partner, or one NumPy finds as good to 1e-4 (a tie).
            Assert.True(b == argmax[a] || Math.Abs(corr[a * 64 + b] - max[a]) < 1e-4, $"A {a}: B {b} vs NumPy's {argmax[a]}");
            best.Add(got);
        }
        double median = (double)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, FeatureUniversalityOutput.SummaryFile)))!["median_max_corr_features"]!;
        Assert.True(median >= 0.9, $"median {median}");
        var finite = max.Where(m => !double.IsNaN(m)).Order().ToArray();
        double numpyMedian = finite.Length % 2 == 1 ? finite[finite.Length / 2] : (finite[finite.Length / 2 - 1] + finite[finite.Length / 2]) / 2;
        Assert.True(Math.Abs(median - numpyMedian) < 1e-4, $"median {median} vs NumPy {numpyMedian}");
    }

    /// <summary>Synthetic rows with 64 planted directions, and two TopK dictionaries trained on them from seeds 1 and 2.</summary>
    static (string Data, string SaeA, string SaeB) TwoDictionaries()
    {
        string dir = TestPaths.NewTempDir();
        string data = Path.Combine(dir, "synth.npy");
        SyntheticData.Write(new SyntheticOptions { D = 32, Features = 64, L0 = 3, Rows = 20_000, Seed = 11 }, data, overwrite: false);
        string Train(ulong seed)
        {
            using var source = ActivationSource.Open(data);
            var results = SaeTrainer.Train(source, new SaeTrainingOptions
            {
                Architecture = SaeArchitecture.TopK, Widths = [64], Ks = [3], BatchSize = 256, Tokens = 200_000, LearningRate = 3e-3,
                WarmupSteps = 20, Seed = seed, DeadWindowTokens = 20_000, CheckpointEverySteps = 0,
            }, Path.Combine(dir, $"sae{seed}"), IProgressReporter.None);
            return results[0].Directory;
        }
        return (data, Train(1), Train(2));
    }

    [Fact]
    public void Two_seeds_on_planted_features_match_and_equal_the_dense_computation()
    {
        var (data, saeA, saeB) = TwoDictionaries();
        string outDir = Path.Combine(TestPaths.NewTempDir(), "ab");
        var (code, stdout, err) = Run("universal", "features", "--a", saeA, "--b", saeB, "--acts", data, "--out", outDir, "--batch", "3000");
        Assert.True(code == 0, err);
        output.WriteLine(stdout);
        var lines = File.ReadAllLines(Path.Combine(outDir, FeatureUniversalityOutput.MatchesFile));
        Assert.Equal("a,b,corr,logit_corr,density_a", lines[0]);
        Assert.Equal(65, lines.Length);
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, FeatureUniversalityOutput.SummaryFile)))!;
        double median = (double)summary["median_max_corr_features"]!;
        Assert.True(median >= 0.9, $"median {median}");
        Assert.Null(summary["median_max_corr_neurons"]);
        Assert.True(File.Exists(Path.Combine(outDir, FeatureUniversalityOutput.HistogramFile)));

        // The dense reference: every code of both dictionaries over every row, correlated column by column.
        using var source = ActivationSource.Open(data);
        var x = new Tensor((int)source.RowCount, source.Width);
        source.ReadRows(0, (int)source.RowCount, x.Span);
        var ca = SaeLensFormat.Load(saeA).Encode(x).ToDense();
        var cb = SaeLensFormat.Load(saeB).Encode(x).ToDense();
        for (int i = 0; i < 64; i++)
        {
            var cells = lines[i + 1].Split(',');
            double best = double.NegativeInfinity;
            for (int j = 0; j < 64; j++)
            {
                double c = DenseCorrelation(ca, i, cb, j);
                if (c > best) best = c;
            }
            if (double.IsNegativeInfinity(best) || double.IsNaN(best)) { Assert.Equal("", cells[2]); continue; }
            double got = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(got - best) < 1e-4, $"latent {i}: {got} vs dense {best}");
            Assert.True(Math.Abs(DenseCorrelation(ca, i, cb, int.Parse(cells[1])) - best) < 1e-4);
            double density = Enumerable.Range(0, ca.RowCount).Count(t => ca.Row(t)[i] > 0) / (double)ca.RowCount;
            Assert.Equal(density, double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture), 5);
        }
    }

    [Fact]
    public void Models_give_a_neuron_baseline_and_logit_correlations()
    {
        string tokens = HarvestFixture.TokenStore(seed: 4);
        var config = HarvestFixture.Config();
        var hook = HookPoint.MlpPost(0);
        string RunFolder(int seed)
        {
            string dir = TestPaths.NewTempDir();
            ModelFiles.Save(Transformer<float>.Create(config, (ulong)seed), Path.Combine(dir, "model"));
            var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, config.DMlp, 48, (ulong)seed, k: 4);
            sae.Metadata = new SaeMetadata { Hook = hook };
            sae.Save(Path.Combine(dir, "sae", "topk-w48-k4"));
            return dir;
        }
        string a = RunFolder(1), b = RunFolder(2);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "ab");
        var (code, _, err) = Run("universal", "features", "--a", a, "--b", b, "--data", tokens, "--tokens", "480", "--context", "12", "--out", outDir, "--json");
        Assert.True(code == 0, err);
        var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, FeatureUniversalityOutput.SummaryFile)))!;
        Assert.NotNull(summary["median_max_corr_neurons"]);
        Assert.Equal(config.DMlp + 1, File.ReadAllLines(Path.Combine(outDir, FeatureUniversalityOutput.NeuronsFile)).Length);
        var cells = File.ReadAllLines(Path.Combine(outDir, FeatureUniversalityOutput.MatchesFile)).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Contains(cells, c => c[3] != "");

        // The logit correlation of a matched pair from its definition: Pearson over the vocabulary of (r − mean r)·γ·W_U.
        var row = cells.First(c => c[3] != "");
        int i = int.Parse(row[0]), j = int.Parse(row[1]);
        double want = Mechanist.Explain.Correlation.Pearson(LogitWeights(a, i), LogitWeights(b, j));
        Assert.Equal(want, double.Parse(row[3], System.Globalization.CultureInfo.InvariantCulture), 4);
    }

    static double[] LogitWeights(string run, int latent)
    {
        var model = ModelFiles.Load(Path.Combine(run, "model"));
        var sae = SaeLensFormat.Load(Path.Combine(run, "sae", "topk-w48-k4"));
        int d = model.Config.DModel;
        var wOut = model.Blocks[0].MlpOutWeight!.Value;
        var r = new double[d];
        for (int n = 0; n < sae.DIn; n++)
            for (int c = 0; c < d; c++) r[c] += sae.WDec.Value.Row(latent)[n] * wOut.Row(n)[c];
        double mean = r.Average();
        var gain = model.FinalNormGain.Value.Span;
        var unembed = model.UnembeddingRows.Value;
        var w = new double[unembed.RowCount];
        for (int v = 0; v < w.Length; v++)
            for (int c = 0; c < d; c++) w[v] += (r[c] - mean) * gain[c] * unembed.Row(v)[c];
        return w;
    }

    [Fact]
    public void Bad_inputs_get_one_clear_error_and_write_nothing()
    {
        string root = TestPaths.NewTempDir();
        string outDir = Path.Combine(root, "ab");
        string Sae(int dIn, int seed, HookPoint? hook = null)
        {
            string dir = Path.Combine(root, $"sae-{dIn}-{seed}");
            var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, dIn, 16, (ulong)seed, k: 2);
            sae.Metadata = new SaeMetadata { Hook = hook };
            sae.Save(dir);
            return dir;
        }
        string WriteRows(int rows, int width, string name)
        {
            string path = Path.Combine(root, name);
            var rng = new Random(rows);
            Npy.Save(path, Enumerable.Range(0, rows * width).Select(_ => (float)rng.NextDouble()).ToArray(), rows, width);
            return path;
        }
        string rows8 = WriteRows(100, 8, "a.npy"), rows8b = WriteRows(90, 8, "b.npy");
        foreach (var (args, message) in new (string[], string)[]
        {
            (["--a", Sae(8, 1), "--b", Sae(12, 2), "--acts", rows8], "d_in = 12"),
            (["--a", Sae(8, 1), "--b", Sae(8, 2), "--acts", rows8, rows8b], "rows"),
            (["--a", Sae(8, 1, HookPoint.MlpPost(0)), "--b", Sae(8, 3, HookPoint.ResidPost(0)), "--acts", rows8], "compare dictionaries of one hook point"),
            (["--a", Sae(8, 1), "--b", Sae(8, 2), "--data", root], "run folders"),
            (["--a", root, "--b", Sae(8, 2), "--acts", rows8], "neither a dictionary"),
        })
        {
            var (code, _, err) = Run(["universal", "features", .. args, "--out", outDir]);
            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}, {err}");
            Assert.Contains(message, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.False(Directory.Exists(outDir));
        }
    }
}
