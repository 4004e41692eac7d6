using System.Text.Json.Nodes;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>The row counts a training run works with, fixed before anything is read.</summary>
/// <param name="HoldoutRows">Rows kept out of training and used for the final evaluation.</param>
/// <param name="TrainRows">Rows training draws from (a store's training pool; a stream's rows trained on).</param>
/// <param name="Tokens">The token budget: training steps = ⌈Tokens / batch size⌉.</param>
public sealed record SaeDataPlan(long HoldoutRows, long TrainRows, long Tokens);

/// <summary>Which kind of data a training checkpoint was made on, as its "data" field records it.</summary>
static class CheckpointData
{
    public const string Store = "store", Stream = "stream";

    /// <summary>
    /// The checkpoint's data kind: <see cref="Store"/> (also for checkpoints from before the field) or
    /// <see cref="Stream"/>; any other value is a <see cref="DataFormatError"/>.
    /// </summary>
    public static string Kind(JsonObject checkpoint, string path)
    {
        string? kind = checkpoint["data"] is JsonValue v && v.TryGetValue(out string? k) ? k : null;
        return kind switch
        {
            null or Store => Store,
            Stream => Stream,
            _ => throw new DataFormatError(path, "data", $"\"{kind}\": expected \"{Store}\" or \"{Stream}\""),
        };
    }
}

/// <summary>
/// Everything <see cref="SaeTrainer"/> needs from its data, so that one trainer reads either a stored
/// activation store (<see cref="StoreTrainingData"/>: random access) or rows streamed from a model
/// (<see cref="StreamTrainingData"/>: one pass, through a shuffle buffer, nothing stored). One instance
/// serves one training run: <see cref="Plan"/>, then <see cref="Start"/>, then either
/// <see cref="Sample"/> (a fresh run) or <see cref="RestoreState"/> (a resumed one), then batches.
/// </summary>
public interface ISaeTrainingData
{
    /// <summary>Where the rows come from, recorded as "source" in metrics.json and the checkpoint.</summary>
    string Description { get; }
    /// <summary>Values per row (d_in).</summary>
    int Width { get; }

    /// <summary>
    /// Checks the options against the data and fixes the held-out and training row counts. Reads nothing
    /// (it runs before the output folder is touched); user mistakes are <see cref="UserError"/>s.
    /// </summary>
    SaeDataPlan Plan(SaeTrainingOptions o);

    /// <summary>Reads what the run needs before its first step, fresh or resumed (a stream: its held-out rows).</summary>
    void Start(IProgressReporter progress, CancellationToken cancel);

    /// <summary>E‖x‖² when the data knows it without sampling (a store's recorded statistics); null otherwise.</summary>
    double? MeanSquaredNorm { get; }

    /// <summary>
    /// Up to <paramref name="count"/> rows (raw scale) for the normalisation estimate and the geometric-median
    /// initialisation of b_dec; <paramref name="rng"/> may be used to choose them.
    /// </summary>
    Tensor Sample(Rng rng, int count);

    /// <summary>Reads the next training batch (raw scale) into dst; returns its row count (the batch size).</summary>
    int NextBatch(Span<float> dst);

    /// <summary>
    /// Relu resampling (docs/METHODS.md §2.1): for each request, the inputs its dead latents are reset to, one row per
    /// dead latent, chosen among <paramref name="candidates"/> inputs with probability ∝ the request's SAE's
    /// squared reconstruction loss², at the training scale (× <paramref name="scale"/>).
    /// </summary>
    IReadOnlyList<Tensor> ResampleInputs(IReadOnlyList<(SparseAutoencoder Sae, int Count)> requests, float scale, Rng rng, int candidates);

    /// <summary>The held-out rows (raw scale), in chunks.</summary>
    IEnumerable<Tensor> HeldOut();

    /// <summary>Records the data position (and what identifies the data) in a checkpoint's state.json.</summary>
    void SaveState(JsonObject checkpoint);

    /// <summary>
    /// Continues from a checkpoint written by <see cref="SaveState"/> after <see cref="Start"/>: refuses
    /// a checkpoint of other data (<see cref="UserError"/>), then moves to the recorded position.
    /// </summary>
    void RestoreState(JsonObject checkpoint, string path, IProgressReporter progress, CancellationToken cancel);

    /// <summary>A few words for the progress line (e.g. the model's tokens per second while streaming); null for none.</summary>
    string? Status();
}
