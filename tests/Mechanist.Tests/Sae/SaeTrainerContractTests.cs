using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// What <see cref="SaeTrainer"/> promises, on runs of a few dozen tiny steps (fast enough for mutation testing, which
/// leaves the long training tests out): the initial state (input scale, b_dec at the geometric median, one seed per
/// SAE), the step log's schedule and counts, the saved SAEs and summary, relu resampling as the paper sets it, the
/// progress lines, and every refusal of an output folder or checkpoint that does not fit.
/// </summary>
public class SaeTrainerContractTests
{
    const int D = 8, Rows = 300, Holdout = 44, TrainRows = Rows - Holdout, Batch = 16;

    /// <summary>Rows of uneven scale (so the normalisation is not 1) written as an .npy; returns the path and the rows.</summary>
    static (string Path, float[] Data) Data(string dir, int rows = Rows, int width = D, float scale = 3)
    {
        var rng = new Rng(11);
        var data = new float[rows * width];
        for (int i = 0; i < data.Length; i++) data[i] = scale * (float)(rng.NextDouble() * 2 - 1) + (i % width == 0 ? 2 : 0);
        string path = System.IO.Path.Combine(dir, $"x{width}.npy");
        Npy.Save(path, data, rows, width);
        return (path, data);
    }

    static SaeTrainingOptions Options(SaeArchitecture arch = SaeArchitecture.TopK) => new()
    {
        Architecture = arch, Widths = [16, 32], Ks = [2], L1 = [0.5], BatchSize = Batch, Tokens = 40 * Batch, HoldoutRows = Holdout,
        WarmupSteps = 1, LearningRate = 0.01, CheckpointEverySteps = 0, LogEverySteps = 1, ResampleSteps = [], Seed = 5,
        DeadWindowTokens = 4 * Batch, ResampleWindowSteps = 1, GeometricMedianSamples = 10_000,
    };

    /// <summary>The rows streamed in order, again and again (the stream never runs out).</summary>
    static StreamTrainingData InMemoryStream(float[] data)
    {
        IEnumerable<ReadOnlyMemory<float>> Forever() { while (true) yield return data; }
        return new StreamTrainingData(Forever(), D, 0, 1, "rows in memory");
    }

    static JsonObject Json(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
    static List<JsonNode> Log(string outDir) => File.ReadAllLines(System.IO.Path.Combine(outDir, SaeTrainer.LogFile)).Select(l => JsonNode.Parse(l)!).ToList();
    static string Checkpoint(string outDir, string file = "state.json") => System.IO.Path.Combine(outDir, SaeTrainer.CheckpointDir, file);

    [Theory]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    public void A_run_stopped_before_its_first_step_saves_the_initial_state(SaeArchitecture arch)
    {
        string dir = TestPaths.NewTempDir();
        var (path, data) = Data(dir);
        var o = Options(arch) with { ThresholdInit = 0.02 };
        using var source = ActivationSource.Open(path);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        string outDir = System.IO.Path.Combine(dir, "out");
        Assert.Throws<OperationCanceledException>(() => SaeTrainer.Train(source, o, outDir, IProgressReporter.None, cts.Token));

        // Every training row is in the sample (GeometricMedianSamples ≥ rows), in order: scale = 1 / √(mean ‖x‖²).
        var train = new Tensor(TrainRows, D);
        data.AsSpan(0, TrainRows * D).CopyTo(train.Span);
        double sumSq = 0;
        foreach (float v in train.Span) sumSq += (double)v * v;
        float scale = (float)(1 / Math.Sqrt(sumSq / TrainRows));
        var state = Json(Checkpoint(outDir));
        Assert.Equal(0, state["step"]!.GetValue<long>());
        Assert.Equal(scale, BitConverter.Int32BitsToSingle(state["scale_bits"]!.GetValue<int>()), 6);
        Assert.Equal(D, state["d_in"]!.GetValue<int>());
        Assert.Equal("store", state["data"]!.GetValue<string>());
        Assert.Equal("mechanist-sae-checkpoint", state["format"]!.GetValue<string>());
        Assert.Equal((1, path), (state["version"]!.GetValue<int>(), state["source"]!.GetValue<string>()));
        Assert.Equal(state["scale"]!.GetValue<float>(), BitConverter.Int32BitsToSingle(state["scale_bits"]!.GetValue<int>()));
        Assert.Contains("\n  \"step\": 0,", File.ReadAllText(Checkpoint(outDir))); // indented, for a person reading it
        var rng = new Rng(o.Seed).Stream(2).State;
        Assert.Equal((rng.Seed.ToString(), rng.Stream.ToString(), rng.Position.ToString()),
            (state["rng"]!["seed"]!.GetValue<string>(), state["rng"]!["stream"]!.GetValue<string>(), state["rng"]!["position"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(o.ToJson(), state["options"])); // the dead window was given, so nothing was resolved

        VectorMath.Scale(BitConverter.Int32BitsToSingle(state["scale_bits"]!.GetValue<int>()), train.Span, train.Span);
        var median = GeometricMedian.Compute(train);
        ulong index = 0;
        foreach (var (name, width, l1, k) in o.Runs())
        {
            var fresh = SparseAutoencoder.Create(arch, D, width, SplitMix64.Mix(o.Seed + SplitMix64.Gamma * ++index), k > 0 ? k : 32);
            using var st = SafeTensorsFile.Open(Checkpoint(outDir, name + ".safetensors"));
            Assert.Equal(fresh.WEnc.Value.ToArray(), st.ReadFloat("W_enc").ToArray());
            Assert.Equal(fresh.WDec.Value.ToArray(), st.ReadFloat("W_dec").ToArray());
            Assert.Equal(median, st.ReadFloat("b_dec").ToArray());
            if (arch == SaeArchitecture.JumpRelu) Assert.All(st.ReadFloat("log_threshold").ToArray(), v => Assert.Equal((float)Math.Log(o.ThresholdInit), v));
            Assert.All(st.ReadFloat("adam.W_enc.exp_avg").ToArray(), v => Assert.Equal(0, v));
            Assert.Equal(new long[width], st.ReadArray<long>("tokens_since_fired"));
            var run = state["runs"]!.AsArray()[(int)index - 1]!;
            Assert.Equal((name, width, l1, k > 0 ? k : 32, 0.01), (run["name"]!.GetValue<string>(), run["width"]!.GetValue<int>(), run["lambda"]!.GetValue<double>(),
                run["k"]!.GetValue<int>(), run["lr"]!.GetValue<double>()));
            Assert.Equal(arch == SaeArchitecture.TopK ? 0 : 0.5, l1);
        }
    }

    [Fact]
    public void Unnormalised_training_keeps_the_scale_and_all_zero_rows_cannot_be_normalised()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using (var source = ActivationSource.Open(path))
            SaeTrainer.Train(source, Options() with { Normalize = false, Tokens = 2 * Batch }, System.IO.Path.Combine(dir, "raw"), IProgressReporter.None);
        Assert.Equal(1, Json(System.IO.Path.Combine(dir, "raw", "metrics.json"))["scale"]!.GetValue<float>());

        string zeros = System.IO.Path.Combine(dir, "zeros.npy");
        Npy.Save(zeros, new float[Rows * D], Rows, D);
        using var zero = ActivationSource.Open(zeros);
        var e = Assert.ThrowsAny<UserError>(() => SaeTrainer.Train(zero, Options(), System.IO.Path.Combine(dir, "z"), IProgressReporter.None));
        Assert.Equal($"{zeros}: activations have zero or non-finite norm; cannot normalise", e.Message);
    }

    /// <summary>
    /// 40 steps, two SAEs, a line per step: the rate warms up over min(--warmup-steps, 5 % of the run) steps and decays
    /// linearly over the last 20 %; λ's warm-up factor; counts that agree with the saved firing history.
    /// </summary>
    [Fact]
    public void The_step_log_follows_the_schedule_and_counts_what_the_checkpoint_holds()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        var o = Options(SaeArchitecture.Relu) with { WarmupSteps = 5, SparsityWarmupFraction = 0.25, L1 = [0.02] };
        string outDir = System.IO.Path.Combine(dir, "out");
        using (var source = ActivationSource.Open(path)) SaeTrainer.Train(source, o, outDir, IProgressReporter.None);
        var lines = Log(outDir);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), lines.Select(l => l["step"]!.GetValue<long>()));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i * Batch), lines.Select(l => l["tokens"]!.GetValue<long>()));
        // λ rises over the first 25 % (10 steps): step s uses s / 10.
        Assert.Equal(Enumerable.Range(1, 40).Select(s => Math.Min(1, s / 10.0)), lines.Select(l => l["sparsity_factor"]!.GetValue<double>()));
        string name = o.Runs()[0].Name;
        var rates = lines.Select(l => l["saes"]![name]!["lr"]!.GetValue<double>()).ToArray();
        // Warm-up: min(5, 40 / 20) = 2 steps. Decay from step 32 (of 0..39) to 0 at step 40.
        Assert.Equal(0.005, rates[0], 1e-9);
        Assert.Equal(0.01, rates[1], 1e-9);
        Assert.Equal(0.01, rates[32], 1e-9);
        Assert.Equal(0.01 * 7 / 8, rates[33], 1e-9);
        Assert.Equal(0.01 / 8, rates[39], 1e-9);

        var last = lines[^1]["saes"]!;
        foreach (var (runName, width, _, _) in o.Runs())
        {
            var s = last[runName]!;
            using var st = SafeTensorsFile.Open(Checkpoint(outDir, runName + ".safetensors"));
            var fired = st.ReadArray<long>("tokens_since_fired");
            Assert.All(fired, t => Assert.True(t >= 0 && t <= 40 * Batch && t % Batch == 0, $"tokens since fired {t}"));
            Assert.Equal(fired.Count(t => t >= 4 * Batch), s["dead"]!.GetValue<int>());
            Assert.Equal(fired.Count(t => t >= Batch), s["silent_resample_window"]!.GetValue<int>());
            // The log's mse is per input dimension (inputs normalised to E‖x‖² = 1): ‖x − x̂‖² / d.
            double mse = s["mse"]!.GetValue<double>(), ev = s["explained_variance"]!.GetValue<double>();
            Assert.InRange(mse * D, 0.01, 1.2);
            Assert.InRange(ev, -1, 1);
            Assert.True(s["l0"]!.GetValue<double>() > 0 && s["l1"]!.GetValue<double>() > 0 && s["loss"]!.GetValue<double>() > 0);
        }
    }

    /// <summary>The saved SAEs read raw activations: the checkpoint's weights with the input scale c folded in.</summary>
    [Fact]
    public void The_saved_SAEs_fold_the_input_scale_and_the_summary_describes_the_run()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        var o = Options() with { DeadWindowTokens = 0 };
        string outDir = System.IO.Path.Combine(dir, "out");
        IReadOnlyList<SaeTrainingResult> results;
        using (var source = ActivationSource.Open(path)) results = SaeTrainer.Train(source, o, outDir, IProgressReporter.None);
        var state = Json(Checkpoint(outDir));
        Assert.Equal(40, state["step"]!.GetValue<long>());
        float c = BitConverter.Int32BitsToSingle(state["scale_bits"]!.GetValue<int>());
        var resolved = o with { DeadWindowTokens = o.DeadWindow(40 * Batch) };
        Assert.Equal(resolved.ToJson().ToJsonString(), state["options"]!.ToJsonString());

        var summary = Json(System.IO.Path.Combine(outDir, "metrics.json"));
        Assert.Equal((path, TrainRows, Holdout, 40L, c), (summary["source"]!.GetValue<string>(), summary["train_rows"]!.GetValue<long>(),
            summary["holdout_rows"]!.GetValue<long>(), summary["steps"]!.GetValue<long>(), summary["scale"]!.GetValue<float>()));
        Assert.Equal(o.Runs().Select(r => r.Name), summary["saes"]!.AsObject().Select(kv => kv.Key));
        Assert.Contains("\n  \"source\": ", File.ReadAllText(System.IO.Path.Combine(outDir, "metrics.json"))); // indented
        Assert.Equal(o.Runs().Select(r => r.Name), results.Select(r => r.Name));

        foreach (var r in results)
        {
            Assert.Equal(System.IO.Path.Combine(outDir, r.Name), r.Directory);
            Assert.Equal(0.01, r.LearningRate);
            Assert.Equal(Holdout, r.Metrics.Tokens);
            Assert.True(JsonNode.DeepEquals(r.Metrics.ToJson(), summary["saes"]![r.Name]));
            Assert.True(JsonNode.DeepEquals(r.Metrics.ToJson(), Json(System.IO.Path.Combine(r.Directory, "metrics.json"))));
            Assert.Contains($"{r.Name}: feature density ({Holdout} held-out tokens)", File.ReadAllText(System.IO.Path.Combine(r.Directory, "density.svg")));
            Assert.Contains("\n  \"", File.ReadAllText(System.IO.Path.Combine(r.Directory, "metrics.json"))); // indented
            var cfg = Json(System.IO.Path.Combine(r.Directory, "cfg.json"))["mechanist"]!;
            Assert.Equal((c, 0.0, 0.01, 40L), (cfg["folded_input_scale"]!.GetValue<float>(), cfg["lambda"]!.GetValue<double>(), cfg["lr"]!.GetValue<double>(), cfg["steps"]!.GetValue<long>()));
            Assert.Equal(resolved.ToJson().ToJsonString(), cfg["training"]!.ToJsonString());
            Assert.Equal("W_enc·c, W_dec/c, b_dec/c (latents unchanged)", cfg["fold"]!.GetValue<string>());

            var saved = SaeLensFormat.Load(r.Directory);
            using var st = SafeTensorsFile.Open(Checkpoint(outDir, r.Name + ".safetensors"));
            var wEnc = st.ReadFloat("W_enc").ToArray();
            var wDec = st.ReadFloat("W_dec").ToArray();
            var bDec = st.ReadFloat("b_dec").ToArray();
            var savedEnc = saved.WEnc.Value.ToArray();
            var savedDec = saved.WDec.Value.ToArray();
            for (int i = 0; i < wEnc.Length; i++) Assert.Equal(wEnc[i] * c, savedEnc[i], 1e-6);
            for (int i = 0; i < wDec.Length; i++) Assert.Equal(wDec[i] / c, savedDec[i], 1e-6);
            for (int i = 0; i < bDec.Length; i++) Assert.Equal(bDec[i] / c, saved.BDec.Value[i], 1e-5);
        }
    }

    /// <summary>
    /// relu latents silent for the window are resampled at the given steps (the paper's procedure: decoder row = a unit
    /// input, encoder row = the same × 0.2 × the alive latents' mean encoder norm, b_enc 0, Adam state cleared); the other
    /// architectures never are.
    /// </summary>
    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.Gated)]
    [InlineData(SaeArchitecture.TopK)]
    public void Only_relu_resamples_its_silent_latents_at_the_resampling_steps(SaeArchitecture arch)
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        // A heavy λ and rate silence relu latents within a few steps; the last resampling is at the last step, so
        // the final checkpoint holds the resampled rows as they were set.
        var o = Options(arch) with { Widths = [32], L1 = [1], LearningRate = 0.03, SparsityWarmupFraction = 0, ResampleSteps = [20, 40], ResampleInputs = 200 };
        string outDir = System.IO.Path.Combine(dir, "out");
        var notes = new ProgressRecorder();
        using (var source = ActivationSource.Open(path)) SaeTrainer.Train(source, o, outDir, notes);
        var events = Log(outDir).Where(l => l["event"] != null).ToList();
        if (arch != SaeArchitecture.Relu)
        {
            Assert.Empty(events);
            return;
        }
        string name = o.Runs()[0].Name;
        Assert.Equal([20L, 40L], events.Select(e => e["step"]!.GetValue<long>()));
        Assert.All(events, e => Assert.Equal(("resample", name), (e["event"]!.GetValue<string>(), e["sae"]!.GetValue<string>())));
        int count = events[^1]["latents"]!.GetValue<int>();
        Assert.InRange(count, 1, 31);
        Assert.Contains($"step 40: {name} resampled {count} latents silent for 1 steps", notes.Notes);
        // The resampling line comes before the step's own line, and both before the next step's.
        Assert.Equal([20L, 20L, 21L], Log(outDir).Select(l => l["step"]!.GetValue<long>()).Skip(19).Take(3));

        using var st = SafeTensorsFile.Open(Checkpoint(outDir, name + ".safetensors"));
        var wEnc = st.ReadFloat("W_enc");
        var wDec = st.ReadFloat("W_dec");
        var bEnc = st.ReadFloat("b_enc");
        var fired = st.ReadArray<long>("tokens_since_fired");
        var mEnc = st.ReadFloat("adam.W_enc.exp_avg");
        var resampled = Enumerable.Range(0, 32).Where(i => mEnc.Row(i).ToArray().All(v => v == 0)).ToList();
        Assert.Equal(count, resampled.Count);
        double aliveNorm = Enumerable.Range(0, 32).Except(resampled).Average(i => Math.Sqrt(VectorMath.Dot<float>(wEnc.Row(i), wEnc.Row(i))));
        foreach (int i in resampled)
        {
            Assert.Equal(0, fired[i]);
            Assert.Equal(0, bEnc[i]);
            Assert.Equal(1, Math.Sqrt(VectorMath.Dot<float>(wDec.Row(i), wDec.Row(i))), 1e-5);
            for (int j = 0; j < D; j++) Assert.Equal(0.2 * aliveNorm * wDec.Row(i)[j], wEnc.Row(i)[j], 1e-5);
        }
    }

    [Fact]
    public void Progress_names_the_SAEs_reports_their_statistics_and_the_default_rates()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using var source = ActivationSource.Open(path);
        var one = new ProgressRecorder();
        SaeTrainer.Train(source, Options() with { Widths = [16], Tokens = 13 * Batch, LogEverySteps = 4 }, System.IO.Path.Combine(dir, "one"), one);
        Assert.Equal($"training 1 SAE {13 * Batch} tok", one.Starts.Single(s => s.StartsWith("training")));
        Assert.Empty(one.Notes);
        Assert.Equal(3, one.Statuses.Count); // steps 0, 10 and 12 (the last)
        Assert.Matches(@"^mse \S+ ev \S+ L0 \S+ dead \d+ \| [0-9,]+ tok/s$", one.Statuses[^1]);
        Assert.Equal(13 * Batch, one.Advanced);
        var log = Log(System.IO.Path.Combine(dir, "one"));
        Assert.Equal([4L, 8, 12, 13], log.Select(l => l["step"]!.GetValue<long>()));
        // The status shows the last step's statistics as the log has them (mse per input dimension).
        double mse = log[^1]["saes"]!["topk-w16-k2"]!["mse"]!.GetValue<double>();
        Assert.StartsWith($"mse {mse.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)} ev ", one.Statuses[^1]);

        var four = new ProgressRecorder();
        var o = Options() with { Widths = [16, 32], Ks = [2, 4], LearningRate = 0, Tokens = 3 * Batch };
        SaeTrainer.Train(source, o, System.IO.Path.Combine(dir, "four"), four);
        Assert.Equal($"training 4 SAEs {3 * Batch} tok", four.Starts.Single(s => s.StartsWith("training")));
        Assert.Matches(@"^16/k2: mse \S+ ev \S+ L0 \S+ dead \d+ \| 16/k4: .* \| 32/k2: .* \(\+1\) \| [0-9,]+ tok/s$", four.Statuses[^1]);
        string rates = string.Join(", ", o.Runs().Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.Name} {SaeTrainingOptions.DefaultLearningRate(r.Width, 3):G3}")));
        Assert.Equal($"learning rate (default for the width and 3 steps): {rates}", four.Notes.Single());

        var three = new ProgressRecorder();
        SaeTrainer.Train(source, Options() with { Widths = [16, 32, 48], Tokens = Batch }, System.IO.Path.Combine(dir, "three"), three);
        Assert.DoesNotContain("(+", three.Statuses.Single());

        var relu = new ProgressRecorder();
        SaeTrainer.Train(source, Options(SaeArchitecture.Relu) with { Widths = [16, 32], Tokens = Batch }, System.IO.Path.Combine(dir, "relu"), relu);
        Assert.Matches(@"^16: mse \S+ ev \S+ L0 \S+ dead \d+ \| 32: mse .* \| [0-9,]+ tok/s$", relu.Statuses.Single());
    }

    /// <summary>Streamed rows: the label says so, the status adds the stream's own, and the stream's first rows are held out.</summary>
    [Fact]
    public void Progress_of_a_streamed_run_shows_the_stream_and_it_holds_out_the_first_rows()
    {
        string dir = TestPaths.NewTempDir();
        var (_, data) = Data(dir);
        using var stream = InMemoryStream(data);
        var progress = new ProgressRecorder();
        var o = Options() with { Widths = [16], Tokens = 2 * Batch, HoldoutRows = 10 };
        string outDir = System.IO.Path.Combine(dir, "out");
        var result = SaeTrainer.Train(stream, o, outDir, progress).Single();
        Assert.Contains($"training 1 SAE on streamed rows {2 * Batch} tok", progress.Starts);
        Assert.Matches(@" tok/s \| \d+ rows read, \d+ % of the time$", progress.Statuses[^1]);
        Assert.Equal(10 + 2 * Batch, stream.RowsRead);
        var summary = Json(System.IO.Path.Combine(outDir, "metrics.json"));
        Assert.Equal(("rows in memory", 2L * Batch, 10L), (summary["source"]!.GetValue<string>(), summary["train_rows"]!.GetValue<long>(), summary["holdout_rows"]!.GetValue<long>()));
        Assert.Equal(10, result.Metrics.Tokens);
    }

    /// <summary>
    /// A stream knows E‖x‖² over all its held-out rows, so the scale comes from them, not from the (smaller)
    /// geometric-median sample.
    /// </summary>
    [Fact]
    public void A_stream_is_normalised_by_its_held_out_rows_mean_squared_norm()
    {
        string dir = TestPaths.NewTempDir();
        var (_, data) = Data(dir);
        using var stream = InMemoryStream(data);
        var o = Options() with { Widths = [16], Tokens = Batch, HoldoutRows = 40, GeometricMedianSamples = 5 };
        string outDir = System.IO.Path.Combine(dir, "out");
        SaeTrainer.Train(stream, o, outDir, IProgressReporter.None);
        double sumSq = 0;
        for (int i = 0; i < 40 * D; i++) sumSq += (double)data[i] * data[i];
        Assert.Equal((float)(1 / Math.Sqrt(sumSq / 40)), Json(System.IO.Path.Combine(outDir, "metrics.json"))["scale"]!.GetValue<float>());
    }

    /// <summary>Checkpoints every --checkpoint-every steps (and only then), so a crash loses at most that many.</summary>
    [Theory, InlineData(3, 3L), InlineData(0, null)]
    public void A_crashed_run_leaves_its_last_periodic_checkpoint(int every, long? expected)
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using var source = ActivationSource.Open(path);
        string outDir = System.IO.Path.Combine(dir, "out");
        var crash = new SimulatedCrash(System.IO.Path.Combine(outDir, SaeTrainer.CheckpointDir), keepStep: 100, crashStep: 5);
        Assert.Throws<SimulatedCrash.CrashException>(() => SaeTrainer.Train(source, Options() with { Widths = [16], Tokens = 8 * Batch, CheckpointEverySteps = every }, outDir, crash));
        Assert.Equal(expected, File.Exists(Checkpoint(outDir)) ? Json(Checkpoint(outDir))["step"]!.GetValue<long>() : null);
    }

    /// <summary>A resumed run continues each latent's firing history (which AuxK and the dead counts read), not a fresh one.</summary>
    [Fact]
    public void A_resumed_run_continues_the_firing_history()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using var source = ActivationSource.Open(path);
        var o = Options() with { Widths = [32], Ks = [1], Tokens = 6 * Batch };
        string straight = System.IO.Path.Combine(dir, "straight"), resumed = System.IO.Path.Combine(dir, "resumed");
        SaeTrainer.Train(source, o, straight, IProgressReporter.None);
        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => SaeTrainer.Train(source, o, resumed, new Mechanist.Tests.Models.StopAfter(3, cts), cts.Token));
        var progress = new ProgressRecorder();
        SaeTrainer.Train(source, o, resumed, progress, resume: true);
        Assert.Equal([3 * Batch], progress.Done); // the bar starts where the checkpoint is
        Assert.Equal(3 * Batch, progress.Advanced);
        long[] Fired(string run) { using var st = SafeTensorsFile.Open(Checkpoint(run, "topk-w32-k1.safetensors")); return st.ReadArray<long>("tokens_since_fired"); }
        var expected = Fired(straight);
        Assert.Contains(expected, t => t > 3 * Batch); // some latent has been silent since before the interruption
        Assert.Equal(expected, Fired(resumed));
    }

    [Fact]
    public void The_stage_refuses_a_run_without_a_source()
    {
        var e = Assert.Throws<UserError>(() => SaeTrainStage.Run(new SaeTrainStageOptions { OutDir = "unused", Training = new SaeTrainingOptions() }, IProgressReporter.None, default));
        Assert.StartsWith("give --acts STORE, or --model DIR", e.Message);
    }

    [Fact]
    public void An_output_folder_in_use_is_refused_unless_forced_or_resumed()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using var source = ActivationSource.Open(path);
        var o = Options() with { Widths = [16], Tokens = 2 * Batch };
        string outDir = System.IO.Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        SaeTrainer.Train(source, o, outDir, IProgressReporter.None); // an empty folder is fine
        var e = Assert.ThrowsAny<UserError>(() => SaeTrainer.Train(source, o, outDir, IProgressReporter.None));
        Assert.Equal($"{outDir}: already exists (use --resume to continue its checkpoint or --force to start over)", e.Message);
        File.WriteAllText(System.IO.Path.Combine(outDir, SaeTrainer.LogFile), "not a log line\n");
        SaeTrainer.Train(source, o, outDir, IProgressReporter.None, force: true); // starting over drops the old log, whatever it holds
        Assert.Equal([1L, 2], Log(outDir).Select(l => l["step"]!.GetValue<long>()));
        SaeTrainer.Train(source, o, outDir, IProgressReporter.None, resume: true); // a finished run resumes to its end

        string fresh = System.IO.Path.Combine(dir, "fresh");
        Assert.Equal($"{System.IO.Path.Combine(fresh, SaeTrainer.CheckpointDir)}: no checkpoint to resume",
            Assert.ThrowsAny<UserError>(() => SaeTrainer.Train(source, o, fresh, IProgressReporter.None, resume: true)).Message);
        Assert.False(Directory.Exists(fresh));
    }

    /// <summary>Each way a checkpoint can fail to fit is refused before training, naming the file and what differs.</summary>
    [Fact]
    public void A_checkpoint_that_does_not_fit_is_refused_naming_the_file_and_field()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using var source = ActivationSource.Open(path);
        var o = Options() with { Tokens = 2 * Batch };
        string outDir = System.IO.Path.Combine(dir, "out"), statePath = Checkpoint(outDir);
        SaeTrainer.Train(source, o, outDir, IProgressReporter.None);
        string good = File.ReadAllText(statePath);

        Exception Resume(Func<JsonObject, string> edit, SaeTrainingOptions? with = null, IActivationSource? from = null)
        {
            File.WriteAllText(statePath, edit(Json(statePath)));
            try { return Assert.ThrowsAny<Exception>(() => SaeTrainer.Train(from ?? source, with ?? o, outDir, IProgressReporter.None, resume: true)); }
            finally { File.WriteAllText(statePath, good); }
        }
        void Refused(string message, Func<JsonObject, string> edit, SaeTrainingOptions? with = null, IActivationSource? from = null)
        {
            var e = Resume(edit, with, from);
            Assert.True(e is UserError, e.ToString());
            Assert.StartsWith(message, e.Message);
        }

        Refused($"{statePath}: the training options differ from the checkpoint's; resume with the same options (saved under \"options\")", j => j.ToJsonString(), o with { Seed = 6 });
        Refused($"{statePath}: the training options differ", j => { j.Remove("options"); return j.ToJsonString(); });
        string at = statePath + ": ";
        Refused(at + "(root): invalid JSON: ", _ => "{ not json");
        Refused(at + "(root): not a JSON object", _ => "[1, 2]");
        Refused(at + "format: not an SAE training checkpoint", j => { j["format"] = "something-else"; return j.ToJsonString(); });
        Refused(at + "d_in: missing or not an integer", j => { j.Remove("d_in"); return j.ToJsonString(); });
        Refused(at + "runs: 1 SAEs, the options describe 2", j => { j["runs"]!.AsArray().RemoveAt(1); return j.ToJsonString(); });
        Refused(at + "runs[1].name: expected topk-w32-k2", j => { j["runs"]![1]!["name"] = "other"; return j.ToJsonString(); });
        Refused(at + "runs[0]: not an object", j => { j["runs"]![0] = 3; return j.ToJsonString(); });
        Refused(at + "runs[0].adam_steps: missing", j => { j["runs"]![0]!.AsObject().Remove("adam_steps"); return j.ToJsonString(); });
        Refused(at + "batch_threshold_bits: missing or not an integer", j => { j["runs"]![0]!.AsObject().Remove("batch_threshold_bits"); return j.ToJsonString(); });
        Refused(at + "rng.position: missing or not an unsigned integer", j => { j["rng"]!["position"] = "-1"; return j.ToJsonString(); });
        Refused(at + "rng.seed: missing or not an unsigned integer", j => { j["rng"]!["seed"] = 5; return j.ToJsonString(); });
        Refused(at + "rng: missing", j => { j.Remove("rng"); return j.ToJsonString(); });
        Refused(at + "runs: missing", j => { j.Remove("runs"); return j.ToJsonString(); });
        Refused(at + "scale_bits: missing or not an integer", j => { j.Remove("scale_bits"); return j.ToJsonString(); });
        Refused(at + "step: missing or not an integer", j => { j["step"] = "three"; return j.ToJsonString(); });

        // A firing history of the wrong length (the weights fit).
        string runFile = Checkpoint(outDir, "topk-w16-k2.safetensors");
        byte[] goodRun = File.ReadAllBytes(runFile);
        var entries = new List<SafeTensorsEntry>();
        using (var st = SafeTensorsFile.Open(runFile))
            foreach (string name in st.Names.Where(n => n != "tokens_since_fired")) entries.Add(SafeTensorsEntry.Float(name, st.ReadFloat(name)));
        entries.Add(SafeTensorsEntry.Of("tokens_since_fired", new long[15], 15));
        SafeTensors.Save(runFile, entries);
        Refused($"{runFile}: tokens_since_fired: 15 entries, expected 16", j => j.ToJsonString());
        File.WriteAllBytes(runFile, goodRun);
        Refused($"{runFile}: W_enc.step: missing or negative optimizer step count", j => { j["runs"]![0]!["adam_steps"]!["W_enc"] = null; return j.ToJsonString(); });

        var (narrowPath, _) = Data(dir, width: 6);
        using var narrow = ActivationSource.Open(narrowPath);
        Refused($"{statePath}: the checkpoint was made on rows of width {D}; {narrowPath} has width 6", j => j.ToJsonString(), from: narrow);

        File.Delete(statePath);
        Assert.Equal($"{statePath}: missing; the checkpoint is incomplete",
            Assert.ThrowsAny<UserError>(() => SaeTrainer.Train(source, o, outDir, IProgressReporter.None, resume: true)).Message);
    }

    /// <summary>
    /// One step of a run on its own: the loss settings it passes to the kernel (λ × warm-up factor, the dead mask from
    /// the firing history before the step), the firing history after it, the optimizer's rate, unit decoder rows, the
    /// clipped gradient's norm, and batchtopk's threshold average.
    /// </summary>
    [Fact]
    public void A_step_updates_the_firing_history_dead_mask_rate_and_decoder_norms()
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, D, 24, 3, k: 3);
        var o = new SaeTrainingOptions { Architecture = SaeArchitecture.TopK, DeadWindowTokens = 100, ClipNorm = 1e-3 };
        var run = new SaeTrainingRun("r", sae, o, 0.8, 0.05);
        var x = RandomRows(new Rng(4), 20);
        for (int i = 0; i < 24; i++) run.TokensSinceFired[i] = i * 10;
        var before = (long[])run.TokensSinceFired.Clone();
        var decoderBefore = sae.WDec.Value.Clone();
        var stats = run.Step(x, 0, 0.03f, 0.25, thresholdStart: 0, o);

        Assert.Equal(0.8 * 0.25, run.Settings.Sparsity, 12);
        Assert.Equal(before.Select(t => t >= 100), run.Settings.Dead!);
        var counts = sae.Kernel.LatentCounts.ToArray();
        for (int i = 0; i < 24; i++) Assert.Equal(counts[i] > 0 ? 0 : before[i] + 20, run.TokensSinceFired[i]);
        Assert.Equal(0.03f, run.Optimizer.LearningRate);
        for (int i = 0; i < 24; i++) Assert.Equal(1, Math.Sqrt(VectorMath.Dot<float>(sae.WDec.Value.Row(i), sae.WDec.Value.Row(i))), 1e-6);
        Assert.Equal(stats.Loss, run.Last.Loss);
        // The decoder's gradient rows are projected off the (unit) decoder rows, so the step keeps them near unit norm.
        for (int i = 0; i < 24; i++)
        {
            var g = sae.WDec.Grad!.Row(i);
            double along = VectorMath.Dot<float>(g, decoderBefore.Row(i)), size = Math.Sqrt(VectorMath.Dot<float>(g, g));
            Assert.True(Math.Abs(along) <= 1e-4 * Math.Max(size, 1e-12), $"row {i}: {along} along the decoder row, |g| = {size}");
        }
        double clipped = Math.Sqrt(sae.Parameters.Sum(p => (double)VectorMath.Dot<float>(p.Grad!.Span, p.Grad.Span)));
        Assert.True(run.LastGradientNorm > 1e-3, $"{run.LastGradientNorm}");
        Assert.Equal(1e-3, clipped, 1e-6);
        for (int i = 0; i < 24; i++) run.TokensSinceFired[i] = i * 10;
        Assert.Equal((2, 1, 0), (run.DeadCount(220), run.DeadCount(230), run.DeadCount(231)));

        var unclipped = new SaeTrainingRun("r", SparseAutoencoder.Create(SaeArchitecture.TopK, D, 24, 3, k: 3), o with { ClipNorm = 0 }, 0, 0.05);
        unclipped.Step(x, 0, 0.03f, 1, 0, o with { ClipNorm = 0 });
        Assert.True(double.IsNaN(unclipped.LastGradientNorm));
        Assert.Equal(1, unclipped.Optimizer.StateOf(unclipped.Sae.WEnc).Step); // no clipping is no reason to skip the update
    }

    [Theory, InlineData(0.0), InlineData(1.0)]
    public void A_step_with_a_non_finite_loss_leaves_the_weights_alone(double clip)
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, D, 16, 3);
        var o = new SaeTrainingOptions { Architecture = SaeArchitecture.Relu, ClipNorm = clip };
        var run = new SaeTrainingRun("r", sae, o, 0.1, 0.05);
        var x = RandomRows(new Rng(4), 10);
        x[3 * D + 2] = float.NaN;
        var weights = sae.Parameters.Select(p => p.Value.ToArray()).ToList();
        var stats = run.Step(x, 0, 0.05f, 1, 0, o);
        Assert.False(double.IsFinite(stats.Loss));
        for (int p = 0; p < weights.Count; p++) Assert.Equal(weights[p], sae.Parameters[p].Value.ToArray());
        Assert.Equal(0, run.Optimizer.StateOf(sae.WEnc).Step);
    }

    [Fact]
    public void Batchtopk_averages_its_batch_thresholds_from_the_start_step()
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.BatchTopK, D, 24, 3, k: 3);
        var o = new SaeTrainingOptions { Architecture = SaeArchitecture.BatchTopK, ThresholdBeta = 0.75 };
        var run = new SaeTrainingRun("r", sae, o, 0, 0.01);
        var rng = new Rng(9);
        run.Step(RandomRows(rng, 16), 4, 0.01f, 1, thresholdStart: 5, o);
        Assert.Equal(0, sae.BatchThreshold);
        var first = run.Step(RandomRows(rng, 16), 5, 0.01f, 1, thresholdStart: 5, o);
        Assert.True(first.Threshold > 0);
        Assert.Equal((float)first.Threshold, sae.BatchThreshold);
        var second = run.Step(RandomRows(rng, 16), 6, 0.01f, 1, thresholdStart: 5, o);
        Assert.Equal((float)(0.75 * (float)first.Threshold + 0.25 * (float)second.Threshold), sae.BatchThreshold);
        Assert.NotEqual((float)second.Threshold, sae.BatchThreshold);
    }

    /// <summary>
    /// The batchtopk threshold average starts at --threshold-start-step, or half-way through a run too short for it
    /// (the default 1,000 in an 8-step run), so a short run still saves an inference threshold.
    /// </summary>
    [Fact]
    public void A_short_batchtopk_run_still_averages_an_inference_threshold()
    {
        string dir = TestPaths.NewTempDir();
        var (path, _) = Data(dir);
        using (var source = ActivationSource.Open(path))
            SaeTrainer.Train(source, Options(SaeArchitecture.BatchTopK) with { Widths = [16], Tokens = 8 * Batch, ThresholdStartStep = 1000 }, System.IO.Path.Combine(dir, "out"), IProgressReporter.None);
        Assert.True(SaeLensFormat.Load(System.IO.Path.Combine(dir, "out", "batchtopk-w16-k2")).BatchThreshold > 0);
    }

    /// <summary>A batch whose loss is finite but whose gradient overflows float32 is skipped, as a non-finite loss is.</summary>
    [Fact]
    public void A_step_whose_gradient_overflows_leaves_the_weights_alone()
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, D, 16, 3);
        var o = new SaeTrainingOptions { Architecture = SaeArchitecture.Relu, ClipNorm = 1 };
        var run = new SaeTrainingRun("r", sae, o, 0.1, 0.05);
        var x = RandomRows(new Rng(4), 10);
        for (int i = 0; i < x.Length; i++) x[i] *= 3e18f;
        var weights = sae.Parameters.Select(p => p.Value.ToArray()).ToList();
        var stats = run.Step(x, 0, 0.05f, 1, 0, o);
        Assert.True(double.IsFinite(stats.Loss), $"loss {stats.Loss}");
        Assert.False(double.IsFinite(run.LastGradientNorm), $"gradient norm {run.LastGradientNorm}");
        for (int p = 0; p < weights.Count; p++) Assert.Equal(weights[p], sae.Parameters[p].Value.ToArray());
    }

    static Tensor RandomRows(Rng rng, int rows)
    {
        var x = new Tensor(rows, D);
        for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
