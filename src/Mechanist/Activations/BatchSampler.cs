using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Numerics;

namespace Mechanist.Activations;

/// <summary>Everything needed to resume a <see cref="BatchSampler"/> exactly (store it in a training checkpoint).</summary>
public sealed record BatchSamplerState(long RowCount, int BatchSize, ulong Seed, bool DropLast, long Epoch, long Position)
{
    public JsonObject ToJson() => new()
    {
        ["row_count"] = RowCount, ["batch_size"] = BatchSize, ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["drop_last"] = DropLast, ["epoch"] = Epoch, ["position"] = Position,
    };

    /// <param name="path">The file the JSON came from, for error messages.</param>
    public static BatchSamplerState FromJson(JsonObject o, string path, string prefix = "sampler.")
    {
        string seedText = o.GetString(path, "seed", prefix);
        if (!ulong.TryParse(seedText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong seed))
            throw new DataFormatError(path, prefix + "seed", $"\"{seedText}\" is not an unsigned 64-bit integer");
        long rows = o.GetLong(path, "row_count", 0, prefix);
        long batch = o.GetLong(path, "batch_size", 1, prefix);
        if (batch > int.MaxValue) throw new DataFormatError(path, prefix + "batch_size", "too large");
        long position = o.GetLong(path, "position", 0, prefix);
        if (position > rows) throw new DataFormatError(path, prefix + "position", $"{position} is past the row count {rows}");
        return new BatchSamplerState(rows, (int)batch, seed, o.GetBool(path, "drop_last", prefix), o.GetLong(path, "epoch", 0, prefix), position);
    }
}

/// <summary>
/// Hands out batches of row indices drawn without replacement in a seeded random order that changes each
/// epoch: every row appears exactly once per epoch. For sources that were not written shuffled (a .npy
/// file, an unshuffled store). The order is a <see cref="RandomPermutation"/> keyed by (seed, epoch), so
/// <see cref="State"/> is a few numbers and <see cref="Restore"/> continues exactly where it stopped.
/// </summary>
public sealed class BatchSampler
{
    RandomPermutation _order;
    long[]? _indices;

    public long RowCount { get; }
    public int BatchSize { get; }
    public ulong Seed { get; }
    /// <summary>Drop the final short batch of each epoch instead of returning it.</summary>
    public bool DropLast { get; }
    public long Epoch { get; private set; }
    /// <summary>Rows of the current epoch already handed out.</summary>
    public long Position { get; private set; }

    public BatchSampler(long rowCount, int batchSize, ulong seed, bool dropLast = false)
        : this(new BatchSamplerState(rowCount, batchSize, seed, dropLast, 0, 0)) { }

    BatchSampler(BatchSamplerState s)
    {
        if (s.RowCount < 1) throw new ArgumentOutOfRangeException(nameof(s.RowCount), "no rows to sample");
        if (s.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(s.BatchSize));
        if (s.DropLast && s.BatchSize > s.RowCount) throw new ArgumentException($"batch size {s.BatchSize} exceeds the {s.RowCount} rows, and drop-last would yield nothing");
        if (s.Epoch < 0 || s.Position < 0 || s.Position > s.RowCount) throw new ArgumentOutOfRangeException(nameof(s.Position));
        RowCount = s.RowCount; BatchSize = s.BatchSize; Seed = s.Seed; DropLast = s.DropLast; Epoch = s.Epoch; Position = s.Position;
        _order = OrderFor(Epoch);
    }

    public BatchSamplerState State => new(RowCount, BatchSize, Seed, DropLast, Epoch, Position);

    /// <summary>A sampler that continues exactly where the one that produced <paramref name="state"/> was.</summary>
    public static BatchSampler Restore(BatchSamplerState state) => new(state);

    /// <summary>
    /// Fills <paramref name="rows"/> (length ≥ BatchSize) with the next batch's row indices and returns how
    /// many: BatchSize, or fewer for the last batch of an epoch. The next call starts the next epoch.
    /// </summary>
    public int Next(Span<long> rows)
    {
        if (rows.Length < BatchSize) throw new ArgumentException($"room for {rows.Length} indices, batch size is {BatchSize}");
        long remaining = RowCount - Position;
        if (remaining == 0 || (DropLast && remaining < BatchSize))
        {
            Epoch++;
            Position = 0;
            _order = OrderFor(Epoch);
            remaining = RowCount;
        }
        int n = (int)Math.Min(BatchSize, remaining);
        for (int i = 0; i < n; i++) rows[i] = _order[Position + i];
        Position += n;
        return n;
    }

    /// <summary>Reads the next batch from <paramref name="source"/> into dst (BatchSize × Width floats); returns the row count.</summary>
    public int Next(IActivationSource source, Span<float> dst)
    {
        if (source.RowCount != RowCount) throw new ArgumentException($"sampler covers {RowCount} rows, source has {source.RowCount}");
        _indices ??= new long[BatchSize];
        int n = Next(_indices);
        source.ReadRows(_indices.AsSpan(0, n), dst);
        return n;
    }

    RandomPermutation OrderFor(long epoch)
    {
        ulong key = SplitMix64.Mix(Seed ^ SplitMix64.Mix((ulong)epoch + 0x632BE59BD9B4E019UL));
        return new RandomPermutation(RowCount, key);
    }
}
