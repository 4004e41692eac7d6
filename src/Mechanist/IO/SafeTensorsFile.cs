using System.Runtime.InteropServices;
using System.Text.Json;

namespace Mechanist.IO;

/// <summary>Where one tensor lives in a safetensors file. Offsets are relative to the start of the data.</summary>
public sealed record SafeTensorInfo(string Name, DType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => End - Begin == 0 ? 0 : (End - Begin) / DType.Size();
    public long ByteLength => End - Begin;
    public string ShapeString => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A safetensors file opened for reading: the header is parsed and fully validated on open, tensor
/// bytes stay memory-mapped and are read lazily per tensor.
/// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__": {...}}</c>),
/// then the data, which the tensors must cover exactly (no holes, no overlaps, nothing after the last).
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The Rust implementation's limit; anything larger is a corrupt length, not a real header.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly MappedFile _file;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    public string Path => _file.Path;
    /// <summary>Tensor names in ordinal order (as the Python library's <c>keys()</c> returns them).</summary>
    public IReadOnlyList<string> Names { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>File offset of the first data byte (8 + header length).</summary>
    public long DataStart { get; }

    SafeTensorsFile(MappedFile file, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata, long dataStart)
    {
        _file = file;
        _tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        var names = tensors.Keys.ToList();
        names.Sort(StringComparer.Ordinal);
        Names = names;
    }

    public static SafeTensorsFile Open(string path)
    {
        var file = new MappedFile(path);
        try
        {
            if (file.Length < 8)
                throw new DataFormatError(path, "header length", $"file is {file.Length} bytes, too short for the 8-byte header length");
            ulong n = ElementConversion.ReadUInt64(file.Span(0, 8));
            if (n > MaxHeaderBytes)
                throw new DataFormatError(path, "header length", $"{n} bytes is larger than the {MaxHeaderBytes}-byte limit (corrupt or not a safetensors file)");
            if ((long)n > file.Length - 8)
                throw new DataFormatError(path, "header length", $"{n} bytes runs past the end of the file ({file.Length} bytes): truncated?");
            var (tensors, metadata) = ParseHeader(path, file.Span(8, (int)n), file.Length - 8 - (long)n);
            return new SafeTensorsFile(file, tensors, metadata, 8 + (long)n);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new DataFormatError(Path, name, "no tensor of that name in the file");

    /// <summary>The stored bytes of a tensor, valid until the file is disposed (no copy).</summary>
    public ReadOnlySpan<byte> RawSpan(string name)
    {
        var info = Info(name);
        if (info.ByteLength > int.MaxValue)
            throw new DataFormatError(Path, name, $"{info.ByteLength} bytes is too large for one span; read it in parts");
        return _file.Span(DataStart + info.Begin, (int)info.ByteLength);
    }

    /// <summary>A copy of the stored bytes of a tensor.</summary>
    public byte[] ReadRaw(string name) => RawSpan(name).ToArray();

    /// <summary>Reads a tensor of any numeric dtype as float32 (F16/BF16 widened exactly).</summary>
    public Tensor ReadFloat(string name)
    {
        var info = Info(name);
        if (!info.DType.ConvertsToFloat())
            throw new DataFormatError(Path, name, $"dtype {info.DType.SafeTensorsName()} cannot be read as float32");
        int[] shape = IntShape(info);
        var t = new Tensor(shape);
        ElementConversion.ToFloat(RawSpan(name), info.DType, t.Span);
        return t;
    }

    /// <summary>Reads a tensor whose stored dtype is exactly the one of T (e.g. I64 as long), as a flat array.</summary>
    public T[] ReadArray<T>(string name) where T : unmanaged
    {
        var info = Info(name);
        DType want = DTypes.Of<T>();
        if (info.DType != want)
            throw new DataFormatError(Path, name, $"dtype is {info.DType.SafeTensorsName()}, expected {want.SafeTensorsName()}");
        return MemoryMarshal.Cast<byte, T>(RawSpan(name)).ToArray();
    }

    /// <summary>Reads a float tensor and checks its shape, naming the tensor in the error.</summary>
    public Tensor ReadFloat(string name, params int[] expectedShape)
    {
        var info = Info(name);
        if (!info.Shape.AsSpan().SequenceEqual(expectedShape.Select(d => (long)d).ToArray()))
            throw new DataFormatError(Path, name, $"shape is {info.ShapeString}, expected [{string.Join(", ", expectedShape)}]");
        return ReadFloat(name);
    }

    int[] IntShape(SafeTensorInfo info)
    {
        if (info.ElementCount > Array.MaxLength)
            throw new DataFormatError(Path, info.Name, $"{info.ElementCount} elements is too many for one in-memory tensor");
        return info.Shape.Select(d => (int)d).ToArray();
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Parses and validates a header against the number of data bytes that follow it.</summary>
    internal static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(
        string path, ReadOnlySpan<byte> header, long dataLength)
    {
        // JsonDocument checks UTF-8 lazily (names only when read), so check the whole header up front.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new DataFormatError(path, "header", "not valid UTF-8");
        // The reference reader insists on an object from the first byte (no leading whitespace or BOM).
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new DataFormatError(path, "header", "does not start with '{' (not a safetensors file?)");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new DataFormatError(path, "header", $"not valid JSON: {e.Message}"); }
        catch (ArgumentException e) { throw new DataFormatError(path, "header", $"not valid UTF-8 JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFormatError(path, "header", $"expected a JSON object, found {doc.RootElement.ValueKind}");
            var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (sawMetadata) throw new DataFormatError(path, "__metadata__", "appears twice");
                    sawMetadata = true;
                    ParseMetadata(path, entry.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(entry.Name))
                    throw new DataFormatError(path, entry.Name, "tensor name appears twice in the header");
                tensors[entry.Name] = ParseTensor(path, entry.Name, entry.Value, dataLength);
            }
            CheckCoverage(path, tensors.Values, dataLength);
            return (tensors, metadata);
        }
    }

    static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new DataFormatError(path, "__metadata__", $"expected an object of strings, found {value.ValueKind}");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new DataFormatError(path, $"__metadata__.{p.Name}", $"expected a string, found {p.Value.ValueKind}");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!))
                throw new DataFormatError(path, $"__metadata__.{p.Name}", "key appears twice");
        }
    }

    static SafeTensorInfo ParseTensor(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new DataFormatError(path, name, $"expected an object with dtype, shape and data_offsets, found {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
            throw new DataFormatError(path, $"{name}.dtype", "missing or not a string");
        string dtypeName = dtypeValue.GetString()!;
        if (!DTypes.TryParseSafeTensorsName(dtypeName, out var dtype))
            throw new DataFormatError(path, $"{name}.dtype", $"unknown dtype \"{dtypeName}\"");
        long[] shape = ReadLongArray(path, name, value, "shape", null);
        long[] offsets = ReadLongArray(path, name, value, "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        if (end < begin)
            throw new DataFormatError(path, $"{name}.data_offsets", $"end {end} is before begin {begin}");
        if (end > dataLength)
            throw new DataFormatError(path, $"{name}.data_offsets", $"[{begin}, {end}] runs past the end of the data ({dataLength} bytes): truncated file?");
        long count = 1;
        foreach (long d in shape)
        {
            try { count = checked(count * d); }
            catch (OverflowException) { throw new DataFormatError(path, $"{name}.shape", "element count overflows"); }
        }
        long bytes;
        try { bytes = checked(count * dtype.Size()); }
        catch (OverflowException) { throw new DataFormatError(path, $"{name}.shape", "byte size overflows"); }
        if (bytes != end - begin)
            throw new DataFormatError(path, name,
                $"shape [{string.Join(", ", shape)}] of {dtypeName} needs {bytes} bytes but data_offsets span {end - begin}");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    static long[] ReadLongArray(string path, string name, JsonElement value, string field, int? length)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new DataFormatError(path, $"{name}.{field}", "missing or not an array");
        if (length is int n && array.GetArrayLength() != n)
            throw new DataFormatError(path, $"{name}.{field}", $"expected {n} numbers, found {array.GetArrayLength()}");
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v))
                throw new DataFormatError(path, $"{name}.{field}", $"item {i} is not an integer");
            if (v < 0)
                throw new DataFormatError(path, $"{name}.{field}", $"item {i} is negative ({v})");
            result[i++] = v;
        }
        return result;
    }

    /// <summary>The tensors, sorted by offset, must tile [0, dataLength) exactly.</summary>
    static void CheckCoverage(string path, IEnumerable<SafeTensorInfo> tensors, long dataLength)
    {
        long expected = 0;
        string previous = "start of data";
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < expected)
                throw new DataFormatError(path, $"{t.Name}.data_offsets", $"[{t.Begin}, {t.End}] overlaps {previous} (which ends at {expected})");
            if (t.Begin > expected)
                throw new DataFormatError(path, $"{t.Name}.data_offsets", $"begins at {t.Begin}, leaving a gap after {previous} (which ends at {expected})");
            expected = t.End;
            previous = t.Name;
        }
        if (expected != dataLength)
            throw new DataFormatError(path, "data", $"{dataLength - expected} bytes after the last tensor are not described by the header");
    }
}
