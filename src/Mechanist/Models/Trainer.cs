using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.IO;
using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>What a training run did.</summary>
public sealed record TrainResult(long Steps, long StepsThisSession, float LastLoss, double? ValidationLoss, double TokensPerSecond);

/// <summary>
/// Trains a transformer on next-token prediction with AdamW, warm-up + cosine decay and global-norm clipping,
/// into a run directory:
/// <code>
/// config.json, model.safetensors   the latest weights (a GPT-2 folder: loads with ModelFiles.Load or in Python)
/// checkpoint/                      weights, optimizer moments, step and data position, for --resume
/// metrics.jsonl                    one JSON line per step (loss, lr, grad_norm) and per validation
/// loss.svg                         the loss curve
/// </code>
/// Checkpoints are written every <see cref="TrainOptions.CheckpointEvery"/> steps, at the end, and when the
/// token is cancelled (Ctrl-C). Resuming restores parameters, moments, step counts and the sampler position,
/// so the run continues to exactly the weights an uninterrupted run reaches.
/// </summary>
public static class Trainer
{
    public const string CheckpointDir = "checkpoint";
    public const string StateFile = "state.json";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string MetricsFile = "metrics.jsonl";
    public const string PlotFile = "loss.svg";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <param name="valid">Fixed validation windows (concatenated, context+1 each); may be empty.</param>
    /// <param name="resume">Continue the run in <paramref name="runDir"/> from its checkpoint (its saved options win).</param>
    /// <param name="force">Start afresh even if <paramref name="runDir"/> holds a run.</param>
    public static TrainResult Train(string runDir, TrainOptions options, IWindowSource data, int[] valid,
        IProgressReporter progress, CancellationToken cancel, bool resume = false, bool force = false)
    {
        string checkpoint = Path.Combine(runDir, CheckpointDir);
        Transformer<float> model;
        long startStep = 0;
        JsonObject? saved = null;
        if (resume)
        {
            string statePath = Path.Combine(checkpoint, StateFile);
            if (!File.Exists(statePath)) throw new UserError($"{runDir}: no checkpoint to resume from ({statePath} not found)");
            saved = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new DataFormatError(statePath, "(root)", "not a JSON object");
            options = saved["options"].Deserialize<TrainOptions>() ?? throw new DataFormatError(statePath, "options", "missing");
            startStep = saved["step"]?.GetValue<long>() ?? throw new DataFormatError(statePath, "step", "missing");
            if (saved[ModelTokenizer.StateKey]?.GetValue<string>() is string trainedOn && data.TokenizerHash is string given && trainedOn != given)
                throw new UserError($"{runDir} was trained on ids of another tokenizer than the token store's (hash {trainedOn[..Math.Min(19, trainedOn.Length)]}… vs " +
                    $"{given[..Math.Min(19, given.Length)]}…): resume it on the token store it started with");
            model = ModelFiles.Load(checkpoint);
        }
        else
        {
            if (File.Exists(Path.Combine(checkpoint, StateFile)) && !force)
                throw new UserError($"{runDir} already holds a training run (use --resume to continue it, or --force to start over)");
            if (force && Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            options.Validate();
            model = Transformer<float>.Create(options.Config(data.VocabSize), options.Seed);
        }
        var c = model.Config;
        if (data.Context != c.Context) throw new UserError($"the data gives windows of {data.Context} tokens but the model's context is {c.Context}");
        if (data.VocabSize > c.Vocab) throw new UserError($"the token store's vocabulary ({data.VocabSize}) is larger than the model's ({c.Vocab})");
        Directory.CreateDirectory(runDir);

        long tokensPerStep = (long)options.Batch * c.Context;
        long totalSteps = (options.Tokens + tokensPerStep - 1) / tokensPerStep;
        long warmup = Math.Min(options.WarmupSteps, Math.Max(1, totalSteps / 10));
        var sparse = options.WeightDensity is double density
            ? new SparseSchedule(totalSteps, density, options.EmbeddingDensity ?? SparseSchedule.DefaultEmbeddingDensity(density)) : null;
        var schedule = sparse?.LearningRates() ?? new LearningRateSchedule(warmup, totalSteps, DecayShape.Cosine, options.FinalLrFraction);
        var optimizer = new AdamW(model.Parameters, options.LearningRate, options.Beta1, options.Beta2,
            sparse != null ? SparseSchedule.AdamEpsilon : 1e-8f, options.WeightDecay);
        if (saved != null)
        {
            string optPath = Path.Combine(checkpoint, OptimizerFile);
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            using (var f = SafeTensorsFile.Open(optPath))
                foreach (string name in f.Names) tensors[name] = f.ReadFloat(name);
            var steps = saved["optimizer_steps"].Deserialize<Dictionary<string, long>>() ?? throw new DataFormatError(Path.Combine(checkpoint, StateFile), "optimizer_steps", "missing");
            optimizer.ImportState(tensors, steps, optPath);
            data.Seek(saved["data_position"]?.GetValue<long>() ?? throw new DataFormatError(Path.Combine(checkpoint, StateFile), "data_position", "missing"));
        }
        var sparsifier = sparse == null ? null : new WeightSparsifier(model, sparse, options.SparseKernels);
        var step = new TrainingStep(model, optimizer, schedule, options.LearningRate, options.ClipNorm, sparsifier);

        var trainCurve = new List<(long, double)>();
        var validCurve = new List<(long, double)>();
        string metricsPath = Path.Combine(runDir, MetricsFile);
        RewriteMetrics(metricsPath, startStep, trainCurve, validCurve);
        using var metrics = new StreamWriter(new FileStream(metricsPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));

        void Checkpoint(long done)
        {
            AtomicDirectory.Create(checkpoint, tmp =>
            {
                ModelFiles.Save(model, tmp);
                var (tensors, steps) = optimizer.ExportState();
                SafeTensors.Save(Path.Combine(tmp, OptimizerFile), tensors.Select(t => (t.Key, t.Value, DType.F32)));
                var state = new JsonObject
                {
                    ["step"] = done,
                    ["total_steps"] = totalSteps,
                    ["tokens_seen"] = done * tokensPerStep,
                    ["data_position"] = data.Position,
                    [ModelTokenizer.StateKey] = data.TokenizerHash,
                    ["optimizer_steps"] = JsonSerializer.SerializeToNode(steps),
                    ["options"] = JsonSerializer.SerializeToNode(options),
                };
                AtomicFile.WriteAllText(Path.Combine(tmp, StateFile), state.ToJsonString(Json) + "\n");
            }, overwrite: true);
            ModelFiles.Save(model, runDir);
            metrics.Flush();
            LossPlot.Write(Path.Combine(runDir, PlotFile), trainCurve, validCurve, $"{options.Preset}: {c.ParameterCount() / 1e6:0.##}M parameters, seed {options.Seed}");
        }

        double? lastValid = null;
        void Validate(long done)
        {
            if (valid.Length == 0) return;
            double v;
            using (GemmPrecisionScope.Enter(GemmPrecision.Float32)) v = Evaluation.MeanLoss(model, valid, c.Context, options.Batch);
            lastValid = v;
            validCurve.Add((done, v));
            metrics.WriteLine($"{{\"step\":{done},\"tokens\":{done * tokensPerStep},\"val_loss\":{Num(v)}}}");
        }

        var windows = new int[options.Batch * (c.Context + 1)];
        float lastLoss = float.NaN;
        var clock = Stopwatch.StartNew();
        using var task = progress.Start($"training {options.Preset}", totalSteps * tokensPerStep, "tok");
        task.SetDone(startStep * tokensPerStep);
        using var precision = GemmPrecisionScope.Enter(GemmPrecisionScope.Parse(options.Precision));
        if (precision.FallbackMessage is string fallback) task.Note(fallback);
        long s = startStep;
        for (; s < totalSteps; s++)
        {
            if (cancel.IsCancellationRequested)
            {
                Checkpoint(s);
                throw new OperationCanceledException($"stopped at step {s}; checkpoint saved, continue with --resume", cancel);
            }
            for (int b = 0; b < options.Batch; b++) data.Next(windows.AsSpan(b * (c.Context + 1), c.Context + 1));
            var (loss, norm, lr) = step.Run(windows, options.Batch, s);
            lastLoss = loss;
            long done = s + 1;
            trainCurve.Add((done, loss));
            metrics.WriteLine($"{{\"step\":{done},\"tokens\":{done * tokensPerStep},\"loss\":{Num(loss)},\"lr\":{Num(lr)},\"grad_norm\":{Num(norm)}" +
                (sparsifier != null ? $",\"density\":{Num(sparsifier.HiddenDensity)}}}" : "}"));
            task.Advance(tokensPerStep);
            task.SetStatus($"step {done}/{totalSteps} loss {loss:0.000}{(lastValid is double v ? $" val {v:0.000}" : "")}");
            if (done % options.EvalEvery == 0 && done < totalSteps) Validate(done);
            if (done % options.CheckpointEvery == 0 && done < totalSteps) Checkpoint(done);
        }
        Validate(totalSteps);
        Checkpoint(totalSteps);
        double seconds = clock.Elapsed.TotalSeconds;
        long sessionSteps = totalSteps - startStep;
        return new TrainResult(totalSteps, sessionSteps, lastLoss, lastValid, seconds > 0 ? sessionSteps * tokensPerStep / seconds : 0);
    }

    static string Num(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "null";

    /// <summary>Keeps the metric lines up to <paramref name="upToStep"/> (a resumed run rewrites what came after its checkpoint).</summary>
    static void RewriteMetrics(string path, long upToStep, List<(long, double)> train, List<(long, double)> valid)
    {
        foreach (var o in StepLog.Trim(path, upToStep))
        {
            long st = o["step"]!.GetValue<long>();
            if (o["loss"] is { } l && l.GetValueKind() == JsonValueKind.Number) train.Add((st, l.GetValue<double>()));
            if (o["val_loss"] is { } v && v.GetValueKind() == JsonValueKind.Number) valid.Add((st, v.GetValue<double>()));
        }
    }
}
