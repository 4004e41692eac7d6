using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Mechanist.IO;

/// <summary>One tensor to write: its name, stored dtype, shape and a way to produce its bytes.</summary>
public sealed class SafeTensorsEntry
{
    readonly Action<Stream> _writeData;

    public string Name { get; }
    public DType DType { get; }
    public long[] Shape { get; }
    public long ByteLength { get; }

    SafeTensorsEntry(string name, DType dtype, long[] shape, Action<Stream> writeData)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"{name}: negative dimension in shape [{string.Join(", ", shape)}]");
            count = checked(count * d);
        }
        ByteLength = checked(count * dtype.Size());
        _writeData = writeData;
    }

    internal void WriteData(Stream stream) => _writeData(stream);

    /// <summary>A float32 tensor stored as F32, F16, BF16 or F64 (converted while writing).</summary>
    public static SafeTensorsEntry Float(string name, Tensor tensor, DType storeAs = DType.F32)
    {
        if (storeAs is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64))
            throw new ArgumentException($"{name}: float tensors are stored as F32, F16, BF16 or F64, not {storeAs}");
        return new(name, storeAs, tensor.Shape.Select(d => (long)d).ToArray(), s => WriteConverted(s, tensor, storeAs));
    }

    /// <summary>A typed array stored as its own dtype (int → I32, long → I64, byte → U8, Half → F16, ...).</summary>
    public static SafeTensorsEntry Of<T>(string name, T[] data, params long[] shape) where T : unmanaged
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
            throw new ArgumentException($"{name}: {data.Length} values do not fill shape [{string.Join(", ", shape)}]");
        return new(name, DTypes.Of<T>(), (long[])shape.Clone(), s => s.Write(MemoryMarshal.AsBytes(data.AsSpan())));
    }

    /// <summary>Bytes already in the stored layout of <paramref name="dtype"/> (e.g. copied from another file).</summary>
    public static SafeTensorsEntry Raw(string name, DType dtype, long[] shape, ReadOnlyMemory<byte> bytes)
    {
        var entry = new SafeTensorsEntry(name, dtype, (long[])shape.Clone(), s => s.Write(bytes.Span));
        if (entry.ByteLength != bytes.Length)
            throw new ArgumentException($"{name}: {bytes.Length} bytes do not match shape [{string.Join(", ", shape)}] of {dtype}");
        return entry;
    }

    static void WriteConverted(Stream stream, Tensor tensor, DType storeAs)
    {
        ReadOnlySpan<float> values = tensor.Span;
        if (storeAs == DType.F32) { stream.Write(MemoryMarshal.AsBytes(values)); return; }
        const int Chunk = 1 << 14;
        var buffer = new byte[Chunk * storeAs.Size()];
        for (int i = 0; i < values.Length; i += Chunk)
        {
            var part = values.Slice(i, Math.Min(Chunk, values.Length - i));
            ElementConversion.FromFloat(part, storeAs, buffer);
            stream.Write(buffer, 0, part.Length * storeAs.Size());
        }
    }
}

/// <summary>Writes safetensors files (atomically) in the layout the reference Rust implementation produces.</summary>
public static class SafeTensors
{
    /// <summary>Float tensors, each with the dtype to store it as.</summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor, DType StoreAs)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors.Select(t => SafeTensorsEntry.Float(t.Name, t.Tensor, t.StoreAs)), metadata);

    public static void Save(string path, IEnumerable<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList(); // validate before creating anything on disk
        byte[] header = BuildHeader(list, metadata, out var ordered);
        AtomicFile.Write(path, stream => WriteTo(stream, header, ordered));
    }

    /// <summary>Writes the same bytes as <see cref="Save(string, IEnumerable{SafeTensorsEntry}, IReadOnlyDictionary{string, string}?)"/> to a stream.</summary>
    public static void Write(Stream stream, IEnumerable<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        byte[] header = BuildHeader(tensors.ToList(), metadata, out var ordered);
        WriteTo(stream, header, ordered);
    }

    static void WriteTo(Stream stream, byte[] header, List<SafeTensorsEntry> ordered)
    {
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var entry in ordered)
        {
            long before = stream.CanSeek ? stream.Position : -1;
            entry.WriteData(stream);
            if (before >= 0 && stream.Position - before != entry.ByteLength)
                throw new InvalidOperationException($"{entry.Name}: wrote {stream.Position - before} bytes, expected {entry.ByteLength}");
        }
    }

    /// <summary>
    /// Data is laid out as the Rust writer does it: by dtype in descending order of its Dtype enum (which
    /// groups 8-byte types first, then 4, 2, 1, so every tensor stays aligned to its element size), then by
    /// name; the JSON lists __metadata__ first, then tensors in data order, and is padded with spaces to a
    /// multiple of 8 bytes.
    /// </summary>
    /// <summary>Position of each dtype in the reference implementation's Dtype enum, which its writer sorts by.</summary>
    static int RustOrder(DType type) => type switch
    {
        DType.Bool => 0, DType.U8 => 1, DType.I8 => 2, DType.F8E5M2 => 3, DType.F8E4M3 => 4,
        DType.I16 => 5, DType.U16 => 6, DType.F16 => 7, DType.BF16 => 8,
        DType.I32 => 9, DType.U32 => 10, DType.F32 => 11,
        DType.F64 => 12, DType.I64 => 13, DType.U64 => 14,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    static byte[] BuildHeader(List<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata, out List<SafeTensorsEntry> ordered)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (e.Name == "__metadata__") throw new ArgumentException("\"__metadata__\" is reserved and cannot name a tensor");
            if (!names.Add(e.Name)) throw new ArgumentException($"tensor name \"{e.Name}\" appears twice");
        }
        ordered = entries.OrderByDescending(e => RustOrder(e.DType)).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in ordered)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType.SafeTensorsName());
                json.WriteStartArray("shape");
                foreach (long d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.ByteLength;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
