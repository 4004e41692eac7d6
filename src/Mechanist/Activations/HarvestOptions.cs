using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Activations;

/// <summary>How <see cref="Harvester"/> and <see cref="HarvestStream"/> sample activations from a model.</summary>
public sealed record HarvestOptions
{
    /// <summary>The hook point to read, e.g. <see cref="HookPoint.MlpPost"/>(0).</summary>
    public required HookPoint Hook { get; init; }
    /// <summary>Rows (token positions) to produce in total.</summary>
    public required long Tokens { get; init; }
    /// <summary>Tokens per context window (default: the model's context).</summary>
    public int? Context { get; init; }
    /// <summary>
    /// Positions sampled from each context, K (Towards Monosemanticity sampled 250 per context). Null, 0, or
    /// K ≥ the usable positions take every position.
    /// </summary>
    public int? RowsPerContext { get; init; }
    /// <summary>Leave out position 0 of each window: it attends only to itself (BOS-like) and its activation is an outlier.</summary>
    public bool SkipFirstPosition { get; init; } = true;
    /// <summary>Seeds the window order, the positions drawn from each window and the shuffle.</summary>
    public ulong Seed { get; init; }
    /// <summary>Token-store split to read ("train" or "valid").</summary>
    public string Split { get; init; } = "train";
    /// <summary>Windows per forward pass (default: about 4,096 tokens' worth).</summary>
    public int? BatchWindows { get; init; }
    /// <summary>Shuffle buffer in MiB of float32 rows; 0 writes rows in harvest order (unshuffled).</summary>
    public int ShuffleBufferMiB { get; init; } = 256;
    public DType DType { get; init; } = DType.F32;
    public long ShardBytes { get; init; } = ActivationStoreWriter.DefaultShardBytes;

    /// <summary>Tokens of model input per forward pass when <see cref="BatchWindows"/> is not given.</summary>
    public const int DefaultTokensPerPass = 4096;

    internal void Validate()
    {
        if (Tokens < 1) throw new UserError($"--tokens must be at least 1 (got {Tokens})");
        if (Context is < 2) throw new UserError($"--context must be at least 2 (got {Context})");
        if (RowsPerContext is < 0) throw new UserError($"--per-context must be 0 (all) or positive (got {RowsPerContext})");
        if (BatchWindows is < 1) throw new UserError($"--batch must be at least 1 window (got {BatchWindows})");
        if (ShuffleBufferMiB < 0) throw new UserError($"--shuffle-mb must be 0 or more (got {ShuffleBufferMiB})");
        if (DType is not (DType.F32 or DType.F16 or DType.BF16)) throw new UserError($"--dtype must be f32, f16 or bf16 (got {DType})");
    }
}
