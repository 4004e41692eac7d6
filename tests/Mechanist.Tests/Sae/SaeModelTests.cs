using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Autograd.Optimizers;
using Mechanist.Sae;
using Mechanist.Numerics;

namespace Mechanist.Tests.Sae;

public class SaeModelTests
{
    static Tensor RandomRows(int n, int d, ulong seed, float std = 1)
    {
        var x = new Tensor(n, d);
        new Rng(seed).FillNormal(x.Span, 0, std);
        return x;
    }

    static SparseAutoencoder RandomSae(SaeArchitecture arch, int d = 16, int m = 48, int k = 4)
    {
        var sae = SparseAutoencoder.Create(arch, d, m, 3, k);
        new Rng(9).FillNormal(sae.BDec.Value.Span, 0, 0.1f);
        new Rng(10).FillNormal(sae.BEnc.Value.Span, 0, 0.1f);
        if (sae.LogThreshold != null) for (int i = 0; i < m; i++) sae.LogThreshold.Value[i] = MathF.Log(0.05f + 0.01f * (i % 7));
        if (arch == SaeArchitecture.BatchTopK) sae.BatchThreshold = 0.3f;
        if (arch == SaeArchitecture.Gated)
        {
            new Rng(11).FillNormal(sae.RMag!.Value.Span, 0, 0.3f);
            new Rng(12).FillNormal(sae.BMag!.Value.Span, 0, 0.1f);
        }
        return sae;
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.BatchTopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void SaeLens_round_trip_keeps_weights_and_codes(SaeArchitecture arch)
    {
        var sae = RandomSae(arch);
        sae.Metadata = new SaeMetadata { ModelName = "tm23-1l", Hook = Mechanist.Models.HookPoint.MlpPost(0), ContextSize = 256 };
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        var density = Enumerable.Range(0, sae.DSae).Select(i => -(float)i / 10).ToArray();
        SaeLensFormat.Save(sae, dir, density);
        var loaded = SparseAutoencoder.Load(dir);
        Assert.Equal(arch, loaded.Architecture);
        if (arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK) Assert.Equal(sae.K, loaded.K);
        Assert.Equal("blocks.0.mlp.hook_post", loaded.Metadata.Hook?.Name);
        Assert.Equal(256, loaded.Metadata.ContextSize);
        Assert.Equal(sae.WEnc.Value.ToArray(), loaded.WEnc.Value.ToArray());
        Assert.Equal(sae.WDec.Value.ToArray(), loaded.WDec.Value.ToArray());
        for (int p = 0; p < sae.Parameters.Count; p++)
        {
            Assert.Equal(sae.Parameters[p].Name, loaded.Parameters[p].Name);
            Assert.Equal(sae.Parameters[p].Value.ToArray(), loaded.Parameters[p].Value.ToArray());
        }
        Assert.Equal(density, SaeLensFormat.LoadLog10Density(dir, sae.DSae));
        var x = RandomRows(64, sae.DIn, 4);
        var a = sae.Encode(x); var b = loaded.Encode(x);
        Assert.True(a.L0 > 0);
        Assert.Equal(a.Offsets, b.Offsets);
        Assert.Equal(a.Indices, b.Indices);
        for (int e = 0; e < a.Values.Length; e++) Assert.Equal(a.Values[e], b.Values[e], 1e-5f);
        // SAELens layout: W_enc is stored [d_in, d_sae].
        using var file = Mechanist.IO.SafeTensorsFile.Open(Path.Combine(dir, SaeLensFormat.WeightsFile));
        Assert.Equal([(long)sae.DIn, sae.DSae], file.Info("W_enc").Shape);
        Assert.Equal([(long)sae.DSae, sae.DIn], file.Info("W_dec").Shape);
        Assert.Equal(arch is SaeArchitecture.JumpRelu or SaeArchitecture.BatchTopK, file.Contains("threshold"));
        // Gated: SAELens' GatedSAE has b_gate, r_mag, b_mag [d_sae] and no b_enc.
        bool gated = arch == SaeArchitecture.Gated;
        Assert.Equal(!gated, file.Contains("b_enc"));
        foreach (var name in new[] { "b_gate", "r_mag", "b_mag" })
        {
            Assert.Equal(gated, file.Contains(name));
            if (gated) Assert.Equal([(long)sae.DSae], file.Info(name).Shape);
        }
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, SaeLensFormat.ConfigFile)))!;
        Assert.Equal(arch.SaeLensName(), cfg["architecture"]!.GetValue<string>());
    }

    [Fact]
    public void Gated_encodes_as_gate_times_relu_magnitude()
    {
        // f = 1[π_gate > 0]·ReLU(π_mag) with π_mag from W_mag = exp(r_mag)⊙W_gate, evaluated directly.
        var sae = RandomSae(SaeArchitecture.Gated);
        var x = RandomRows(40, sae.DIn, 8);
        var codes = sae.Encode(x);
        int blocked = 0;
        for (int t = 0; t < x.RowCount; t++)
        {
            var expected = new Dictionary<int, float>();
            for (int i = 0; i < sae.DSae; i++)
            {
                double gate = sae.BEnc.Value[i], mag = sae.BMag!.Value[i];
                for (int j = 0; j < sae.DIn; j++)
                {
                    double xb = x[t * sae.DIn + j] - sae.BDec.Value[j];
                    gate += sae.WEnc.Value[i * sae.DIn + j] * xb;
                    mag += Math.Exp(sae.RMag!.Value[i]) * sae.WEnc.Value[i * sae.DIn + j] * xb;
                }
                if (gate > 0 && mag > 0) expected[i] = (float)mag;
                else if (mag > 0) blocked++;
            }
            Assert.Equal(expected.Keys.Order(), codes.RowIndices(t).ToArray());
            var values = codes.RowValues(t);
            for (int e = 0; e < values.Length; e++) Assert.Equal(expected[codes.RowIndices(t)[e]], values[e], 1e-4f);
        }
        Assert.True(codes.L0 > 0 && blocked > 0);
    }

    [Fact]
    public void Gated_without_apply_b_dec_to_input_shifts_both_biases()
    {
        // A SAELens gated file with apply_b_dec_to_input = false reads x directly: b_gate and b_mag absorb W·b_dec.
        var sae = RandomSae(SaeArchitecture.Gated);
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        SaeLensFormat.Save(sae, dir);
        string cfg = Path.Combine(dir, SaeLensFormat.ConfigFile);
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"apply_b_dec_to_input\": true", "\"apply_b_dec_to_input\": false"));
        var loaded = SparseAutoencoder.Load(dir);
        // The file now means π = W·x + b; the original SAE gives that on x + b_dec.
        var x = RandomRows(30, sae.DIn, 9);
        var plusBDec = x.Clone();
        for (int t = 0; t < x.RowCount; t++) for (int j = 0; j < sae.DIn; j++) plusBDec[t * sae.DIn + j] += sae.BDec.Value[j];
        var a = sae.Encode(plusBDec); var b = loaded.Encode(x);
        Assert.True(a.L0 > 0);
        Assert.Equal(a.Indices, b.Indices);
        for (int e = 0; e < a.Values.Length; e++) Assert.Equal(a.Values[e], b.Values[e], 1e-4f);
    }

    [Fact]
    public void Loading_reports_the_file_and_field()
    {
        var sae = RandomSae(SaeArchitecture.TopK);
        string dir = Path.Combine(TestPaths.NewTempDir(), "sae");
        SaeLensFormat.Save(sae, dir);
        string cfg = Path.Combine(dir, SaeLensFormat.ConfigFile);
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"d_sae\": 48", "\"d_sae\": 49"));
        var e = Assert.ThrowsAny<UserError>(() => SaeLensFormat.Load(dir));
        Assert.Contains("W_enc", e.Message);
        File.WriteAllText(cfg, "{ \"architecture\": \"matryoshka\", \"d_in\": 16, \"d_sae\": 48 }");
        var g = Assert.Throws<DataFormatError>(() => SaeLensFormat.Load(dir));
        Assert.Equal("architecture", g.Field);
        File.WriteAllText(cfg, "{ \"architecture\": \"topk\", \"d_in\": 16, \"d_sae\": -48, \"k\": 4 }");
        Assert.Equal("d_sae", Assert.Throws<DataFormatError>(() => SaeLensFormat.Load(dir)).Field);
        File.WriteAllText(cfg, "{ \"architecture\": \"topk\", \"d_in\": 16, \"d_sae\": 48, \"k\": 4, \"apply_b_dec_to_input\": \"yes\" }");
        Assert.Equal("apply_b_dec_to_input", Assert.Throws<DataFormatError>(() => SaeLensFormat.Load(dir)).Field);
        Assert.Contains("give the SAE folder", Assert.ThrowsAny<UserError>(() => SaeLensFormat.Load(cfg)).Message);
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void Folding_the_input_scale_leaves_outputs_unchanged(SaeArchitecture arch)
    {
        // An SAE trained on c·x, folded, must give the same latents on raw x and reconstruct x̂/c.
        const float c = 0.37f;
        var sae = RandomSae(arch);
        var raw = RandomRows(50, sae.DIn, 5, std: 2.5f);
        var scaled = raw.Clone();
        for (int i = 0; i < scaled.Length; i++) scaled[i] *= c;
        var folded = sae.FoldInputScale(c);
        var a = sae.Encode(scaled); var b = folded.Encode(raw);
        Assert.True(a.L0 > 0);
        Assert.Equal(a.Indices, b.Indices);
        for (int e = 0; e < a.Values.Length; e++) Assert.Equal(a.Values[e], b.Values[e], 1e-4f);
        var ra = sae.Reconstruct(scaled); var rb = folded.Reconstruct(raw);
        for (int i = 0; i < ra.Length; i++) Assert.Equal(ra[i] / c, rb[i], 1e-3f);
    }

    [Fact]
    public void Encode_and_decode_agree_with_reconstruct()
    {
        var sae = RandomSae(SaeArchitecture.TopK);
        var x = RandomRows(30, sae.DIn, 6);
        var codes = sae.Encode(x);
        Assert.All(Enumerable.Range(0, codes.Rows), t => Assert.True(codes.RowIndices(t).Length <= sae.K));
        var viaCodes = sae.Decode(codes);
        var direct = sae.Reconstruct(x);
        for (int i = 0; i < direct.Length; i++) Assert.Equal(direct[i], viaCodes[i], 1e-5f);
    }

    [Fact]
    public void Resampling_picks_inputs_by_squared_loss_and_resets_exactly_what_the_paper_says()
    {
        var sae = RandomSae(SaeArchitecture.Relu, d: 16, m: 40);
        var adam = new Adam(sae.Parameters);
        foreach (var p in sae.Parameters) p.Grad.Fill(0.5f);
        adam.Step();
        // 200 inputs; rows 17 and 123 are far off the SAE's manifold (huge loss), so loss² weighting picks them.
        var inputs = RandomRows(200, 16, 7, std: 0.1f);
        for (int j = 0; j < 16; j++) { inputs[17 * 16 + j] = 40 + j; inputs[123 * 16 + j] = -30 - j; }
        int[] dead = [3, 29];
        var before = sae.Clone();
        var aliveNorm = Enumerable.Range(0, 40).Where(i => !dead.Contains(i))
            .Average(i => Math.Sqrt(sae.WEnc.Value.Row(i).ToArray().Sum(v => (double)v * v)));
        var chosen = DeadLatentResampler.Resample(sae, adam, dead, inputs, new Rng(11));
        Assert.Equal([17, 123], chosen.OrderBy(c => c).ToArray());
        for (int q = 0; q < dead.Length; q++)
        {
            int i = dead[q];
            var x = inputs.Row(chosen[q]).ToArray();
            double norm = Math.Sqrt(x.Sum(v => (double)v * v));
            var dec = sae.WDec.Value.Row(i); var enc = sae.WEnc.Value.Row(i);
            for (int j = 0; j < 16; j++)
            {
                Assert.Equal(x[j] / norm, dec[j], 1e-5);
                Assert.Equal(x[j] / norm * 0.2 * aliveNorm, enc[j], 1e-4);
            }
            Assert.Equal(0f, sae.BEnc.Value[i]);
        }
        var sDec = adam.StateOf(sae.WDec); var sEnc = adam.StateOf(sae.WEnc); var sB = adam.StateOf(sae.BEnc); var sBd = adam.StateOf(sae.BDec);
        for (int i = 0; i < 40; i++)
        {
            bool reset = dead.Contains(i);
            Assert.Equal(reset, sDec.M.Row(i).ToArray().All(v => v == 0));
            Assert.Equal(reset, sEnc.V.Row(i).ToArray().All(v => v == 0));
            Assert.Equal(reset, sB.M[i] == 0);
            if (!reset) Assert.Equal(before.WDec.Value.Row(i).ToArray(), sae.WDec.Value.Row(i).ToArray());
        }
        Assert.All(sBd.M.ToArray(), v => Assert.NotEqual(0f, v)); // b_dec is not touched
    }

    [Fact]
    public void Metrics_of_a_mean_predictor_have_zero_explained_variance()
    {
        // All latents off (b_enc ≪ 0) and b_dec = the data mean: x̂ = mean, so EV = 0 and MSE = variance / d.
        var sae = new SparseAutoencoder(SaeArchitecture.Relu, 8, 16);
        sae.BEnc.Value.Fill(-1e6f);
        var x = RandomRows(1000, 8, 12, std: 2);
        var mean = new double[8];
        for (int t = 0; t < 1000; t++) for (int j = 0; j < 8; j++) mean[j] += x[t * 8 + j] / 1000.0;
        for (int j = 0; j < 8; j++) sae.BDec.Value[j] = (float)mean[j];
        double variance = 0;
        for (int t = 0; t < 1000; t++) for (int j = 0; j < 8; j++) variance += Math.Pow(x[t * 8 + j] - mean[j], 2);
        var m = SaeMetrics.Evaluate(sae, [x]);
        Assert.Equal(0, m.ExplainedVariance, 1e-4);
        Assert.Equal(variance / 1000 / 8, m.Mse, 1e-4);
        Assert.Equal(0, m.L0);
        Assert.Equal(16, m.Dead);
        Assert.Equal(16, m.Ultralow);
        var (_, counts) = DensityHistogram.Compute(m.Density);
        Assert.Equal(16, counts.Sum());
        Assert.Equal(16, counts[0]);
    }

    [Fact]
    public void Geometric_median_ignores_outliers()
    {
        var pts = new Tensor(101, 2);
        for (int i = 0; i < 100; i++) { pts[2 * i] = 1 + 0.01f * (i % 5); pts[2 * i + 1] = 2; }
        pts[200] = 1e4f; pts[201] = -1e4f;
        var m = GeometricMedian.Compute(pts);
        Assert.InRange(m[0], 1.0, 1.05);
        Assert.InRange(m[1], 1.99, 2.01);
    }

    [Fact]
    public void Training_resumes_exactly_from_a_checkpoint()
    {
        string dir = TestPaths.NewTempDir();
        string data = Path.Combine(dir, "x.npy");
        SyntheticData.Write(new SyntheticOptions { D = 16, Features = 40, L0 = 3, Rows = 3000, Seed = 2 }, data, false);
        foreach (var arch in new[] { SaeArchitecture.TopK, SaeArchitecture.Relu, SaeArchitecture.BatchTopK, SaeArchitecture.JumpRelu, SaeArchitecture.Gated })
        {
            var o = new SaeTrainingOptions
            {
                // relu's λ and learning rate are high enough for latents to fall silent, so resampling really happens before the interruption.
                Architecture = arch, Widths = [32, 64], Ks = [4], L1 = [arch == SaeArchitecture.Relu ? 1.0 : 0.05], BatchSize = 128, Tokens = 128 * 40,
                WarmupSteps = 5, ResampleSteps = [15], ResampleWindowSteps = 2, ResampleInputs = 500, DeadWindowTokens = 256,
                ThresholdStartStep = 10, CheckpointEverySteps = 0, HoldoutRows = 400, LearningRate = arch == SaeArchitecture.Relu ? 0.03 : 1e-3, LogEverySteps = 5,
            };
            using var source = ActivationSource.Open(data);
            string straight = Path.Combine(dir, $"{arch}-straight"), interrupted = Path.Combine(dir, $"{arch}-interrupted");
            SaeTrainer.Train(source, o, straight, IProgressReporter.None);
            using var cts = new CancellationTokenSource();
            Assert.Throws<OperationCanceledException>(() => SaeTrainer.Train(source, o, interrupted, new CancelAfter(128 * 23, cts), cts.Token));
            SaeTrainer.Train(source, o, interrupted, IProgressReporter.None, resume: true);
            foreach (var name in o.Runs().Select(r => r.Name))
            {
                var a = SaeLensFormat.Load(Path.Combine(straight, name));
                var b = SaeLensFormat.Load(Path.Combine(interrupted, name));
                for (int p = 0; p < a.Parameters.Count; p++) Assert.Equal(a.Parameters[p].Value.ToArray(), b.Parameters[p].Value.ToArray());
                Assert.Equal(a.BatchThreshold, b.BatchThreshold);
            }
            // The log of the resumed run drops what the interrupted run wrote past its checkpoint: it reads as one run.
            string log = File.ReadAllText(Path.Combine(straight, SaeTrainer.LogFile));
            Assert.Equal(log, File.ReadAllText(Path.Combine(interrupted, SaeTrainer.LogFile)));
            var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(Enumerable.Range(1, 8).Select(i => 5L * i), lines.Where(l => l["event"] == null).Select(l => l["step"]!.GetValue<long>()));
            if (arch == SaeArchitecture.Relu)
                Assert.Contains(lines, l => (string?)l["event"] == "resample" && l["step"]!.GetValue<long>() == 15 && l["latents"]!.GetValue<int>() > 0);
        }
    }

    [Theory, InlineData(0.0), InlineData(0.5)]
    public void The_learning_rate_decays_over_the_last_fraction_of_the_run_and_training_jsonl_records_it(double decay)
    {
        string dir = TestPaths.NewTempDir(), data = Path.Combine(dir, "x.npy");
        SyntheticData.Write(new SyntheticOptions { D = 16, Features = 40, L0 = 3, Rows = 2000, Seed = 3 }, data, false);
        var o = new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.Relu, Widths = [32], L1 = [0.05], BatchSize = 100, Tokens = 100 * 20, WarmupSteps = 1,
            DecayFraction = decay, LearningRate = 1e-3, HoldoutRows = 200, ResampleSteps = [], LogEverySteps = 1,
        };
        using (var source = ActivationSource.Open(data)) SaeTrainer.Train(source, o, Path.Combine(dir, "run"), IProgressReporter.None);
        var rates = File.ReadAllLines(Path.Combine(dir, "run", SaeTrainer.LogFile))
            .Select(l => JsonNode.Parse(l)!).Where(l => l["event"] == null).Select(l => l["saes"]!["relu-w32-l1_0.05"]!["lr"]!.GetValue<double>()).ToArray();
        Assert.Equal(20, rates.Length);
        if (decay == 0) Assert.All(rates, r => Assert.Equal(1e-3, r, 1e-9));
        else
        {
            Assert.All(rates[..10], r => Assert.Equal(1e-3, r, 1e-9));   // constant for the first half
            Assert.Equal(1e-3 * 0.1, rates[^1], 1e-9);                    // then linearly to 0: step 19 of 10..20
        }
        Assert.Throws<UserError>(() => (o with { DecayFraction = 1.5 }).Validate(16));
    }

    /// <summary>Cancels the run once a number of tokens have been reported, as Ctrl-C would.</summary>
    sealed class CancelAfter(long tokens, CancellationTokenSource cts) : IProgressReporter, IProgressTask
    {
        long _done;
        public IProgressTask Start(string label, long total, string unit) => this;
        public void Advance(long amount) { _done += amount; if (_done >= tokens) cts.Cancel(); }
        public void SetDone(long done) => _done = done;
        public void SetStatus(string status) { }
        public void Dispose() { }
    }
}
