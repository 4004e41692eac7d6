using Mechanist.Activations;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Sae;

/// <summary>Activations streamed from a model for <see cref="SaeTrainStage"/>: the `acts harvest` rows, never stored.</summary>
/// <param name="Harvest">How to sample rows (hook, context, K, split, seed, shuffle buffer); the run reads as many as it plans.</param>
public sealed record SaeStreamSource(string ModelDir, string TokensDir, HarvestOptions Harvest);

/// <summary>What `mechanist sae train` (and the demo's SAE stage) asks for: SAEs on one activation source into one folder.</summary>
public sealed record SaeTrainStageOptions
{
    /// <summary>An activation store folder or an [N, d] .npy file; or null with <see cref="Stream"/>.</summary>
    public string? Acts { get; init; }
    public SaeStreamSource? Stream { get; init; }
    public required string OutDir { get; init; }
    /// <summary>The training options; their <see cref="SaeTrainingOptions.Metadata"/> is replaced by <see cref="SaeTrainStage.Metadata"/>'s.</summary>
    public required SaeTrainingOptions Training { get; init; }
    /// <summary>cfg.json's model_name instead of the one the source records.</summary>
    public string? ModelName { get; init; }
    /// <summary>cfg.json's hook_name instead of the one the store records (stored activations only).</summary>
    public HookPoint? Hook { get; init; }
    public bool Resume { get; init; }
    public bool Force { get; init; }
}

/// <param name="Metadata">What every SAE's cfg.json says of its source.</param>
public sealed record SaeTrainStageResult(IReadOnlyList<SaeTrainingResult> Saes, SaeMetadata Metadata);

/// <summary>
/// The SAE-training stage as one call: opens the activation source (a store, or a model streamed over a token
/// store), derives the SAEs' metadata from it (<see cref="Metadata"/>), and trains with <see cref="SaeTrainer"/>.
/// </summary>
public static class SaeTrainStage
{
    public static SaeTrainStageResult Run(SaeTrainStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        RequireOneSource(o.Acts != null, o.Stream != null);
        if (o.Stream is { } s) return RunStream(o, s, progress, cancel);
        using var source = ActivationSource.Open(o.Acts!);
        var metadata = Metadata((source as ActivationStore)?.Source, source.Path, o.ModelName, o.Hook);
        var saes = SaeTrainer.Train(new StoreTrainingData(source), o.Training with { Metadata = metadata }, o.OutDir, progress, cancel, o.Resume, o.Force);
        return new SaeTrainStageResult(saes, metadata);
    }

    /// <summary>Exactly one of a stored source and a stream, or a user error saying how to give one.</summary>
    public static void RequireOneSource(bool acts, bool stream)
    {
        if (acts && stream) throw new UserError("give --acts (train on a stored activation store) or --model (stream activations from a model), not both");
        if (!acts && !stream) throw new UserError("give --acts STORE, or --model DIR --data TOKENS --hook NAME --tokens N to stream activations from a model");
    }

    static SaeTrainStageResult RunStream(SaeTrainStageOptions o, SaeStreamSource s, IProgressReporter progress, CancellationToken cancel)
    {
        if (o.Training.Tokens <= 0) throw new UserError("--model needs --tokens N: the number of activation rows to train on");
        using var tokens = TokenStore.Open(s.TokensDir, s.Harvest.Split);
        ModelTokenizer.RequireMatch(s.ModelDir, tokens);
        string model = Path.GetFullPath(s.ModelDir);
        var harvest = s.Harvest;
        using var stream = new StreamTrainingData(ModelFiles.Load(s.ModelDir), tokens, harvest, model);
        var info = new ActivationSourceInfo { Model = model, Hook = harvest.Hook.Name, ContextLength = stream.Context, TokenStore = tokens.Directory };
        var metadata = Metadata(info, tokens.Directory, o.ModelName, harvest.Hook);
        var saes = SaeTrainer.Train(stream, o.Training with { Metadata = metadata }, o.OutDir, progress, cancel, o.Resume, o.Force);
        return new SaeTrainStageResult(saes, metadata);
    }

    /// <summary>
    /// What an SAE's cfg.json records of the activations it trained on: the model, hook and context the store
    /// records (each overridable), and as dataset_path the token store folder (the description for stores that
    /// predate it, else the activations' own path), so a reader can find the tokens and their tokenizer.
    /// </summary>
    public static SaeMetadata Metadata(ActivationSourceInfo? info, string sourcePath, string? modelName = null, HookPoint? hook = null) => new()
    {
        ModelName = modelName ?? info?.Model,
        Hook = hook ?? (info?.Hook is string h ? HookPoint.Parse(h) : null),
        ContextSize = info?.ContextLength,
        DatasetPath = info?.TokenStore ?? info?.Tokens ?? sourcePath,
    };
}
