using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Text;

namespace Mechanist.Models;

/// <summary>What `mechanist model train` (and the demo's model stage) asks for: one run into one folder.</summary>
public sealed record ModelTrainStageOptions
{
    /// <summary>Token store folder: trains on its "train" split, validates on "valid" (when it has one).</summary>
    public required string Data { get; init; }
    public required string OutDir { get; init; }
    public TrainOptions Train { get; init; } = new();
    /// <summary>Continue the run in <see cref="OutDir"/> from its checkpoint, with its saved options.</summary>
    public bool Resume { get; init; }
    /// <summary>Delete a run already in <see cref="OutDir"/> and start over.</summary>
    public bool Force { get; init; }
    /// <summary>A tokenizer folder to copy into the model folder, so generate, features and the playground need nothing else.</summary>
    public string? Tokenizer { get; init; }
}

/// <param name="Options">The options the run used (a resumed run's saved ones).</param>
/// <param name="Context">Tokens per window.</param>
/// <param name="HasValidation">False when the token store has no validation windows (metrics hold training loss only).</param>
public sealed record ModelTrainStageResult(string OutDir, TrainOptions Options, TrainResult Train, TransformerConfig Config, int Context, bool HasValidation)
{
    public long Tokens => Train.Steps * Options.Batch * Context;
}

/// <summary>
/// The model-training stage as one call: validates the options against the token store, opens the training
/// windows (data order from the seed) and the fixed validation windows, trains with <see cref="Trainer"/>,
/// copies the tokenizer in, and writes <c>manifest.json</c> last (a run folder with a manifest is a finished run).
/// </summary>
public static class ModelTrainStage
{
    public const string StageName = "model train";

    public static ModelTrainStageResult Run(ModelTrainStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        var options = o.Resume ? SavedOptions(o.OutDir) : o.Train.Validate();
        using var train = TokenStore.Open(o.Data, "train");
        int context = ContextOf(options, train.VocabSize);
        if (train.Count < context + 1)
            throw new UserError($"{o.Data}: the train split holds {train.Count:N0} tokens, fewer than one window of {context + 1}: give more text or a shorter --context");
        if (o.Tokenizer is string tokenizerDir) ModelTokenizer.RequireSame(TokenizerFiles.Load(tokenizerDir).Hash, $"the tokenizer {tokenizerDir}", train);
        int[] valid = ValidationWindows(o.Data, context, options.EvalWindows);
        var result = Trainer.Train(o.OutDir, options, new TokenStoreWindows(train, context, options.Seed), valid, progress, cancel, o.Resume, o.Force);
        if (o.Tokenizer is string tokenizer) TokenizerFiles.Save(TokenizerFiles.Load(tokenizer), o.OutDir);
        var config = ModelFiles.ReadConfig(o.OutDir);
        var manifest = new Manifest
        {
            Stage = StageName,
            Settings = JsonSerializer.SerializeToNode(options)!.AsObject(),
            Outputs = [new(ModelFiles.ConfigFile), new(ModelFiles.WeightsFile), new(Trainer.MetricsFile), new(Trainer.PlotFile), new(Trainer.CheckpointDir)],
            Contents = new JsonObject
            {
                ["config"] = config.ToJson(),
                ["steps"] = result.Steps,
                ["final_train_loss"] = result.LastLoss,
                ["final_validation_loss"] = result.ValidationLoss,
            },
        };
        manifest.AddInput(o.Data, fastHash: true);
        manifest.SaveTo(o.OutDir);
        return new ModelTrainStageResult(o.OutDir, options, result, config, context, valid.Length > 0);
    }

    /// <summary>The folder of one seed's run inside a many-seeds run: OUT/seed-N.</summary>
    public static string SeedDir(string outDir, ulong seed) => Path.Combine(outDir, $"seed-{seed}");

    /// <summary>
    /// One model per seed (initial weights and data order from the seed, every other option shared) into
    /// OUT/seed-N/, one after another under one progress bar. Resumable per seed: a seed whose folder holds a
    /// finished run with these options is skipped, an interrupted one continues from its checkpoint, a new one
    /// starts; a seed folder holding a run with other options is refused unless <see cref="ModelTrainStageOptions.Force"/>.
    /// </summary>
    /// <param name="onSeed">Called as each seed finishes (or is found finished), e.g. to print its line.</param>
    public static IReadOnlyList<ModelTrainStageResult> RunSeeds(ModelTrainStageOptions o, IReadOnlyList<ulong> seeds,
        IProgressReporter progress, CancellationToken cancel, Action<ModelTrainStageResult, bool>? onSeed = null)
    {
        if (seeds.Count == 0) throw new UserError("--seeds: give at least one seed, e.g. 0,1,2,3,4");
        if (seeds.Distinct().Count() != seeds.Count) throw new UserError($"--seeds {string.Join(",", seeds)}: a seed is given twice");
        if (o.Resume) throw new UserError("--seeds resumes every unfinished seed by itself; leave out --resume");
        var shared = o.Train.Validate();
        int context;
        using (var train = TokenStore.Open(o.Data, "train")) context = ContextOf(shared, train.VocabSize);
        long tokensPerStep = (long)shared.Batch * context, tokensPerSeed = (shared.Tokens + tokensPerStep - 1) / tokensPerStep * tokensPerStep;

        // Check every seed's folder before training any, so a conflict stops the command at once.
        var plans = seeds.Select(seed => (Seed: seed, Options: o with { OutDir = SeedDir(o.OutDir, seed), Train = shared with { Seed = seed } })).ToList();
        foreach (var (seed, run) in plans)
            if (!o.Force && HasCheckpoint(run.OutDir) && SavedOptions(run.OutDir) != run.Train)
                throw new UserError($"{run.OutDir} holds a run of seed {seed} with other settings; give the same options to continue it, or --force to start every seed over");

        var results = new List<ModelTrainStageResult>();
        using var bar = new ProgressSequence(progress, $"training {shared.Preset} × {seeds.Count} seeds", tokensPerSeed * seeds.Count, "tok");
        for (int i = 0; i < plans.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (seed, run) = plans[i];
            bar.Next($"seed {seed} ({i + 1}/{seeds.Count})", tokensPerSeed * i);
            if (!o.Force && Finished(run) is { } done)
            {
                results.Add(done);
                onSeed?.Invoke(done, true);
                continue;
            }
            var r = Run(run with { Resume = !o.Force && HasCheckpoint(run.OutDir) }, bar, cancel);
            results.Add(r);
            onSeed?.Invoke(r, false);
        }
        return results;
    }

    /// <summary>The run in <paramref name="o"/>'s folder if it finished with exactly these options; else null.</summary>
    static ModelTrainStageResult? Finished(ModelTrainStageOptions o)
    {
        if (!Manifest.ExistsIn(o.OutDir) || !HasCheckpoint(o.OutDir)) return null;
        var manifest = Manifest.Load(o.OutDir);
        if (manifest.Stage != StageName || manifest.Settings.Deserialize<TrainOptions>() != o.Train) return null;
        string state = Path.Combine(o.OutDir, Trainer.CheckpointDir, Trainer.StateFile);
        var saved = JsonNode.Parse(File.ReadAllText(state));
        long step = saved?["step"]?.GetValue<long>() ?? 0, total = saved?["total_steps"]?.GetValue<long>() ?? -1;
        if (step != total) return null;
        var c = manifest.Contents;
        var config = ModelFiles.ReadConfig(o.OutDir);
        var train = new TrainResult(step, 0, c["final_train_loss"]?.GetValue<float>() ?? float.NaN, c["final_validation_loss"]?.GetValue<double>(), 0);
        return new ModelTrainStageResult(o.OutDir, o.Train, train, config, config.Context, train.ValidationLoss is not null);
    }

    /// <summary>The options saved in a run's checkpoint (they decide the shape, seed and data order of a resumed run).</summary>
    public static TrainOptions SavedOptions(string runDir)
    {
        string state = Path.Combine(runDir, Trainer.CheckpointDir, Trainer.StateFile);
        if (!File.Exists(state)) throw new UserError($"{runDir}: no checkpoint to resume from ({state} not found)");
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(state)); }
        catch (JsonException e) { throw new DataFormatError(state, "(json)", e.Message, e); }
        return node?["options"].Deserialize<TrainOptions>() ?? throw new DataFormatError(state, "options", "missing");
    }

    /// <summary>Whether <paramref name="runDir"/> holds a checkpoint a resumed run can continue.</summary>
    public static bool HasCheckpoint(string runDir) => File.Exists(Path.Combine(runDir, Trainer.CheckpointDir, Trainer.StateFile));

    /// <summary>Tokens per window: the options' override, else the preset's.</summary>
    public static int ContextOf(TrainOptions options, int vocabSize) =>
        options.Context ?? TransformerConfig.Preset(options.Preset, vocabSize).Context;

    /// <summary>The fixed validation windows, or none when the store has no (or too short a) valid split.</summary>
    static int[] ValidationWindows(string data, int context, int count)
    {
        try
        {
            using var v = TokenStore.Open(data, "valid");
            return TokenStoreWindows.FixedWindows(v, context, count);
        }
        catch (UserError) { return []; } // no valid split: train without validation
    }
}
