using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>
/// All-pairs neuron correlations between model 0 and every other model (and their baselines) over the same
/// tokens (docs/METHODS.md §5.2–5.3): one entry for a whole run (<see cref="Correlate"/>), one for a shard of the
/// tokens writing its partial sums (<see cref="WriteShard"/>), and one adding the shards up (<see cref="Merge"/>);
/// the three give the same numbers. Every pass tiles model 0's neurons to fit the memory budget
/// (<see cref="CorrelationPlan"/>).
/// </summary>
public static class NeuronCorrelation
{
    /// <summary>Correlates everything in one process and returns each model-0 neuron's best matches.</summary>
    public static CorrelationResult Correlate(IUnitBatches data, CorrelationOptions options, IProgressReporter? progress = null,
        CancellationToken cancel = default)
    {
        if (!options.Shard.IsWhole) throw new ArgumentException("a shard writes partial sums: use WriteShard");
        var targets = CorrelationTarget.For(data.Layouts.Count, options.Baselines);
        var maxima = targets.Select(_ => new RowMaxima(new float[data.Layouts[0].Units], new int[data.Layouts[0].Units])).ToArray();
        var (plan, tokens, seconds, flops) = Accumulate(data, options, targets, progress, cancel, (tile, r0, sums) =>
        {
            for (int t = 0; t < sums.Length; t++)
            {
                var m = sums[t].RowMaxima();
                m.Max.CopyTo(maxima[t].Max, r0);
                m.ArgMax.CopyTo(maxima[t].ArgMax, r0);
            }
        });
        return new CorrelationResult(data.Layouts, targets, maxima, tokens, options, data.Describe(), plan, seconds, flops);
    }

    /// <summary>
    /// Sums this shard's batches and writes them to <c>outDir/shard-IIIII-of-NNNNN/</c> (atomically: the folder
    /// appears complete or not at all). Returns the folder.
    /// </summary>
    public static (string Folder, CorrelationPlan Plan, long Tokens, double GemmSeconds, double GemmFlops) WriteShard(IUnitBatches data,
        CorrelationOptions options, string outDir, IProgressReporter? progress = null, CancellationToken cancel = default, bool force = false)
    {
        var targets = CorrelationTarget.For(data.Layouts.Count, options.Baselines);
        var inputs = data.Describe();
        using var staging = AtomicDirectory.Begin(Path.Combine(outDir, options.Shard.FolderName), force);
        var (plan, tokens, seconds, flops) = Accumulate(data, options, targets, progress, cancel, (tile, r0, sums) =>
            CorrelationShard.SaveTile(Path.Combine(staging.TempPath, CorrelationShard.TileFile(tile)), sums, targets));
        var manifest = new Manifest
        {
            Stage = CorrelationShard.Stage,
            Settings = Settings(options, data.Layouts),
            Contents = new JsonObject
            {
                ["run_id"] = CorrelationShard.RunId(inputs, options),
                ["shard"] = options.Shard.Index,
                ["shards"] = options.Shard.Count,
                ["tokens"] = tokens,
                ["tiles"] = plan.Tiles,
                ["rows_per_tile"] = plan.RowsPerTile,
                ["targets"] = new JsonArray(targets.Select(t => (JsonNode)t.Name).ToArray()),
                ["inputs"] = inputs,
            },
        };
        manifest.SaveTo(staging.TempPath);
        staging.Commit();
        return (staging.FinalPath, plan, tokens, seconds, flops);
    }

    /// <summary>
    /// Adds the shards in <paramref name="outDir"/> (all N of one run, checked before anything is read) tile by
    /// tile and finalises them: the same result as one unsharded run, to float64 rounding.
    /// </summary>
    public static CorrelationResult Merge(string outDir, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var shards = ReadShardManifests(outDir);
        var first = shards[0].Manifest;
        var c = first.Contents;
        var settings = first.Settings;
        var layouts = settings.GetArray(shards[0].Path, "layouts").Select(n => new UnitLayout((int)n!["layers"]!, (int)n!["width"]!)).ToArray();
        var options = new CorrelationOptions
        {
            Baselines = CorrelationBaselines.Parse(settings.GetString(shards[0].Path, "baselines")),
            Seed = (ulong)settings.GetLong(shards[0].Path, "seed"),
            Shard = ShardSpec.Whole,
            MemoryBytes = 0,
        };
        var targets = CorrelationTarget.For(layouts.Length, options.Baselines);
        int rowsPerTile = (int)c.GetLong(shards[0].Path, "rows_per_tile", 1), tiles = (int)c.GetLong(shards[0].Path, "tiles", 1);
        int n0 = layouts[0].Units;
        var maxima = targets.Select(_ => new RowMaxima(new float[n0], new int[n0])).ToArray();
        long tokens = 0;
        using var bar = (progress ?? IProgressReporter.None).Start("merging shards", (long)tiles * shards.Count, "tile");
        for (int tile = 0; tile < tiles; tile++)
        {
            int r0 = tile * rowsPerTile, rows = Math.Min(rowsPerTile, n0 - r0);
            PearsonSums[]? sums = null;
            foreach (var (path, _) in shards)
            {
                cancel.ThrowIfCancellationRequested();
                var part = CorrelationShard.LoadTile(Path.Combine(path, CorrelationShard.TileFile(tile)), rows, targets, layouts);
                if (sums == null) sums = part;
                else for (int t = 0; t < sums.Length; t++) sums[t].Merge(part[t], Path.Combine(path, CorrelationShard.TileFile(tile)));
                bar.Advance(1);
            }
            tokens = sums![0].Tokens;
            for (int t = 0; t < sums.Length; t++)
            {
                var m = sums[t].RowMaxima();
                m.Max.CopyTo(maxima[t].Max, r0);
                m.ArgMax.CopyTo(maxima[t].ArgMax, r0);
            }
        }
        var plan = new CorrelationPlan(rowsPerTile, tiles, false, 0, 0, 0, 0);
        return new CorrelationResult(layouts, targets, maxima, tokens, options, c.GetObject(shards[0].Path, "inputs"), plan, 0, 0);
    }

    /// <summary>The shards' manifests, checked to be all N parts of one run with one tiling.</summary>
    static List<(string Path, Manifest Manifest)> ReadShardManifests(string outDir)
    {
        if (!Directory.Exists(outDir)) throw new UserError($"{outDir}: folder not found");
        var found = Directory.GetDirectories(outDir, "shard-*-of-*").Order(StringComparer.Ordinal).ToList();
        if (found.Count == 0) throw new UserError($"{outDir}: no shard folders (shard-IIIII-of-NNNNN, written by `universal neurons --shard i/N --out {outDir}`)");
        var shards = new List<(string, Manifest)>();
        foreach (string dir in found)
        {
            if (!Manifest.ExistsIn(dir)) throw new UserError($"{dir}: no manifest.json, so this shard did not finish; run it again");
            var m = Manifest.Load(dir);
            if (m.Stage != CorrelationShard.Stage) throw new DataFormatError(Manifest.PathIn(dir), "stage", $"'{m.Stage}', not a shard of `universal neurons`");
            shards.Add((dir, m));
        }
        var (firstPath, first) = shards[0];
        string runId = first.Contents.GetString(firstPath, "run_id");
        int count = (int)first.Contents.GetLong(firstPath, "shards", 1);
        long rowsPerTile = first.Contents.GetLong(firstPath, "rows_per_tile", 1);
        var seen = new Dictionary<int, string>();
        foreach (var (path, m) in shards)
        {
            string file = Manifest.PathIn(path);
            if (m.Contents.GetString(file, "run_id") != runId)
                throw new UserError($"{path} and {firstPath} are shards of different runs (other models, data, tokens, baselines or seed): run_id {m.Contents.GetString(file, "run_id")} vs {runId}");
            if ((int)m.Contents.GetLong(file, "shards", 1) != count)
                throw new DataFormatError(file, "shards", $"{m.Contents.GetLong(file, "shards")} shards, but {firstPath} is one of {count}");
            if (m.Contents.GetLong(file, "rows_per_tile", 1) != rowsPerTile)
                throw new UserError($"{path} was tiled in {m.Contents.GetLong(file, "rows_per_tile")} rows, {firstPath} in {rowsPerTile}: run every shard with the same --memory or --tile-rows");
            int index = (int)m.Contents.GetLong(file, "shard", 0);
            if (!seen.TryAdd(index, path)) throw new UserError($"{path} and {seen[index]} are both shard {index}");
        }
        var missing = Enumerable.Range(0, count).Where(i => !seen.ContainsKey(i)).ToList();
        if (missing.Count > 0)
            throw new UserError($"{outDir}: shard{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Take(10))} of {count} missing ({new ShardSpec(missing[0], count).FolderName}); run {(missing.Count == 1 ? "it" : "them")} first");
        return shards.OrderBy(s => (int)s.Item2.Contents.GetLong(Manifest.PathIn(s.Item1), "shard", 0)).ToList();
    }

    /// <summary>The settings a manifest records (layouts included, so a merge needs no models).</summary>
    internal static JsonObject Settings(CorrelationOptions options, IReadOnlyList<UnitLayout> layouts) => new()
    {
        ["baselines"] = options.Baselines.Count == 0 ? "none" : string.Join(",", options.Baselines.Select(b => b.Name())),
        ["seed"] = options.Seed,
        ["threshold"] = options.Threshold,
        ["memory_bytes"] = options.MemoryBytes,
        ["shard"] = options.Shard.ToString(),
        ["layouts"] = new JsonArray(layouts.Select(l => (JsonNode)new JsonObject { ["layers"] = l.Layers, ["width"] = l.Width }).ToArray()),
    };

    /// <summary>
    /// The passes: shifts from batch 0, then per row tile one pass over this shard's batches adding every
    /// target's sums; <paramref name="tileDone"/> gets each finished tile (its index, first row and sums).
    /// </summary>
    static unsafe (CorrelationPlan Plan, long Tokens, double GemmSeconds, double GemmFlops) Accumulate(IUnitBatches data,
        CorrelationOptions options, IReadOnlyList<CorrelationTarget> targets, IProgressReporter? progress, CancellationToken cancel,
        Action<int, int, PearsonSums[]> tileDone)
    {
        var layouts = data.Layouts;
        int models = layouts.Count, n0 = layouts[0].Units, maxTokens = data.MaxTokens;
        if (models < 2) throw new UserError("correlations need at least two models");
        var (firstBatch, endBatch) = options.Shard.Batches(data.BatchCount);
        if (endBatch <= firstBatch)
            throw new UserError($"--shard {options.Shard}: this run has only {data.BatchCount} batches, so shard {options.Shard.Index} has none; use fewer shards or more tokens");
        var transforms = options.Baselines.ToDictionary(b => b, b => BaselineTransform.Create(b, layouts[1], options.Seed));
        var plan = CorrelationPlan.Make(layouts, targets, maxTokens, endBatch - firstBatch, data.ResidentBytes,
            transforms.Values.Sum(t => t.Bytes), options.MemoryBytes, options.TileRows);

        var buffers = layouts.Select(l => GC.AllocateUninitializedArray<float>(checked(maxTokens * l.Units), pinned: true)).ToArray();
        var scratch = transforms.Count > 0 ? GC.AllocateUninitializedArray<float>(checked(maxTokens * layouts.Skip(1).Max(l => l.Units)), pinned: true) : [];
        var (rowShift, columnShifts) = Shifts(data, targets, transforms, buffers, scratch);
        var cache = plan.CacheBatches ? new List<(float[][] Rows, int Tokens)>() : null;

        using var bar = (progress ?? IProgressReporter.None).Start(
            $"correlating {n0:N0} neurons with {targets.Count} × {layouts[1].Units:N0} ({plan})", (long)plan.Tiles * (endBatch - firstBatch), "batch");
        double gemmSeconds = 0, gemmFlops = 0;
        long tokens = 0;
        for (int tile = 0; tile < plan.Tiles; tile++)
        {
            int r0 = tile * plan.RowsPerTile, rows = Math.Min(plan.RowsPerTile, n0 - r0);
            var tileShift = rowShift[r0..(r0 + rows)];
            var sums = targets.Select(t => new PearsonSums(tileShift, columnShifts[targets.ToList().IndexOf(t)])).ToArray();
            var accumulator = new PearsonAccumulator(rows, layouts.Skip(1).Max(l => l.Units), maxTokens);
            tokens = 0;
            for (int b = firstBatch; b < endBatch; b++)
            {
                cancel.ThrowIfCancellationRequested();
                float[][] rowsOf;
                int count;
                if (cache != null && tile > 0) (rowsOf, count) = cache[b - firstBatch];
                else
                {
                    count = data.Read(b, buffers);
                    rowsOf = buffers;
                    if (cache != null) cache.Add((buffers.Select((x, m) => x.AsSpan(0, count * layouts[m].Units).ToArray()).ToArray(), count));
                }
                tokens += count;
                fixed (float* x = rowsOf[0]) accumulator.SetRows(x + r0, n0, count, tileShift);
                for (int t = 0; t < targets.Count; t++)
                {
                    var target = targets[t];
                    var y = rowsOf[target.Model];
                    if (target.Baseline is { } kind)
                    {
                        transforms[kind].Apply(y, count, target.Model, b, scratch);
                        y = scratch;
                    }
                    fixed (float* py = y) accumulator.AddTo(sums[t], py, layouts[target.Model].Units);
                }
                bar.Advance(1);
                bar.SetStatus(string.Create(CultureInfo.InvariantCulture,
                    $"tile {tile + 1}/{plan.Tiles}, GEMM {(gemmFlops + accumulator.GemmFlops) / Math.Max(1e-9, gemmSeconds + accumulator.GemmSeconds) / 1e9:F0} GFLOP/s"));
            }
            gemmSeconds += accumulator.GemmSeconds;
            gemmFlops += accumulator.GemmFlops;
            if (tokens < 2) throw new UserError($"only {tokens} token rows were left after dropping BOS, end-of-text and newline positions; give more --tokens");
            tileDone(tile, r0, sums);
        }
        return (plan, tokens, gemmSeconds, gemmFlops);
    }

    /// <summary>
    /// The provisional means: each unit's mean over batch 0 of the whole run (not of the shard), so that every
    /// shard subtracts the same numbers and their sums add exactly. Baselines get the mean of their own batch-0 rows.
    /// </summary>
    static (float[] Rows, float[][] Columns) Shifts(IUnitBatches data, IReadOnlyList<CorrelationTarget> targets,
        Dictionary<CorrelationBaseline, BaselineTransform> transforms, float[][] buffers, float[] scratch)
    {
        int count = data.Read(0, buffers);
        float[] Mean(float[] rows, int width) => UnitMoments.ColumnMeans(rows, count, width);
        var rowShift = Mean(buffers[0], data.Layouts[0].Units);
        var columns = new float[targets.Count][];
        for (int t = 0; t < targets.Count; t++)
        {
            var target = targets[t];
            var y = buffers[target.Model];
            if (target.Baseline is { } kind)
            {
                transforms[kind].Apply(y, count, target.Model, 0, scratch);
                y = scratch;
            }
            columns[t] = Mean(y, data.Layouts[target.Model].Units);
        }
        return (rowShift, columns);
    }
}
