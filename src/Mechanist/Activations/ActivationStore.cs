using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Activations;

/// <summary>Where the rows of a store came from (recorded in its manifest; all fields optional).</summary>
public sealed record ActivationSourceInfo
{
    public string? Model { get; init; }
    /// <summary>Hook point name, e.g. "blocks.6.hook_resid_post".</summary>
    public string? Hook { get; init; }
    public int? ContextLength { get; init; }
    /// <summary>The token store (path or description) the contexts were cut from.</summary>
    public string? Tokens { get; init; }
    /// <summary>The token store's folder (full path); null in stores written before it was recorded.</summary>
    public string? TokenStore { get; init; }
    /// <summary>How many positions were sampled from each context (null: every position).</summary>
    public int? RowsPerContext { get; init; }
    public long? Seed { get; init; }
    /// <summary>Whether the rows were written in shuffled order (then a sequential read is already random).</summary>
    public bool Shuffled { get; init; }

    internal JsonObject ToJson()
    {
        var o = new JsonObject();
        if (Model != null) o["model"] = Model;
        if (Hook != null) o["hook"] = Hook;
        if (ContextLength != null) o["context_length"] = ContextLength;
        if (Tokens != null) o["tokens"] = Tokens;
        if (TokenStore != null) o["token_store"] = TokenStore;
        if (RowsPerContext != null) o["rows_per_context"] = RowsPerContext;
        if (Seed != null) o["seed"] = Seed;
        o["shuffled"] = Shuffled;
        return o;
    }

    internal static ActivationSourceInfo FromJson(JsonObject? o, string path)
    {
        if (o == null) return new ActivationSourceInfo();
        const string P = "contents.source.";
        string? Str(string f) => o.GetOptionalString(path, f, P);
        long? Long(string f) => o.GetOptionalLong(path, f, 0, P);
        return new ActivationSourceInfo
        {
            Model = Str("model"),
            Hook = Str("hook"),
            ContextLength = (int?)Long("context_length"),
            Tokens = Str("tokens"),
            TokenStore = Str("token_store"),
            RowsPerContext = (int?)Long("rows_per_context"),
            Seed = Long("seed"),
            Shuffled = o["shuffled"] != null && o.GetBool(path, "shuffled", P),
        };
    }
}

/// <summary>
/// An activation store: a folder of shards of raw little-endian rows (F32, F16 or BF16) of width d, plus
/// <c>manifest.json</c> whose "contents" give d, dtype, row count, the shards and their row counts, the
/// source and scale statistics. The manifest is written last, so a folder without one is an unfinished
/// store and is refused. Shards are memory-mapped; any row can be read at any time.
/// <code>
/// "contents": { "format": "mechanist-activations", "version": 1, "d": 768, "dtype": "F16", "rows": 1000000,
///   "shards": [{"file": "shard-00000.bin", "rows": 174762}, ...], "source": {...}, "stats": {...} }
/// </code>
/// </summary>
public sealed class ActivationStore : IActivationSource
{
    public const string Format = "mechanist-activations";
    internal const int Version = 1;

    readonly MappedFile[] _shards;
    readonly long[] _shardStart; // first row of each shard, plus the total at the end
    readonly int _rowBytes;

    public string Path { get; }
    public long RowCount { get; }
    public int Width { get; }
    public DType StoredDType { get; }
    public ActivationStats? Stats { get; }
    public ActivationSourceInfo Source { get; }
    public Manifest Manifest { get; }

    ActivationStore(string path, Manifest manifest, int width, DType dtype, MappedFile[] shards, long[] shardStart,
        ActivationStats? stats, ActivationSourceInfo source)
    {
        Path = path; Manifest = manifest; Width = width; StoredDType = dtype; _shards = shards; _shardStart = shardStart;
        RowCount = shardStart[^1]; Stats = stats; Source = source;
        _rowBytes = width * dtype.Size();
    }

    public static bool IsStore(string dir) => Manifest.ExistsIn(dir);

    public static ActivationStore Open(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserError($"{dir}: activation store folder not found");
        if (!Manifest.ExistsIn(dir))
            throw new UserError($"{dir}: no {Manifest.FileName}: this activation store is unfinished (the run that wrote it stopped early); harvest again");
        var manifest = Manifest.Load(dir);
        string mpath = Manifest.PathIn(dir);
        var c = manifest.Contents;
        const string C = "contents.";
        if (c["format"]?.ToString() != Format)
            throw new DataFormatError(mpath, "contents.format", $"expected \"{Format}\" (is this folder an activation store?)");
        long version = c.GetLong(mpath, "version", 1, C);
        if (version > Version) throw new DataFormatError(mpath, "contents.version", $"version {version} is newer than this tool reads ({Version})");
        long d = c.GetLong(mpath, "d", 1, C);
        if (d > int.MaxValue / 64) throw new DataFormatError(mpath, "contents.d", $"{d} is implausibly large");
        string dtypeName = c.GetString(mpath, "dtype", C);
        if (!DTypes.TryParseSafeTensorsName(dtypeName, out var dtype) || dtype is not (DType.F32 or DType.F16 or DType.BF16))
            throw new DataFormatError(mpath, "contents.dtype", $"\"{dtypeName}\" is not F32, F16 or BF16");
        long rows = c.GetLong(mpath, "rows", 0, C);
        var shardList = c.GetArray(mpath, "shards", C);
        var shards = new List<MappedFile>();
        var starts = new List<long> { 0 };
        try
        {
            long rowBytes = d * dtype.Size();
            for (int i = 0; i < shardList.Count; i++)
            {
                string field = $"contents.shards[{i}]";
                if (shardList[i] is not JsonObject s) throw new DataFormatError(mpath, field, "expected an object with file and rows");
                string file = s.GetString(mpath, "file", field + ".");
                if (file != System.IO.Path.GetFileName(file) || file.StartsWith('.'))
                    throw new DataFormatError(mpath, $"{field}.file", $"\"{file}\" must be a plain file name inside the store");
                long shardRows = s.GetLong(mpath, "rows", 0, field + ".");
                string shardPath = System.IO.Path.Combine(dir, file);
                if (!File.Exists(shardPath)) throw new DataFormatError(mpath, $"{field}.file", $"shard {file} is missing");
                long length = new FileInfo(shardPath).Length;
                if (length != shardRows * rowBytes)
                    throw new DataFormatError(shardPath, "size", $"{length} bytes, but the manifest says {shardRows} rows of {d} × {dtypeName} = {shardRows * rowBytes} bytes");
                shards.Add(new MappedFile(shardPath));
                starts.Add(starts[^1] + shardRows);
            }
            if (starts[^1] != rows)
                throw new DataFormatError(mpath, "contents.rows", $"{rows}, but the shards hold {starts[^1]} rows");
            ActivationStats? stats = c["stats"] is JsonObject so ? ActivationStats.FromJson(so, mpath, (int)d) : null;
            var source = ActivationSourceInfo.FromJson(c["source"] as JsonObject, mpath);
            return new ActivationStore(System.IO.Path.GetFullPath(dir), manifest, (int)d, dtype, shards.ToArray(), starts.ToArray(), stats, source);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    public void ReadRows(long start, int count, Span<float> dst)
    {
        if (start < 0 || count < 0 || start > RowCount - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: rows [{start}, {start + count}) outside [0, {RowCount})");
        if (dst.Length < (long)count * Width) throw new ArgumentException($"destination holds {dst.Length} floats, {(long)count * Width} needed");
        while (count > 0)
        {
            int shard = ShardOf(start);
            long local = start - _shardStart[shard];
            int n = (int)Math.Min(count, _shardStart[shard + 1] - start);
            // Convert in pieces of at most 1 GiB of source bytes so spans stay within int range.
            int piece = Math.Max(1, (1 << 30) / _rowBytes);
            for (int done = 0; done < n; done += piece)
            {
                int m = Math.Min(piece, n - done);
                var bytes = _shards[shard].Span((local + done) * _rowBytes, m * _rowBytes);
                ElementConversion.ToFloat(bytes, StoredDType, dst.Slice(done * Width, m * Width));
            }
            dst = dst[(n * Width)..];
            start += n;
            count -= n;
        }
    }

    public void ReadRows(ReadOnlySpan<long> rows, Span<float> dst)
    {
        if (dst.Length < (long)rows.Length * Width) throw new ArgumentException($"destination holds {dst.Length} floats, {(long)rows.Length * Width} needed");
        for (int i = 0; i < rows.Length; i++)
        {
            long r = rows[i];
            if ((ulong)r >= (ulong)RowCount) throw new ArgumentOutOfRangeException(nameof(rows), $"{Path}: row {r} outside [0, {RowCount})");
            int shard = ShardOf(r);
            var bytes = _shards[shard].Span((r - _shardStart[shard]) * _rowBytes, _rowBytes);
            ElementConversion.ToFloat(bytes, StoredDType, dst.Slice(i * Width, Width));
        }
    }

    int ShardOf(long row)
    {
        int i = Array.BinarySearch(_shardStart, row);
        if (i < 0) i = ~i - 1;
        // Empty shards share a start with the next one: move past them.
        while (_shardStart[i + 1] == row) i++;
        return i;
    }

    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
    }
}
