using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;
using Mechanist.Numerics;

namespace Mechanist.Text;

/// <summary>
/// Reads one split ("train" or "valid") of a token store written by <see cref="TokenStoreWriter"/>: the
/// shards are memory-mapped, so any window of tokens is read without loading the store, by many threads at
/// once. Every read is bounds-checked and every token checked against the vocabulary size.
/// </summary>
public sealed unsafe class TokenStore : IDisposable
{
    readonly Shard[] _shards;
    readonly long[] _shardStart;   // token offset of each shard, plus the total at the end
    readonly long[] _documentStarts;
    readonly int[]? _documentSources;
    readonly int _width;

    sealed class Shard(string path, MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* pointer, long tokens)
    {
        public string Path = path;
        public MemoryMappedFile? File = file;
        public MemoryMappedViewAccessor? View = view;
        public byte* Pointer = pointer;
        public long Tokens = tokens;
    }

    TokenStore(string dir, string split, JsonElement root, string metaPath)
    {
        Directory = dir;
        Split = split;
        string Str(JsonElement e, string name, string field) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new DataFormatError(metaPath, field, "missing or not a string");
        long Long(JsonElement e, string name, string field) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) && x >= 0 ? x : throw new DataFormatError(metaPath, field, "missing or not a non-negative integer");
        int Int(JsonElement e, string name, string field) =>
            Long(e, name, field) is var x && x <= int.MaxValue ? (int)x : throw new DataFormatError(metaPath, field, $"{x} is too large");

        if (Str(root, "format", "format") != TokenStoreWriter.Format) throw new DataFormatError(metaPath, "format", $"is not {TokenStoreWriter.Format}");
        if (!root.TryGetProperty("tokenizer", out var tok) || tok.ValueKind != JsonValueKind.Object) throw new DataFormatError(metaPath, "tokenizer", "missing");
        TokenizerHash = Str(tok, "hash", "tokenizer.hash");
        VocabSize = Int(tok, "vocab_size", "tokenizer.vocab_size");
        EndOfText = Int(tok, "end_of_text", "tokenizer.end_of_text");
        Dtype = Str(root, "dtype", "dtype");
        _width = Dtype switch { "uint16" => 2, "uint32" => 4, _ => throw new DataFormatError(metaPath, "dtype", $"is \"{Dtype}\"; expected uint16 or uint32") };
        if (_width == 2 && VocabSize > 65536) throw new DataFormatError(metaPath, "dtype", $"uint16 cannot hold a vocabulary of {VocabSize}");

        if (!root.TryGetProperty("splits", out var splits) || !splits.TryGetProperty(split, out var info))
            throw new DataFormatError(metaPath, $"splits.{split}", "missing: this store has no such split");
        string field = $"splits.{split}";
        if (!info.TryGetProperty("shards", out var shardsJson) || shardsJson.ValueKind != JsonValueKind.Array)
            throw new DataFormatError(metaPath, field + ".shards", "missing or not an array");

        var shards = new List<Shard>();
        var starts = new List<long> { 0 };
        try
        {
            int index = 0;
            foreach (var s in shardsJson.EnumerateArray())
            {
                string where = $"{field}.shards[{index++}]";
                string file = Str(s, "file", where + ".file");
                if (file.Contains('/') || file.Contains('\\') || file.Contains("..")) throw new DataFormatError(metaPath, where + ".file", "must be a file name inside the store");
                long tokens = Long(s, "tokens", where + ".tokens");
                string path = Path.Combine(dir, file);
                if (!System.IO.File.Exists(path)) throw new DataFormatError(metaPath, where, $"shard {file} is missing");
                long length = new FileInfo(path).Length;
                if (length != tokens * _width) throw new DataFormatError(path, "size", $"{length} bytes, but meta.json says {tokens} tokens of {_width} bytes");
                shards.Add(Map(path, tokens));
                starts.Add(starts[^1] + tokens);
            }
            _shards = [.. shards];
            _shardStart = [.. starts];
            Count = starts[^1];
            if (Long(info, "tokens", field + ".tokens") != Count) throw new DataFormatError(metaPath, field + ".tokens", "does not equal the sum of the shards' tokens");

            string docsFile = Str(info, "document_starts", field + ".document_starts");
            string docsPath = Path.Combine(dir, Path.GetFileName(docsFile));
            if (!System.IO.File.Exists(docsPath)) throw new DataFormatError(metaPath, field + ".document_starts", $"{docsFile} is missing");
            byte[] docBytes = System.IO.File.ReadAllBytes(docsPath);
            if (docBytes.Length % 8 != 0) throw new DataFormatError(docsPath, "size", "not a whole number of int64 offsets");
            _documentStarts = new long[docBytes.Length / 8];
            for (int i = 0; i < _documentStarts.Length; i++)
            {
                long start = BinaryPrimitives.ReadInt64LittleEndian(docBytes.AsSpan(i * 8));
                if (start < 0 || start >= Math.Max(Count, 1) || (i > 0 && start <= _documentStarts[i - 1]))
                    throw new DataFormatError(docsPath, $"offset {i}", $"{start} is out of order or outside 0..{Count - 1}");
                _documentStarts[i] = start;
            }
            if (Long(info, "documents", field + ".documents") != _documentStarts.Length)
                throw new DataFormatError(metaPath, field + ".documents", $"does not match the {_documentStarts.Length} offsets in {docsFile}");
            (SourceLabels, _documentSources) = ReadSources(dir, root, info, field, metaPath, _documentStarts.Length);
        }
        catch
        {
            foreach (var shard in shards) Unmap(shard);
            throw;
        }
    }

    /// <summary>
    /// The labels (<c>sources.json</c>) and each document's label index (<c>SPLIT.sources.bin</c>, uint32); none for a
    /// store written before sources were kept.
    /// </summary>
    static (IReadOnlyList<string>, int[]?) ReadSources(string dir, JsonElement root, JsonElement info, string field, string metaPath, int documents)
    {
        if (!info.TryGetProperty("document_sources", out var sourcesName) || sourcesName.ValueKind != JsonValueKind.String) return ([], null);
        string labelsName = root.TryGetProperty("source_labels", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : TokenStoreWriter.SourceLabelsFile;
        string labelsPath = Path.Combine(dir, Path.GetFileName(labelsName));
        string sourcesPath = Path.Combine(dir, Path.GetFileName(sourcesName.GetString()!));
        if (!System.IO.File.Exists(labelsPath)) throw new DataFormatError(metaPath, "source_labels", $"{labelsName} is missing");
        if (!System.IO.File.Exists(sourcesPath)) throw new DataFormatError(metaPath, field + ".document_sources", $"{sourcesName.GetString()} is missing");
        string[] labels;
        try { labels = JsonSerializer.Deserialize<string[]>(System.IO.File.ReadAllBytes(labelsPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DataFormatError(labelsPath, "(document)", $"not a JSON array of strings ({e.Message})", e); }
        byte[] bytes = System.IO.File.ReadAllBytes(sourcesPath);
        if (bytes.Length != documents * 4L) throw new DataFormatError(sourcesPath, "size", $"{bytes.Length} bytes, but the split has {documents} documents of 4 bytes");
        var sources = new int[documents];
        for (int i = 0; i < documents; i++)
        {
            uint label = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
            if (label >= (uint)labels.Length) throw new DataFormatError(sourcesPath, $"document {i}", $"label {label} is outside the {labels.Length} labels of {labelsName}");
            sources[i] = (int)label;
        }
        return (labels, sources);
    }

    /// <summary>Opens split <paramref name="split"/> of the store in <paramref name="dir"/> (validated).</summary>
    public static TokenStore Open(string dir, string split = "train")
    {
        string metaPath = Path.Combine(dir, TokenStoreWriter.MetaFile);
        if (!File.Exists(metaPath)) throw new UserError($"no token store in {dir} ({TokenStoreWriter.MetaFile} not found; make one with `mechanist corpus prepare`)");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(metaPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DataFormatError(metaPath, "(document)", "not a JSON object");
            return new TokenStore(Path.GetFullPath(dir), split, doc.RootElement, metaPath);
        }
        catch (JsonException e) { throw new DataFormatError(metaPath, "(document)", $"invalid JSON ({e.Message})", e); }
    }

    public string Directory { get; }
    public string Split { get; }

    /// <summary>Tokens in this split (documents each followed by <see cref="EndOfText"/>).</summary>
    public long Count { get; }
    public int VocabSize { get; }
    public int EndOfText { get; }

    /// <summary>SHA-256 of the tokenizer (<see cref="BpeTokenizer.Hash"/>) that wrote the store.</summary>
    public string TokenizerHash { get; }

    /// <summary>"uint16" or "uint32".</summary>
    public string Dtype { get; }

    public long DocumentCount => _documentStarts.Length;

    /// <summary>The source labels documents carry (<c>sources.json</c>; e.g. the Pile's subsets); empty for a store
    /// written before sources were kept.</summary>
    public IReadOnlyList<string> SourceLabels { get; }

    /// <summary>Whether every document has a source label.</summary>
    public bool HasSources => _documentSources != null;

    /// <summary>The index into <see cref="SourceLabels"/> of document <paramref name="document"/>'s source; −1 when the store has none.</summary>
    public int DocumentSource(long document) => _documentSources?[document] ?? -1;

    /// <summary>Token offset where document <paramref name="document"/> (of this split) starts.</summary>
    public long DocumentStart(long document) => _documentStarts[document];

    /// <summary>The document that holds token <paramref name="index"/>.</summary>
    public long DocumentOf(long index)
    {
        CheckRange(index, 1);
        int at = Array.BinarySearch(_documentStarts, index);
        return at >= 0 ? at : ~at - 1;
    }

    public int this[long index]
    {
        get
        {
            Span<int> one = stackalloc int[1];
            ReadWindow(index, one);
            return one[0];
        }
    }

    /// <summary>Copies tokens [start, start + ids.Length) into <paramref name="ids"/>; thread-safe.</summary>
    public void ReadWindow(long start, Span<int> ids)
    {
        CheckRange(start, ids.Length);
        int shard = Array.BinarySearch(_shardStart, start);
        if (shard < 0) shard = ~shard - 1;
        int done = 0;
        while (done < ids.Length)
        {
            while (start + done >= _shardStart[shard + 1]) shard++;
            long offset = start + done - _shardStart[shard];
            int take = (int)Math.Min(ids.Length - done, _shardStart[shard + 1] - (start + done));
            var target = ids.Slice(done, take);
            byte* p = _shards[shard].Pointer + offset * _width;
            int bad = -1;
            if (_width == 2)
            {
                var source = new ReadOnlySpan<ushort>(p, take);
                for (int k = 0; k < take; k++)
                {
                    int id = BitConverter.IsLittleEndian ? source[k] : BinaryPrimitives.ReverseEndianness(source[k]);
                    target[k] = id;
                    if (id >= VocabSize) bad = k;
                }
            }
            else
            {
                var source = new ReadOnlySpan<uint>(p, take);
                for (int k = 0; k < take; k++)
                {
                    uint id = BitConverter.IsLittleEndian ? source[k] : BinaryPrimitives.ReverseEndianness(source[k]);
                    target[k] = (int)id;
                    if (id >= (uint)VocabSize) bad = k;
                }
            }
            if (bad >= 0) throw new DataFormatError(_shards[shard].Path, $"token {offset + bad}", $"id {target[bad]} is outside the vocabulary of {VocabSize}");
            done += take;
        }
    }

    /// <summary>
    /// A deterministic, resumable stream of training windows: the split is cut into
    /// <c>Count / (context + 1)</c> non-overlapping windows of <c>context + 1</c> tokens (inputs plus the next-token
    /// targets), visited in a shuffled order that a seed fixes, reshuffled every epoch.
    /// Start from <paramref name="position"/> (a saved <see cref="WindowSampler.Position"/>) to resume exactly.
    /// </summary>
    public WindowSampler SampleWindows(int context, ulong seed, long position = 0) => new(this, context, seed, position);

    void CheckRange(long start, int length)
    {
        if (start < 0 || length < 0 || start > Count - length)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + length}) are outside the {Split} split's 0..{Count}");
    }

    static Shard Map(string path, long tokens)
    {
        if (tokens == 0) return new Shard(path, null, null, null, 0);
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        return new Shard(path, file, view, pointer + view.PointerOffset, tokens);
    }

    static void Unmap(Shard shard)
    {
        if (shard.View != null)
        {
            shard.View.SafeMemoryMappedViewHandle.ReleasePointer();
            shard.View.Dispose();
        }
        shard.File?.Dispose();
        shard.Pointer = null;
    }

    public void Dispose()
    {
        foreach (var shard in _shards) Unmap(shard);
    }
}

/// <summary>
/// Hands out the windows of a <see cref="TokenStore"/> in a seeded shuffled order, epoch after epoch. Its whole
/// state is (<see cref="TokenStore"/>, <see cref="Context"/>, <see cref="Seed"/>, <see cref="Position"/>): save
/// Position with a checkpoint and pass it to <see cref="TokenStore.SampleWindows"/> to continue exactly.
/// Not thread-safe (one sampler per training loop).
/// </summary>
public sealed class WindowSampler
{
    readonly TokenStore _store;
    int[]? _order;
    long _orderEpoch = -1;

    internal WindowSampler(TokenStore store, int context, ulong seed, long position)
    {
        if (context < 1) throw new ArgumentOutOfRangeException(nameof(context), "context must be at least 1");
        _store = store;
        Context = context;
        Seed = seed;
        WindowsPerEpoch = store.Count / (context + 1);
        if (WindowsPerEpoch == 0) throw new UserError($"the {store.Split} split has {store.Count} tokens, fewer than one window of {context + 1}");
        if (WindowsPerEpoch > int.MaxValue) throw new UserError($"{WindowsPerEpoch} windows are too many to shuffle; use a longer context");
        Seek(position);
    }

    /// <summary>Tokens the model sees; each window holds <see cref="WindowLength"/> = Context + 1.</summary>
    public int Context { get; }
    public int WindowLength => Context + 1;
    public ulong Seed { get; }
    public long WindowsPerEpoch { get; }

    /// <summary>Windows handed out so far, over all epochs.</summary>
    public long Position { get; private set; }

    public long Epoch => Position / WindowsPerEpoch;

    public void Seek(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        Position = position;
    }

    /// <summary>The token offset of the next window, advancing the position.</summary>
    public long NextStart()
    {
        long epoch = Position / WindowsPerEpoch;
        if (epoch != _orderEpoch) { _order = Shuffle(epoch); _orderEpoch = epoch; }
        long start = (long)_order![Position % WindowsPerEpoch] * WindowLength;
        Position++;
        return start;
    }

    /// <summary>Reads the next window (<see cref="WindowLength"/> tokens) into <paramref name="window"/>.</summary>
    public void Next(Span<int> window)
    {
        if (window.Length != WindowLength) throw new ArgumentException($"the window needs {WindowLength} ids, got {window.Length}");
        _store.ReadWindow(NextStart(), window);
    }

    int[] Shuffle(long epoch)
    {
        var order = new int[WindowsPerEpoch];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        ulong state = SplitMix64.Mix(Seed ^ SplitMix64.Mix((ulong)epoch + 1));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64.Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
