using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>
/// Activations already on disk, one activation store or [N, units] .npy per model, row r of every file being
/// the same token: all of a model's layers side by side, split into <c>layers</c> equal blocks.
/// </summary>
public sealed class StoreUnitBatches : IUnitBatches
{
    readonly IActivationSource[] _sources;
    readonly long _rows;

    StoreUnitBatches(IActivationSource[] sources, UnitLayout layout, long rows, int batchRows)
    {
        _sources = sources;
        _rows = rows;
        MaxTokens = batchRows;
        Layouts = Enumerable.Repeat(layout, sources.Length).ToArray();
        BatchCount = (int)((rows + batchRows - 1) / batchRows);
    }

    public IReadOnlyList<UnitLayout> Layouts { get; }
    public int BatchCount { get; }
    public int MaxTokens { get; }
    public long ResidentBytes => 0;

    /// <summary>
    /// Opens the files and checks they agree: the same width (a multiple of <paramref name="layers"/>) and at
    /// least <paramref name="tokens"/> rows each (all rows when null; then all must have the same count).
    /// <paramref name="minimumFiles"/> is 1 where one file alone is useful (two SAEs reading the same rows).
    /// </summary>
    public static StoreUnitBatches Open(IReadOnlyList<string> paths, int layers, long? tokens, int batchRows = 4096, int minimumFiles = 2)
    {
        if (paths.Count < minimumFiles) throw new UserError($"--acts needs at least two files (model 0 and another seed), got {paths.Count}");
        if (paths.Count == 0) throw new UserError("--acts needs a file");
        if (layers < 1) throw new UserError($"--layers {layers}: must be at least 1");
        var sources = new List<IActivationSource>();
        try
        {
            foreach (string p in paths) sources.Add(ActivationSource.Open(p));
            var first = sources[0];
            if (first.Width % layers != 0)
                throw new DataFormatError(first.Path, "width", $"{first.Width} units do not split into {layers} equal layers (--layers)");
            foreach (var s in sources.Skip(1))
            {
                if (s.Width != first.Width)
                    throw new DataFormatError(s.Path, "width", $"{s.Width} units per row, but {first.Path} has {first.Width}: the models have different shapes");
                if (tokens == null && s.RowCount != first.RowCount)
                    throw new DataFormatError(s.Path, "rows", $"{s.RowCount:N0} rows, but {first.Path} has {first.RowCount:N0}: not the same tokens (pass --tokens to use a common prefix)");
            }
            long rows = tokens ?? first.RowCount;
            foreach (var s in sources)
                if (s.RowCount < rows) throw new DataFormatError(s.Path, "rows", $"{s.RowCount:N0} rows, fewer than the {rows:N0} asked for (--tokens)");
            if (rows < 2) throw new UserError($"{first.Path}: {rows} rows; correlations need at least 2");
            return new StoreUnitBatches(sources.ToArray(), new UnitLayout(layers, first.Width / layers), rows, batchRows);
        }
        catch
        {
            foreach (var s in sources) s.Dispose();
            throw;
        }
    }

    public int Read(int batch, float[][] dst)
    {
        long start = (long)batch * MaxTokens;
        int rows = (int)Math.Min(MaxTokens, _rows - start);
        for (int m = 0; m < _sources.Length; m++) _sources[m].ReadRows(start, rows, dst[m].AsSpan(0, rows * _sources[m].Width));
        return rows;
    }

    public JsonObject Describe() => new()
    {
        ["kind"] = "acts",
        ["rows"] = _rows,
        ["batch_rows"] = MaxTokens,
        ["files"] = new JsonArray(_sources.Select(s => (JsonNode)new JsonObject
        {
            ["path"] = Path.GetFullPath(s.Path),
            ["hash"] = ContentHash.Of(s.Path, fast: true),
            ["rows"] = s.RowCount,
            ["width"] = s.Width,
        }).ToArray()),
    };

    public void Dispose()
    {
        foreach (var s in _sources) s.Dispose();
    }
}
