using System.Diagnostics;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Activations;

/// <summary>What a harvest wrote.</summary>
public sealed record HarvestResult(string Directory, long Rows, int Width, long Windows, long ModelTokens, int RowsPerContext,
    int ShuffleBufferRows, double Seconds, ActivationStats Stats);

/// <summary>
/// <c>mechanist acts harvest</c>: runs a model over context windows of a token store, samples K positions
/// per window (<see cref="HarvestSource"/>), shuffles them and writes an activation store.
/// <para>
/// Mixing: rows pass through a <see cref="ShuffleBuffer"/> of C rows (the MiB option over 4·d bytes); each
/// row written is drawn uniformly from the C rows held, so a row stays for a geometric number of draws with
/// mean C, and rows written near each other come from about C / K different contexts (two neighbouring rows
/// share a context with probability ≈ K / C). With 256 MiB at d = 512 that is 131,072 rows, over 500
/// contexts of 250. Readers that sample randomly (<see cref="BatchSampler"/>, the SAE trainer) do not rely
/// on this; sequential readers get batches that mix many contexts.
/// </para>
/// The store holds exactly the first N sampled rows (as a multiset), in shuffled order. Ctrl-C leaves the
/// finished shards without a manifest (readers refuse the folder); <c>resume</c> keeps those shards and
/// replays the deterministic stream past them (the model reruns, the writes are skipped).
/// </summary>
public static class Harvester
{
    const int WriteBatchRows = 8192;

    /// <summary>Loads the model folder and token store, harvests, and records both (with content hashes) in the manifest.</summary>
    public static HarvestResult Harvest(string modelDir, string tokenStoreDir, string outDir, HarvestOptions options,
        IProgressReporter progress, CancellationToken cancel = default, bool overwrite = false, bool resume = false)
    {
        var model = ModelFiles.Load(modelDir);
        using var tokens = TokenStore.Open(tokenStoreDir, options.Split);
        ModelTokenizer.RequireMatch(modelDir, tokens);
        var inputs = new List<(string Path, bool Fast)>
        {
            (Path.Combine(modelDir, ModelFiles.ConfigFile), false),
            (Path.Combine(modelDir, ModelFiles.WeightsFile), false),
            (tokenStoreDir, true),
        };
        return Harvest(model, tokens, outDir, options, progress, cancel, overwrite, resume, Path.GetFullPath(modelDir), inputs);
    }

    /// <param name="modelName">Recorded as the source model (default: "unnamed").</param>
    /// <param name="inputs">Files or folders to record in the manifest with their content hashes (fast hash for big ones).</param>
    public static HarvestResult Harvest(Transformer<float> model, TokenStore tokens, string outDir, HarvestOptions options,
        IProgressReporter progress, CancellationToken cancel = default, bool overwrite = false, bool resume = false,
        string? modelName = null, IReadOnlyList<(string Path, bool Fast)>? inputs = null)
    {
        var source = new HarvestSource(model, tokens, options);
        int d = source.Width;
        var info = new ActivationSourceInfo
        {
            Model = modelName ?? "unnamed",
            Hook = options.Hook.Name,
            ContextLength = source.Context,
            Tokens = $"{tokens.Directory} ({tokens.Split})",
            TokenStore = tokens.Directory,
            RowsPerContext = source.RowsPerContext,
            Seed = (long)options.Seed,
            Shuffled = options.ShuffleBufferMiB > 0,
        };
        int bufferRows = ShuffleRows(options, d);
        using var writer = new ActivationStoreWriter(outDir, d, options.DType, info, options.ShardBytes, overwrite, "acts harvest", resume);
        var m = writer.Manifest;
        m.Settings["hook"] = options.Hook.Name;
        m.Settings["tokens"] = options.Tokens;
        m.Settings["context"] = source.Context;
        m.Settings["per_context"] = source.RowsPerContext;
        m.Settings["skip_first_position"] = options.SkipFirstPosition;
        m.Settings["seed"] = options.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        m.Settings["split"] = options.Split;
        m.Settings["dtype"] = options.DType.SafeTensorsName();
        m.Settings["batch_windows"] = source.BatchWindows;
        m.Settings["shuffle_buffer_rows"] = bufferRows;
        m.Settings["window_order"] = "WindowSampler(context - 1, seed): non-overlapping windows of `context` tokens, seeded shuffle per epoch";
        foreach (var (path, fast) in inputs ?? []) m.AddInput(path, fast);

        long skip = writer.RowCount; // rows a resumed run already holds
        if (skip > options.Tokens) throw new UserError($"{outDir}: cannot resume: the interrupted run already wrote {skip:N0} rows, more than --tokens {options.Tokens:N0}");
        var clock = Stopwatch.StartNew();
        using (var task = progress.Start($"harvesting {options.Hook}", options.Tokens, "tok"))
        {
            task.SetDone(skip);
            long produced = 0;
            foreach (var batch in Shuffled(source, options, bufferRows, cancel))
            {
                int rows = batch.Length / d;
                int drop = (int)Math.Clamp(skip - produced, 0, rows);
                if (drop < rows) writer.Append(batch.Span[(drop * d)..]);
                produced += rows;
                task.Advance(rows - drop);
                task.SetStatus($"{source.WindowsRead:N0} windows, {source.ModelTokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds):N0} model tok/s");
            }
        }
        m.Settings["windows_read"] = source.WindowsRead;
        m.Settings["windows_per_epoch"] = source.WindowsPerEpoch; // windows_read above this: some windows were read twice
        var stats = writer.Complete();
        return new HarvestResult(Path.GetFullPath(outDir), writer.RowCount, d, source.WindowsRead, source.ModelTokens, source.RowsPerContext,
            bufferRows, clock.Elapsed.TotalSeconds, stats);
    }

    static IEnumerable<ReadOnlyMemory<float>> Shuffled(HarvestSource source, HarvestOptions options, int bufferRows, CancellationToken cancel)
    {
        var rows = Limit(source.Chunks(cancel), options.Tokens, source.Width);
        if (bufferRows == 0) return rows;
        var buffer = new ShuffleBuffer(bufferRows, source.Width, ShuffleSeed(options.Seed));
        return buffer.Mix(rows, Math.Min(WriteBatchRows, bufferRows));
    }

    /// <summary>Shuffle buffer rows for the options (0: unshuffled); never more than the rows wanted.</summary>
    internal static int ShuffleRows(HarvestOptions options, int width)
    {
        if (options.ShuffleBufferMiB == 0) return 0;
        long rows = (long)options.ShuffleBufferMiB * (1 << 20) / (4L * width);
        return (int)Math.Max(1, Math.Min(Math.Min(rows, options.Tokens), int.MaxValue / width));
    }

    internal static ulong ShuffleSeed(ulong seed) => SplitMix64.Mix(seed ^ 0x5B0FF1E5C0FFEEUL);

    /// <summary>The first <paramref name="rows"/> rows of a chunk stream (the last chunk cut short).</summary>
    internal static IEnumerable<ReadOnlyMemory<float>> Limit(IEnumerable<ReadOnlyMemory<float>> chunks, long rows, int width)
    {
        long left = rows;
        if (left <= 0) yield break;
        foreach (var chunk in chunks)
        {
            int n = (int)Math.Min(chunk.Length / width, left);
            yield return chunk[..(n * width)];
            left -= n;
            if (left == 0) yield break;
        }
    }
}
