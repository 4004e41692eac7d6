using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Autograd.Optimizers;
using Mechanist.IO;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>One trained SAE: where it was saved and how it scored on the held-out rows.</summary>
public sealed record SaeTrainingResult(string Name, string Directory, SaeMetrics Metrics, double LearningRate);

/// <summary>
/// Trains one or more SAEs on one activation stream, reading each batch once for all of them
/// (<c>mechanist sae train</c>). The rows come from an <see cref="ISaeTrainingData"/>: a stored activation
/// store (<see cref="StoreTrainingData"/>) or rows streamed from a model (<see cref="StreamTrainingData"/>). Inputs are scaled by c so that E‖c·x‖² = 1; the saved SAEs have c folded
/// in and read raw activations. The output folder holds one SAELens folder per SAE (named by
/// <see cref="SaeTrainingOptions.Runs"/>), <c>metrics.json</c>, density histograms, and
/// <c>checkpoint/</c> from which an interrupted run resumes exactly.
/// </summary>
public static class SaeTrainer
{
    public const string CheckpointDir = "checkpoint";
    /// <summary>training.jsonl: every <see cref="SaeTrainingOptions.LogEverySteps"/> steps each SAE's batch statistics, and every resampling.</summary>
    public const string LogFile = "training.jsonl";

    /// <summary>Trains on a stored activation store or .npy file (<see cref="StoreTrainingData"/>).</summary>
    /// <param name="resume">Continue from <c>out/checkpoint</c> (must exist) instead of starting fresh.</param>
    public static IReadOnlyList<SaeTrainingResult> Train(IActivationSource source, SaeTrainingOptions o, string outDir,
        IProgressReporter progress, CancellationToken cancel = default, bool resume = false, bool force = false) =>
        Train(new StoreTrainingData(source), o, outDir, progress, cancel, resume, force);

    /// <param name="data">A fresh instance for this run (it holds the run's data position).</param>
    /// <param name="resume">Continue from <c>out/checkpoint</c> (must exist) instead of starting fresh.</param>
    public static IReadOnlyList<SaeTrainingResult> Train(ISaeTrainingData data, SaeTrainingOptions o, string outDir,
        IProgressReporter progress, CancellationToken cancel = default, bool resume = false, bool force = false)
    {
        o.Validate(data.Width);
        int d = data.Width;
        var plan = data.Plan(o);
        long holdout = plan.HoldoutRows, trainRows = plan.TrainRows, tokens = plan.Tokens;
        long totalSteps = Math.Max(1, (tokens + o.BatchSize - 1) / o.BatchSize);
        o = o with { DeadWindowTokens = o.DeadWindow(totalSteps * o.BatchSize) }; // resolved once: checkpoints and saved options record it
        string checkpoint = Path.Combine(outDir, CheckpointDir);

        if (File.Exists(outDir)) throw new UserError($"--out {outDir} is a file, not a folder");
        if (!resume && Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !force)
            throw new UserError($"{outDir}: already exists (use --resume to continue its checkpoint or --force to start over)");
        if (resume && !Directory.Exists(checkpoint)) throw new UserError($"{checkpoint}: no checkpoint to resume");
        Directory.CreateDirectory(outDir);

        // A checkpoint made with other options is refused before any data is read (a stream would first re-run the
        // model over its held-out rows).
        var checkpointState = resume ? ReadCheckpointState(checkpoint, o, data) : null;
        data.Start(progress, cancel);
        var state = checkpointState != null
            ? LoadCheckpoint(checkpoint, checkpointState, o, data, totalSteps, progress, cancel)
            : Initialise(data, o, totalSteps);
        var runs = state.Runs;
        var schedule = new LearningRateSchedule(Math.Min(o.WarmupSteps, Math.Max(1, totalSteps / 20)), totalSteps,
            DecayShape.Linear, 0, decayStart: (long)Math.Round(totalSteps * (1 - o.DecayFraction)));
        long sparsityWarmup = Math.Max(1, (long)(o.SparsityWarmupFraction * totalSteps));
        long thresholdStart = Math.Min(o.ThresholdStartStep, totalSteps / 2);
        var resampleAt = new HashSet<long>(o.ResampleSteps);

        var batch = new Tensor(o.BatchSize, d);
        using var task = progress.Start($"training {runs.Count} SAE{(runs.Count > 1 ? "s" : "")}{(data is StreamTrainingData ? " on streamed rows" : "")}", totalSteps * o.BatchSize, "tok");
        task.SetDone(state.Step * o.BatchSize);
        if (o.LearningRate == 0)
            task.Note($"learning rate (default for the width and {totalSteps:N0} steps): {string.Join(", ", runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Name} {r.LearningRate:G3}")))}");
        // Only the SAE steps take the precision: a streamed model's forward pass and the evaluation stay fp32.
        var precision = GemmPrecisionScope.Parse(o.Precision);
        using (var probe = GemmPrecisionScope.Enter(precision))
            if (probe.FallbackMessage is string fallback)
            {
                task.Note(fallback);
                precision = GemmPrecision.Float32;
            }
        var clock = Stopwatch.StartNew();
        long tokensAtClock = state.Step * o.BatchSize;
        var lastSave = Stopwatch.StartNew();
        using var log = StepLog.Open(Path.Combine(outDir, LogFile), resume ? state.Step : null);
        for (long step = state.Step; step < totalSteps; step++)
        {
            if (cancel.IsCancellationRequested)
            {
                state.Step = step;
                SaveCheckpoint(checkpoint, state, o, data);
                cancel.ThrowIfCancellationRequested();
            }
            int n = data.NextBatch(batch.Span);
            var x = n == o.BatchSize ? batch : batch.Rows(0, n);
            if (state.Scale != 1) VectorMath.Scale(state.Scale, x.Span, x.Span);
            double sparsityFactor = Math.Min(1, (step + 1) / (double)sparsityWarmup);
            using (GemmPrecisionScope.Enter(precision))
                foreach (var run in runs) run.Step(x, step, schedule.Rate(run.LearningRate, step), sparsityFactor, thresholdStart, o);
            if (resampleAt.Contains(step + 1))
                foreach (var (name, count) in Resample(runs, data, state, o))
                {
                    log.Write(new JsonObject { ["step"] = step + 1, ["event"] = "resample", ["sae"] = name, ["latents"] = count });
                    task.Note($"step {step + 1:N0}: {name} resampled {count:N0} latents silent for {o.ResampleWindowSteps:N0} steps");
                }
            if ((step + 1) % o.LogEverySteps == 0 || step == totalSteps - 1) log.Write(LogEntry(runs, o, step + 1, schedule, sparsityFactor));
            task.Advance(n);
            if (step % 10 == 0 || step == totalSteps - 1)
            {
                double rate = (step + 1 - tokensAtClock / (double)o.BatchSize) * o.BatchSize / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                task.SetStatus(Status(runs, o, rate) + (data.Status() is string streaming ? " | " + streaming : ""));
            }
            if ((o.CheckpointEverySteps > 0 && (step + 1) % o.CheckpointEverySteps == 0 && step + 1 < totalSteps) || lastSave.Elapsed.TotalMinutes >= 10)
            {
                state.Step = step + 1;
                SaveCheckpoint(checkpoint, state, o, data);
                lastSave.Restart();
            }
        }
        state.Step = totalSteps;
        SaveCheckpoint(checkpoint, state, o, data);
        task.Dispose();

        // Evaluate on the held-out rows with the folded (raw-input) SAEs and save them.
        var results = new List<SaeTrainingResult>();
        var summary = new JsonObject { ["source"] = data.Description, ["train_rows"] = trainRows, ["holdout_rows"] = holdout, ["steps"] = totalSteps, ["scale"] = state.Scale };
        var perSae = new JsonObject();
        foreach (var run in runs)
        {
            var saved = run.Sae.FoldInputScale(state.Scale);
            saved.Metadata = o.Metadata;
            var metrics = holdout > 0 ? SaeMetrics.Evaluate(saved, data.HeldOut()) : null;
            string dir = Path.Combine(outDir, run.Name);
            var extra = new JsonObject
            {
                ["folded_input_scale"] = state.Scale,
                ["fold"] = "W_enc·c, W_dec/c, b_dec/c (latents unchanged)",
                ["lambda"] = run.Lambda,
                ["lr"] = run.LearningRate,
                ["training"] = o.ToJson(),
                ["steps"] = totalSteps,
            };
            SaeLensFormat.Save(saved, dir, metrics?.Log10Density(), extra);
            if (metrics != null)
            {
                AtomicFile.WriteAllText(Path.Combine(dir, "metrics.json"), metrics.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                DensityHistogram.Save(Path.Combine(dir, "density"), metrics.Density, $"{run.Name}: feature density ({metrics.Tokens:N0} held-out tokens)");
                perSae[run.Name] = metrics.ToJson();
                results.Add(new SaeTrainingResult(run.Name, dir, metrics, run.LearningRate));
            }
        }
        summary["saes"] = perSae;
        AtomicFile.WriteAllText(Path.Combine(outDir, "metrics.json"), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return results;
    }

    static string Status(List<SaeTrainingRun> runs, SaeTrainingOptions o, double rate)
    {
        var parts = runs.Take(3).Select(r =>
        {
            var s = r.Last;
            string prefix = runs.Count > 1 ? $"{r.Sae.DSae}{(o.UsesK ? $"/k{r.Sae.K}" : "")}: " : "";
            return $"{prefix}mse {s.Reconstruction / r.Sae.DIn:G3} ev {s.ExplainedVariance:F3} L0 {s.L0:F1} dead {r.DeadCount(o.DeadWindowTokens)}";
        });
        return string.Join(" | ", parts) + (runs.Count > 3 ? $" (+{runs.Count - 3})" : "") + $" | {rate:N0} tok/s";
    }


    sealed class TrainingState
    {
        public required List<SaeTrainingRun> Runs;
        public required Rng Rng;
        public float Scale;
        public long Step;
    }

    static TrainingState Initialise(ISaeTrainingData data, SaeTrainingOptions o, long totalSteps)
    {
        var rng = new Rng(o.Seed);
        var sample = data.Sample(rng.Stream(1), Math.Max(o.GeometricMedianSamples, 1));
        int sampleCount = sample.RowCount;
        float scale = 1;
        if (o.Normalize)
        {
            double meanSq = data.MeanSquaredNorm ?? 0;
            if (!(meanSq > 0))
            {
                double s = 0;
                foreach (float v in sample.Span) s += (double)v * v;
                meanSq = s / sampleCount;
            }
            if (!(meanSq > 0) || !double.IsFinite(meanSq)) throw new UserError($"{data.Description}: activations have zero or non-finite norm; cannot normalise");
            scale = (float)(1 / Math.Sqrt(meanSq));
            VectorMath.Scale(scale, sample.Span, sample.Span);
        }
        var median = GeometricMedian.Compute(sample);
        var runs = new List<SaeTrainingRun>();
        ulong index = 0;
        foreach (var (name, width, l1, k) in o.Runs())
        {
            var sae = SparseAutoencoder.Create(o.Architecture, data.Width, width, SplitMix64.Mix(o.Seed + SplitMix64.Gamma * ++index), k > 0 ? k : 32);
            median.CopyTo(sae.BDec.Value.Span);
            sae.LogThreshold?.Value.Fill((float)Math.Log(o.ThresholdInit));
            runs.Add(new SaeTrainingRun(name, sae, o, l1, o.LearningRateFor(width, totalSteps)));
        }
        return new TrainingState
        {
            Runs = runs,
            Rng = rng.Stream(2),
            Scale = scale,
        };
    }

    /// <summary>
    /// Resamples the relu SAEs' latents that have not fired in the resampling window (docs/METHODS.md §2.1). Relu only:
    /// the procedure is Towards Monosemanticity's, and the gated paper trains without it (a gated latent would
    /// also need its r_mag/b_mag reset, which the paper does not specify). The data chooses the inputs
    /// (<see cref="ISaeTrainingData.ResampleInputs"/>); SAEs without dead latents draw nothing.
    /// </summary>
    /// <returns>Each SAE that had dead latents, with how many were resampled.</returns>
    static List<(string Name, int Count)> Resample(List<SaeTrainingRun> runs, ISaeTrainingData data, TrainingState state, SaeTrainingOptions o)
    {
        long window = o.ResampleWindowSteps * o.BatchSize;
        var due = new List<(SaeTrainingRun Run, List<int> Dead)>();
        foreach (var run in runs)
        {
            if (run.Sae.Architecture != SaeArchitecture.Relu) continue;
            var dead = Enumerable.Range(0, run.Sae.DSae).Where(i => run.TokensSinceFired[i] >= window).ToList();
            if (dead.Count > 0) due.Add((run, dead));
        }
        if (due.Count == 0) return [];
        var inputs = data.ResampleInputs(due.Select(r => (r.Run.Sae, r.Dead.Count)).ToList(), state.Scale, state.Rng, o.ResampleInputs);
        for (int r = 0; r < due.Count; r++)
        {
            var (run, dead) = due[r];
            DeadLatentResampler.Apply(run.Sae, run.Optimizer, dead, inputs[r]);
            foreach (int i in dead) run.TokensSinceFired[i] = 0;
        }
        return due.Select(r => (r.Run.Name, r.Dead.Count)).ToList();
    }

    /// <summary>One line of training.jsonl: the last batch's statistics of every SAE (scaled inputs, as trained).</summary>
    static JsonObject LogEntry(List<SaeTrainingRun> runs, SaeTrainingOptions o, long step, LearningRateSchedule schedule, double sparsityFactor)
    {
        var saes = new JsonObject();
        foreach (var run in runs)
        {
            var s = run.Last;
            saes[run.Name] = new JsonObject
            {
                ["lr"] = schedule.Rate(run.LearningRate, step - 1),
                ["mse"] = s.Reconstruction / run.Sae.DIn,
                ["explained_variance"] = s.ExplainedVariance,
                ["l0"] = s.L0,
                ["l1"] = s.L1,
                ["loss"] = s.Loss,
                ["dead"] = run.DeadCount(o.DeadWindowTokens),
                ["silent_resample_window"] = run.DeadCount(o.ResampleWindowSteps * o.BatchSize),
            };
        }
        return new JsonObject
        {
            ["step"] = step,
            ["tokens"] = step * o.BatchSize,
            ["sparsity_factor"] = sparsityFactor,
            ["saes"] = saes,
        };
    }

    // ---- checkpoints: state.json + one safetensors per SAE (weights, Adam moments, firing history) ----

    static void SaveCheckpoint(string dir, TrainingState s, SaeTrainingOptions o, ISaeTrainingData data)
    {
        using var staging = AtomicDirectory.Begin(dir, overwrite: true);
        var runs = new JsonArray();
        foreach (var run in s.Runs)
        {
            var entries = new List<SafeTensorsEntry>();
            foreach (var p in run.Sae.Parameters) entries.Add(SafeTensorsEntry.Float(p.Name, p.Value));
            var (moments, steps) = run.Optimizer.ExportState();
            foreach (var (name, t) in moments) entries.Add(SafeTensorsEntry.Float("adam." + name, t));
            entries.Add(SafeTensorsEntry.Of("tokens_since_fired", run.TokensSinceFired, run.TokensSinceFired.Length));
            SafeTensors.Save(Path.Combine(staging.TempPath, run.Name + ".safetensors"), entries);
            runs.Add(new JsonObject
            {
                ["name"] = run.Name,
                ["width"] = run.Sae.DSae,
                ["k"] = run.Sae.K,
                ["lambda"] = run.Lambda,
                ["lr"] = run.LearningRate,
                ["batch_threshold_bits"] = BitConverter.SingleToInt32Bits(run.Sae.BatchThreshold),
                ["adam_steps"] = new JsonObject(steps.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            });
        }
        var rng = s.Rng.State;
        var json = new JsonObject
        {
            ["format"] = "mechanist-sae-checkpoint",
            ["version"] = 1,
            ["step"] = s.Step,
            ["scale"] = s.Scale,
            ["scale_bits"] = BitConverter.SingleToInt32Bits(s.Scale), // exact float for resume
            ["source"] = data.Description,
            ["d_in"] = data.Width,
            ["rng"] = new JsonObject { ["seed"] = rng.Seed.ToString(CultureInfo.InvariantCulture), ["stream"] = rng.Stream.ToString(CultureInfo.InvariantCulture), ["position"] = rng.Position.ToString(CultureInfo.InvariantCulture) },
            ["options"] = o.ToJson(),
            ["runs"] = runs,
        };
        data.SaveState(json);
        AtomicFile.WriteAllText(Path.Combine(staging.TempPath, "state.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        staging.Commit();
    }

    /// <summary>Reads checkpoint/state.json and checks it was made by the same options on data of the same width.</summary>
    static JsonObject ReadCheckpointState(string dir, SaeTrainingOptions o, ISaeTrainingData data)
    {
        string path = Path.Combine(dir, "state.json");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatError(path, "(root)", "not a JSON object"); }
        catch (JsonException e) { throw new DataFormatError(path, "(root)", "invalid JSON: " + e.Message, e); }
        catch (FileNotFoundException) { throw new UserError($"{path}: missing; the checkpoint is incomplete"); }
        if (json["format"]?.GetValue<string>() != "mechanist-sae-checkpoint") throw new DataFormatError(path, "format", "not an SAE training checkpoint");
        if (Long(json, "d_in", path) != data.Width)
            throw new UserError($"{path}: the checkpoint was made on rows of width {Long(json, "d_in", path)}; {data.Description} has width {data.Width}");
        string optionsNow = o.ToJson().ToJsonString(), optionsThen = json["options"]?.ToJsonString() ?? "";
        if (optionsNow != optionsThen)
            throw new UserError($"{path}: the training options differ from the checkpoint's; resume with the same options (saved under \"options\")");
        return json;
    }

    static TrainingState LoadCheckpoint(string dir, JsonObject json, SaeTrainingOptions o, ISaeTrainingData data, long totalSteps, IProgressReporter progress, CancellationToken cancel)
    {
        string path = Path.Combine(dir, "state.json");
        var rngJson = json["rng"] as JsonObject ?? throw new DataFormatError(path, "rng", "missing");
        var rng = Rng.FromState(new RngState(ULong(rngJson, "seed", path), ULong(rngJson, "stream", path), ULong(rngJson, "position", path)));
        var runs = new List<SaeTrainingRun>();
        var runJson = json["runs"] as JsonArray ?? throw new DataFormatError(path, "runs", "missing");
        var expected = o.Runs();
        if (runJson.Count != expected.Count) throw new DataFormatError(path, "runs", $"{runJson.Count} SAEs, the options describe {expected.Count}");
        for (int r = 0; r < expected.Count; r++)
        {
            var (name, width, l1, k) = expected[r];
            var rj = runJson[r] as JsonObject ?? throw new DataFormatError(path, $"runs[{r}]", "not an object");
            if (rj["name"]?.GetValue<string>() != name) throw new DataFormatError(path, $"runs[{r}].name", $"expected {name}");
            var sae = new SparseAutoencoder(o.Architecture, data.Width, width, k > 0 ? k : 32)
            {
                BatchThreshold = BitConverter.Int32BitsToSingle((int)Long(rj, "batch_threshold_bits", path)),
            };
            var run = new SaeTrainingRun(name, sae, o, l1, o.LearningRateFor(width, totalSteps));
            string file = Path.Combine(dir, name + ".safetensors");
            using (var st = SafeTensorsFile.Open(file))
            {
                foreach (var p in sae.Parameters) st.ReadFloat(p.Name, p.Value.Shape).Span.CopyTo(p.Value.Span);
                var moments = new Dictionary<string, Tensor>();
                foreach (var p in sae.Parameters)
                {
                    moments[p.Name + ".exp_avg"] = st.ReadFloat("adam." + p.Name + ".exp_avg", p.Value.Shape);
                    moments[p.Name + ".exp_avg_sq"] = st.ReadFloat("adam." + p.Name + ".exp_avg_sq", p.Value.Shape);
                }
                var stepsJson = rj["adam_steps"] as JsonObject ?? throw new DataFormatError(path, $"runs[{r}].adam_steps", "missing");
                var steps = stepsJson.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<long>() ?? -1);
                run.Optimizer.ImportState(moments, steps, file);
                var fired = st.ReadArray<long>("tokens_since_fired");
                if (fired.Length != width) throw new DataFormatError(file, "tokens_since_fired", $"{fired.Length} entries, expected {width}");
                fired.CopyTo(run.TokensSinceFired, 0);
            }
            runs.Add(run);
        }
        data.RestoreState(json, path, progress, cancel); // last: a stream replays its rows here
        return new TrainingState { Runs = runs, Rng = rng, Scale = BitConverter.Int32BitsToSingle((int)Long(json, "scale_bits", path)), Step = Long(json, "step", path) };
    }

    static long Long(JsonObject o, string key, string path) =>
        o[key] is JsonValue v && v.TryGetValue(out long x) ? x : throw new DataFormatError(path, key, "missing or not an integer");

    static ulong ULong(JsonObject o, string key, string path) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x)
            ? x : throw new DataFormatError(path, "rng." + key, "missing or not an unsigned integer");
}
