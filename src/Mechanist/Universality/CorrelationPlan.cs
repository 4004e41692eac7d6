namespace Mechanist.Universality;

/// <summary>
/// How a correlation run fits its memory budget. The float64 cross-products for all of model 0's N₀ neurons
/// against every target would take 8·N₀·ΣN_t bytes (10.9 GB per GPT-2-small pair), so model 0's neurons are cut
/// into row tiles of <see cref="RowsPerTile"/>: each tile is one pass over the tokens, finalised (or written to
/// disk by a shard) before the next starts. With more than one tile the batches are kept in memory after the
/// first pass when they fit in half of what is left (<see cref="CacheBatches"/>); otherwise each pass reads (or
/// runs the models over) the tokens again.
/// </summary>
public sealed record CorrelationPlan(int RowsPerTile, int Tiles, bool CacheBatches, long FixedBytes, long CacheBytes,
    long BytesPerRow, long Budget)
{
    /// <summary>Bytes the plan accounts for at its peak.</summary>
    public long PlannedBytes => FixedBytes + (CacheBatches ? CacheBytes : 0) + BytesPerRow * RowsPerTile;

    public static CorrelationPlan Make(IReadOnlyList<UnitLayout> layouts, IReadOnlyList<CorrelationTarget> targets,
        int maxTokens, int shardBatches, long residentBytes, long baselineBytes, long budget, int? tileRows = null)
    {
        int rows = layouts[0].Units;
        int maxColumns = layouts.Skip(1).Max(l => l.Units);
        long columnsTotal = targets.Sum(t => (long)layouts[t.Model].Units);
        long batch = 4L * maxTokens * layouts.Sum(l => (long)l.Units);
        long scratch = targets.Any(t => t.Baseline != null) ? 4L * maxTokens * maxColumns : 0;
        long accumulatorFixed = PearsonAccumulator.BytesFor(0, maxColumns, maxTokens);
        long fixedBytes = residentBytes + batch + scratch + baselineBytes + accumulatorFixed + 4L * (rows + columnsTotal);
        long perRow = 8 * columnsTotal + PearsonAccumulator.BytesFor(1, maxColumns, 0) + 4L * maxTokens + 16;
        long cache = (long)shardBatches * batch;
        long free = budget - fixedBytes;
        int withoutCache = (int)Math.Clamp(free / perRow, 0, rows);
        if (withoutCache < 1)
            throw new UserError($"--memory {Gib(budget)} is too small for this run: it needs {Gib(fixedBytes + perRow)} at least " +
                $"({Gib(residentBytes)} model weights, {Gib(batch + scratch)} batch buffers, {Gib(baselineBytes)} rotation matrices, {Gib(perRow)} per row of sums)");
        if (tileRows is int fixedRows)
        {
            if (fixedRows < 1) throw new UserError($"--tile-rows {fixedRows}: must be at least 1");
            fixedRows = Math.Min(fixedRows, rows);
            if (fixedRows > withoutCache)
                throw new UserError($"--tile-rows {fixedRows} needs {Gib(fixedBytes + perRow * fixedRows)}, more than --memory {Gib(budget)}");
            bool fits = fixedRows < rows && cache <= (free - perRow * fixedRows) / 2;
            return new(fixedRows, (rows + fixedRows - 1) / fixedRows, fits, fixedBytes, cache, perRow, budget);
        }
        if (withoutCache >= rows) return new(rows, 1, false, fixedBytes, cache, perRow, budget);
        bool useCache = cache <= free / 2;
        int perTile = useCache ? (int)Math.Clamp((free - cache) / perRow, 1, rows) : withoutCache;
        return new(perTile, (rows + perTile - 1) / perTile, useCache, fixedBytes, cache, perRow, budget);
    }

    static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";

    public override string ToString() =>
        $"{Tiles} tile{(Tiles == 1 ? "" : "s")} of {RowsPerTile:N0} rows, {PlannedBytes / (double)(1L << 30):F2} of {Budget / (double)(1L << 30):F2} GiB" +
        (Tiles > 1 ? CacheBatches ? ", batches kept in memory between passes" : ", tokens read again in every pass" : "");
}
