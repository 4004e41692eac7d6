using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Activations;

/// <summary>
/// Writes an activation store: appends batches of float rows, converts them to the storage dtype, cuts
/// shards of about <c>shardBytes</c> (each shard appears atomically when full), accumulates the scale
/// statistics of the stored values, and on <see cref="Complete"/> writes manifest.json last and atomically.
/// Until then the folder has no manifest and readers refuse it. Add inputs and settings to
/// <see cref="Manifest"/> before completing.
/// </summary>
public sealed class ActivationStoreWriter : IDisposable
{
    public const long DefaultShardBytes = 256L << 20;

    readonly string _dir;
    readonly DType _dtype;
    readonly ActivationSourceInfo _source;
    readonly long _rowsPerShard;
    readonly int _rowBytes;
    readonly List<(string File, long Rows)> _shards = [];
    readonly ActivationStats.Accumulator _stats;
    AtomicFileWriter? _current;
    long _currentRows;
    byte[] _bytes = [];
    float[] _stored = [];
    bool _completed;

    public int Width { get; }
    public long RowCount { get; private set; }
    /// <summary>The manifest written on completion: set its Inputs and Settings (Contents is filled in here).</summary>
    public Manifest Manifest { get; }

    /// <param name="dir">The store folder; created if missing. A finished store there is refused unless <paramref name="overwrite"/>.</param>
    /// <param name="width">d, the values per row.</param>
    /// <param name="dtype">F32, F16 or BF16 storage.</param>
    /// <param name="resume">
    /// Keep the full shards an interrupted run left behind (same width, dtype and shard size) and continue
    /// after them: <see cref="RowCount"/> starts at the rows they hold, so the producer skips that many.
    /// </param>
    public ActivationStoreWriter(string dir, int width, DType dtype, ActivationSourceInfo? source = null,
        long shardBytes = DefaultShardBytes, bool overwrite = false, string stage = "acts harvest", bool resume = false)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width));
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16)) throw new ArgumentException($"activations are stored as F32, F16 or BF16, not {dtype}");
        _dir = System.IO.Path.GetFullPath(dir);
        if (Manifest.ExistsIn(_dir))
        {
            if (!overwrite) throw new UserError($"{_dir}: already holds a finished activation store (use --force to replace it)");
            File.Delete(Manifest.PathIn(_dir)); // from here on the old store reads as unfinished
            resume = false;
        }
        Directory.CreateDirectory(_dir);
        // Temporary files of a shard in progress when an earlier run was killed.
        foreach (var temp in Directory.EnumerateFiles(_dir, ".shard-*.tmp-*")) File.Delete(temp);
        Width = width;
        _dtype = dtype;
        _source = source ?? new ActivationSourceInfo();
        _rowBytes = width * dtype.Size();
        _rowsPerShard = Math.Max(1, shardBytes / _rowBytes);
        _stats = new ActivationStats.Accumulator(width);
        Manifest = new Manifest { Stage = stage };
        if (resume) AdoptFinishedShards();
        else foreach (var stale in Directory.EnumerateFiles(_dir, "shard-*.bin")) File.Delete(stale);
        AtomicFile.WriteAllText(LayoutPath, Layout.ToJsonString());
    }

    /// <summary>
    /// While the store is being written, <c>layout.json</c> records the shard layout so a resumed run can
    /// check it continues the same width, dtype and shard size (shard sizes alone cannot tell F16 × 2d from F32 × d).
    /// It is removed once the manifest exists.
    /// </summary>
    string LayoutPath => System.IO.Path.Combine(_dir, "layout.json");

    JsonObject Layout => new() { ["d"] = Width, ["dtype"] = _dtype.SafeTensorsName(), ["rows_per_shard"] = _rowsPerShard };

    /// <summary>Takes over shard-00000.bin, shard-00001.bin, ... (all full, as only full shards are committed early).</summary>
    void AdoptFinishedShards()
    {
        if (File.Exists(LayoutPath))
        {
            string previous = File.ReadAllText(LayoutPath);
            if (previous != Layout.ToJsonString())
                throw new UserError($"{_dir}: cannot resume: the interrupted run wrote {previous.Trim()}, this run asks for {Layout.ToJsonString()}; use the same settings or start over");
        }
        else if (File.Exists(System.IO.Path.Combine(_dir, "shard-00000.bin")))
            throw new UserError($"{_dir}: cannot resume: no layout.json records how the existing shards were written; start over");
        long expectedBytes = _rowsPerShard * _rowBytes;
        var buffer = new float[Math.Max(1, (1 << 20) / Width) * Width];
        for (int i = 0; ; i++)
        {
            string path = System.IO.Path.Combine(_dir, $"shard-{i:D5}.bin");
            if (!File.Exists(path)) break;
            long length = new FileInfo(path).Length;
            if (length != expectedBytes)
                throw new DataFormatError(path, "size", $"{length} bytes, but a full shard of {_rowsPerShard} rows of {Width} × {_dtype.SafeTensorsName()} is {expectedBytes}: " +
                    "resume with the same width, dtype and shard size, or start over");
            using (var file = new MappedFile(path))
            {
                int rowsPerRead = buffer.Length / Width;
                for (long r = 0; r < _rowsPerShard; r += rowsPerRead)
                {
                    int n = (int)Math.Min(rowsPerRead, _rowsPerShard - r);
                    var values = buffer.AsSpan(0, n * Width);
                    ElementConversion.ToFloat(file.Span(r * _rowBytes, n * _rowBytes), _dtype, values);
                    _stats.Add(values);
                }
            }
            _shards.Add((System.IO.Path.GetFileName(path), _rowsPerShard));
            RowCount += _rowsPerShard;
        }
    }

    /// <summary>Appends whole rows (rows.Length a multiple of the width).</summary>
    public void Append(ReadOnlySpan<float> rows)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (rows.Length % Width != 0) throw new ArgumentException($"{rows.Length} values is not a whole number of rows of {Width}");
        while (rows.Length > 0)
        {
            if (_current == null) StartShard();
            int n = (int)Math.Min(rows.Length / Width, _rowsPerShard - _currentRows);
            Write(rows[..(n * Width)]);
            rows = rows[(n * Width)..];
            if (_currentRows == _rowsPerShard) FinishShard();
        }
    }

    /// <summary>Appends the rows of a tensor whose last axis is the width.</summary>
    public void Append(Tensor rows)
    {
        if (rows.Columns != Width) throw new ArgumentException($"rows have {rows.Columns} columns, the store has d = {Width}");
        Append(rows.Span);
    }

    void Write(ReadOnlySpan<float> rows)
    {
        int rowCount = rows.Length / Width;
        int bytes = rowCount * _rowBytes;
        if (_bytes.Length < bytes) { _bytes = new byte[bytes]; _stored = new float[rows.Length]; }
        ElementConversion.FromFloat(rows, _dtype, _bytes);
        // Statistics describe what readers will see: the values after rounding to the storage dtype.
        if (_dtype == DType.F32) _stats.Add(rows);
        else
        {
            ElementConversion.ToFloat(_bytes.AsSpan(0, bytes), _dtype, _stored.AsSpan(0, rows.Length));
            _stats.Add(_stored.AsSpan(0, rows.Length));
        }
        _current!.Stream.Write(_bytes, 0, bytes);
        _currentRows += rowCount;
        RowCount += rowCount;
    }

    void StartShard()
    {
        _current = AtomicFile.Begin(System.IO.Path.Combine(_dir, $"shard-{_shards.Count:D5}.bin"));
        _currentRows = 0;
    }

    void FinishShard()
    {
        _current!.Commit();
        _shards.Add((System.IO.Path.GetFileName(_current.FinalPath), _currentRows));
        _current = null;
    }

    /// <summary>Closes the last shard and writes manifest.json; the store is readable from here on.</summary>
    public ActivationStats Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_current != null) FinishShard();
        var stats = _stats.Result();
        var shards = new JsonArray();
        foreach (var (file, rows) in _shards) shards.Add(new JsonObject { ["file"] = file, ["rows"] = rows });
        var c = Manifest.Contents;
        c["format"] = ActivationStore.Format;
        c["version"] = ActivationStore.Version;
        c["d"] = Width;
        c["dtype"] = _dtype.SafeTensorsName();
        c["rows"] = RowCount;
        c["shards"] = shards;
        c["source"] = _source.ToJson();
        c["stats"] = stats.ToJson();
        Manifest.Outputs.Clear();
        foreach (var (file, _) in _shards) Manifest.Outputs.Add(new ManifestFile(file));
        Manifest.SaveTo(_dir);
        File.Delete(LayoutPath);
        _completed = true;
        return stats;
    }

    /// <summary>Without <see cref="Complete"/>, drops the shard in progress; finished shards stay but the store has no manifest.</summary>
    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
        _completed = true;
    }
}
