using System.Runtime.InteropServices;

namespace Mechanist.IO;

/// <summary>
/// A NumPy .npy file opened for reading, memory-mapped: the header is validated on open and data is read
/// on demand, so [N, d] activation matrices far larger than memory can be read row by row.
/// </summary>
public sealed class NpyFile : IDisposable
{
    readonly MappedFile _file;

    public string Path => _file.Path;
    public NpyHeader Header { get; }
    public DType DType => Header.DType;
    public long[] Shape => Header.Shape;
    public long ElementCount => Header.ElementCount;
    /// <summary>Length of the first axis (1 for a scalar).</summary>
    public long RowCount => Shape.Length == 0 ? 1 : Shape[0];
    /// <summary>Elements per row: the product of all axes after the first.</summary>
    public long RowWidth => Shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    NpyFile(MappedFile file, NpyHeader header) { _file = file; Header = header; }

    public static NpyFile Open(string path)
    {
        var file = new MappedFile(path);
        try { return new NpyFile(file, NpyHeader.Parse(path, file.Span, file.Length)); }
        catch { file.Dispose(); throw; }
    }

    /// <summary>Converts rows [start, start+count) to float32 into dst (count × RowWidth values). C order only.</summary>
    public void ReadRows(long start, int count, Span<float> dst)
    {
        RequireCOrder("row access");
        if (start < 0 || count < 0 || start > RowCount - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: rows [{start}, {start + count}) outside [0, {RowCount})");
        long width = RowWidth;
        if (dst.Length < count * width) throw new ArgumentException($"destination holds {dst.Length} floats, {count * width} needed");
        int size = DType.Size();
        // Convert in pieces so a span never exceeds 2 GiB whatever the row count.
        long elements = count * width, done = 0, first = start * width;
        const int Piece = 1 << 20;
        while (done < elements)
        {
            int n = (int)Math.Min(Piece, elements - done);
            var bytes = _file.Span(Header.DataOffset + (first + done) * size, n * size);
            ElementConversion.ToFloat(bytes, DType, dst.Slice((int)done, n));
            done += n;
        }
    }

    /// <summary>The whole array as a float32 tensor in C order (Fortran-order files are transposed).</summary>
    public Tensor ReadFloat()
    {
        if (!DType.ConvertsToFloat()) throw new DataFormatError(Path, "descr", $"{DType} cannot be read as float32");
        var raw = ReadRawC();
        var t = new Tensor(IntShape());
        ElementConversion.ToFloat(raw, DType, t.Span);
        return t;
    }

    /// <summary>The data bytes in C order (Fortran-order files are transposed).</summary>
    public byte[] ReadRaw() => ReadRawC();

    /// <summary>The data as a flat C-order array of T, whose dtype must match the file's exactly.</summary>
    public T[] ReadArray<T>() where T : unmanaged
    {
        DType want = DTypes.Of<T>();
        if (DType != want) throw new DataFormatError(Path, "descr", $"dtype is {NpyHeader.Descr(DType)}, expected {NpyHeader.Descr(want)}");
        return MemoryMarshal.Cast<byte, T>(ReadRawC()).ToArray();
    }

    /// <summary>The stored bytes without copying (valid until disposed), in file order.</summary>
    public ReadOnlySpan<byte> DataSpan()
    {
        if (Header.DataBytes > int.MaxValue) throw new DataFormatError(Path, "data", "too large for one span; use ReadRows");
        return _file.Span(Header.DataOffset, (int)Header.DataBytes);
    }

    void RequireCOrder(string what)
    {
        if (Header.FortranOrder)
            throw new DataFormatError(Path, "fortran_order", $"{what} needs a C-order array; save it with np.ascontiguousarray(a)");
    }

    int[] IntShape()
    {
        if (ElementCount > Array.MaxLength) throw new DataFormatError(Path, "shape", $"{ElementCount} elements is too many to load at once; use ReadRows");
        return Shape.Select(d => (int)d).ToArray();
    }

    byte[] ReadRawC()
    {
        IntShape();
        var data = DataSpan();
        if (!Header.FortranOrder || Shape.Length < 2) return data.ToArray();
        // Fortran order: the first axis varies fastest. Walk C-order indices and gather.
        int size = DType.Size(), rank = Shape.Length;
        var fortranStride = new long[rank];
        fortranStride[0] = 1;
        for (int a = 1; a < rank; a++) fortranStride[a] = fortranStride[a - 1] * Shape[a - 1];
        var result = new byte[data.Length];
        var index = new long[rank];
        long n = ElementCount;
        for (long c = 0; c < n; c++)
        {
            long f = 0;
            for (int a = 0; a < rank; a++) f += index[a] * fortranStride[a];
            data.Slice((int)(f * size), size).CopyTo(result.AsSpan((int)(c * size), size));
            for (int a = rank - 1; a >= 0 && ++index[a] == Shape[a]; a--) index[a] = 0;
        }
        return result;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>Writes NumPy .npy files (format 1.0, or 2.0 for huge headers), little-endian, C order, atomically.</summary>
public static class Npy
{
    /// <summary>A float32 tensor stored as F32, F16 or F64.</summary>
    public static void Save(string path, Tensor tensor, DType storeAs = DType.F32)
    {
        var shape = tensor.Shape.Select(d => (long)d).ToArray();
        byte[] header = NpyHeader.Format(storeAs, shape);
        if (storeAs is not (DType.F32 or DType.F16 or DType.F64)) throw new ArgumentException($"float tensors are saved to .npy as F32, F16 or F64, not {storeAs}");
        AtomicFile.Write(path, s =>
        {
            s.Write(header);
            var buffer = new byte[(1 << 14) * storeAs.Size()];
            ReadOnlySpan<float> values = tensor.Span;
            for (int i = 0; i < values.Length; i += 1 << 14)
            {
                var part = values.Slice(i, Math.Min(1 << 14, values.Length - i));
                ElementConversion.FromFloat(part, storeAs, buffer);
                s.Write(buffer, 0, part.Length * storeAs.Size());
            }
        });
    }

    /// <summary>A typed array (float, double, Half, int, long, byte, ushort, uint, ...) with the given C-order shape.</summary>
    public static void Save<T>(string path, T[] data, params long[] shape) where T : unmanaged
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape ({string.Join(", ", shape)})");
        byte[] header = NpyHeader.Format(DTypes.Of<T>(), shape);
        AtomicFile.Write(path, s => { s.Write(header); s.Write(MemoryMarshal.AsBytes(data.AsSpan())); });
    }

    /// <summary>
    /// Streams an [rows, width] float matrix to a .npy file row batch by row batch (for exports larger than
    /// memory). The file appears atomically on <see cref="NpyRowWriter.Commit"/> once every row is written.
    /// </summary>
    public static NpyRowWriter CreateRowWriter(string path, long rows, int width, DType storeAs = DType.F32) =>
        new(path, rows, width, storeAs);
}

public sealed class NpyRowWriter : IDisposable
{
    readonly AtomicFileWriter _file;
    readonly long _rows;
    readonly int _width;
    readonly DType _dtype;
    byte[] _buffer = [];
    long _written;

    internal NpyRowWriter(string path, long rows, int width, DType storeAs)
    {
        if (storeAs is not (DType.F32 or DType.F16 or DType.F64)) throw new ArgumentException($".npy rows are stored as F32, F16 or F64, not {storeAs}");
        _rows = rows; _width = width; _dtype = storeAs;
        _file = AtomicFile.Begin(path);
        _file.Stream.Write(NpyHeader.Format(storeAs, [rows, width]));
    }

    /// <summary>Appends whole rows (values.Length must be a multiple of the width).</summary>
    public void Append(ReadOnlySpan<float> values)
    {
        if (values.Length % _width != 0) throw new ArgumentException($"{values.Length} values is not a whole number of rows of {_width}");
        long rows = values.Length / _width;
        if (_written + rows > _rows) throw new InvalidOperationException($"more than the {_rows} rows declared");
        int bytes = values.Length * _dtype.Size();
        if (_buffer.Length < bytes) _buffer = new byte[bytes];
        ElementConversion.FromFloat(values, _dtype, _buffer);
        _file.Stream.Write(_buffer, 0, bytes);
        _written += rows;
    }

    public void Commit()
    {
        if (_written != _rows) throw new InvalidOperationException($"{_written} of {_rows} rows written");
        _file.Commit();
    }

    public void Dispose() => _file.Dispose();
}
