using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Mechanist.IO;

/// <summary>
/// The header of a NumPy .npy file: magic "\x93NUMPY", version (1.0, 2.0 or 3.0), header length
/// (u16 for 1.0, u32 after), then a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c> padded with spaces and a newline
/// so the data starts on a 64-byte boundary.
/// </summary>
public sealed record NpyHeader(DType DType, long[] Shape, bool FortranOrder, long DataOffset)
{
    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    const int MaxHeaderBytes = 1 << 20;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long DataBytes => ElementCount * DType.Size();

    /// <summary>Parses the header at the start of <paramref name="bytes"/> (at least the first 12 bytes, or all of them).</summary>
    internal static NpyHeader Parse(string path, Func<long, int, ReadOnlySpan<byte>> read, long fileLength)
    {
        if (fileLength < 10) throw new DataFormatError(path, "header", $"file is {fileLength} bytes, too short for a .npy header");
        var start = read(0, 10);
        if (!start[..6].SequenceEqual(Magic)) throw new DataFormatError(path, "magic", "not a .npy file (missing \\x93NUMPY)");
        int major = start[6], minor = start[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw new DataFormatError(path, "version", $"unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)");
        long headerLength, headerStart;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(start[8..10]); headerStart = 10; }
        else
        {
            if (fileLength < 12) throw new DataFormatError(path, "header length", "file ends inside the header length");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(read(8, 4)); headerStart = 12;
        }
        if (headerLength > MaxHeaderBytes) throw new DataFormatError(path, "header length", $"{headerLength} bytes is implausibly large");
        if (headerStart + headerLength > fileLength)
            throw new DataFormatError(path, "header", $"header of {headerLength} bytes runs past the end of the file ({fileLength} bytes): truncated?");
        var raw = read(headerStart, (int)headerLength);
        string text;
        try { text = (major == 3 ? new UTF8Encoding(false, true) : Encoding.Latin1).GetString(raw); }
        catch (DecoderFallbackException) { throw new DataFormatError(path, "header", "not valid UTF-8"); }
        var (dtype, shape, fortran) = ParseDict(path, text);
        var header = new NpyHeader(dtype, shape, fortran, headerStart + headerLength);
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.Size()); }
        catch (OverflowException) { throw new DataFormatError(path, "shape", "element count overflows"); }
        long actual = fileLength - header.DataOffset;
        if (actual < expected)
            throw new DataFormatError(path, "data", $"shape ({string.Join(", ", shape)}) of {dtype} needs {expected} bytes but the file holds {actual}: truncated?");
        if (actual > expected)
            throw new DataFormatError(path, "data", $"shape ({string.Join(", ", shape)}) of {dtype} needs {expected} bytes but the file holds {actual}");
        return header;
    }

    static (DType, long[], bool) ParseDict(string path, string text)
    {
        object? value;
        try { value = new PyLiteral(text).ParseAll(); }
        catch (FormatException e) { throw new DataFormatError(path, "header", $"cannot parse the header dict: {e.Message}"); }
        if (value is not Dictionary<string, object?> dict)
            throw new DataFormatError(path, "header", "expected a dict literal");
        if (!dict.TryGetValue("descr", out var descr)) throw new DataFormatError(path, "descr", "missing");
        if (descr is not string d)
            throw new DataFormatError(path, "descr", "structured (record) dtypes are not supported; save a plain array");
        var dtype = ParseDescr(path, d);
        if (!dict.TryGetValue("fortran_order", out var fo) || fo is not bool fortran)
            throw new DataFormatError(path, "fortran_order", "missing or not True/False");
        if (!dict.TryGetValue("shape", out var sh) || sh is not List<object?> items)
            throw new DataFormatError(path, "shape", "missing or not a tuple");
        var shape = new long[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i] is not long n) throw new DataFormatError(path, "shape", $"item {i} is not an integer");
            if (n < 0) throw new DataFormatError(path, "shape", $"item {i} is negative ({n})");
            shape[i] = n;
        }
        return (dtype, shape, fortran);
    }

    static DType ParseDescr(string path, string descr)
    {
        if (descr.Length < 2) throw new DataFormatError(path, "descr", $"unknown dtype '{descr}'");
        char order = descr[0];
        string kind = descr[1..];
        if (order == '>' && kind is not ("u1" or "i1" or "b1"))
            throw new DataFormatError(path, "descr", $"big-endian dtype '{descr}' is not supported; save it little-endian (arr.astype('<{kind}'))");
        if (order is not ('<' or '|' or '=' or '>'))
            throw new DataFormatError(path, "descr", $"unknown byte order in dtype '{descr}'");
        return kind switch
        {
            "f8" => DType.F64, "f4" => DType.F32, "f2" => DType.F16,
            "i8" => DType.I64, "i4" => DType.I32, "i2" => DType.I16, "i1" => DType.I8,
            "u8" => DType.U64, "u4" => DType.U32, "u2" => DType.U16, "u1" => DType.U8,
            "b1" => DType.Bool,
            "O" => throw new DataFormatError(path, "descr", "object arrays (pickled Python objects) are not supported"),
            _ => throw new DataFormatError(path, "descr", $"unsupported dtype '{descr}'"),
        };
    }

    internal static string Descr(DType type) => type switch
    {
        DType.F64 => "<f8", DType.F32 => "<f4", DType.F16 => "<f2",
        DType.I64 => "<i8", DType.I32 => "<i4", DType.I16 => "<i2", DType.I8 => "|i1",
        DType.U64 => "<u8", DType.U32 => "<u4", DType.U16 => "<u2", DType.U8 => "|u1",
        DType.Bool => "|b1",
        _ => throw new ArgumentException($"NumPy has no dtype for {type} (store BF16 as F32 or F16)"),
    };

    /// <summary>The header bytes (magic through newline) for a C-order array; version 1.0 unless it needs 2.0.</summary>
    internal static byte[] Format(DType type, IReadOnlyList<long> shape)
    {
        string shapeText = shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{Descr(type)}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int prefix = 10;
        int total = prefix + dict.Length + 1;
        if (total + (64 - total % 64) % 64 - prefix > ushort.MaxValue) { prefix = 12; total = prefix + dict.Length + 1; }
        int padded = total + (64 - total % 64) % 64;
        var bytes = new byte[padded];
        Magic.CopyTo(bytes, 0);
        bytes[6] = (byte)(prefix == 10 ? 1 : 2);
        bytes[7] = 0;
        int headerLength = padded - prefix;
        if (prefix == 10) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);
        Encoding.Latin1.GetBytes(dict, bytes.AsSpan(prefix));
        bytes.AsSpan(prefix + dict.Length, padded - prefix - dict.Length - 1).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Just enough of Python's literal syntax for .npy headers: dicts, tuples, lists, strings, ints, booleans, None.</summary>
    sealed class PyLiteral(string text)
    {
        int _pos;

        public object? ParseAll()
        {
            var value = Value();
            SkipSpace();
            if (_pos != text.Length) throw new FormatException($"unexpected '{text[_pos]}' at character {_pos}");
            return value;
        }

        object? Value()
        {
            SkipSpace();
            if (_pos >= text.Length) throw new FormatException("unexpected end of header");
            char c = text[_pos];
            switch (c)
            {
                case '{': return Dict();
                case '(': return Sequence('(', ')');
                case '[': return Sequence('[', ']');
                case '\'': case '"': return Str();
            }
            if (char.IsDigit(c) || c == '-' || c == '+') return Integer();
            if (Word("True")) return true;
            if (Word("False")) return false;
            if (Word("None")) return null;
            throw new FormatException($"unexpected '{c}' at character {_pos}");
        }

        Dictionary<string, object?> Dict()
        {
            _pos++;
            var dict = new Dictionary<string, object?>();
            while (true)
            {
                SkipSpace();
                if (Peek() == '}') { _pos++; return dict; }
                if (Value() is not string key) throw new FormatException("dict keys must be strings");
                SkipSpace();
                if (Peek() != ':') throw new FormatException($"expected ':' at character {_pos}");
                _pos++;
                if (!dict.TryAdd(key, Value())) throw new FormatException($"key '{key}' appears twice");
                SkipSpace();
                if (Peek() == ',') _pos++;
                else if (Peek() != '}') throw new FormatException($"expected ',' or '}}' at character {_pos}");
            }
        }

        List<object?> Sequence(char open, char close)
        {
            _pos++;
            var items = new List<object?>();
            while (true)
            {
                SkipSpace();
                if (Peek() == close) { _pos++; return items; }
                items.Add(Value());
                SkipSpace();
                if (Peek() == ',') _pos++;
                else if (Peek() != close) throw new FormatException($"expected ',' or '{close}' at character {_pos}");
            }
        }

        string Str()
        {
            char quote = text[_pos++];
            int end = text.IndexOf(quote, _pos);
            if (end < 0) throw new FormatException("unterminated string");
            string s = text[_pos..end];
            _pos = end + 1;
            return s;
        }

        long Integer()
        {
            int start = _pos;
            if (text[_pos] is '-' or '+') _pos++;
            while (_pos < text.Length && char.IsDigit(text[_pos])) _pos++;
            if (!long.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                throw new FormatException($"bad integer at character {start}");
            if (_pos < text.Length && text[_pos] is 'L' or 'l') _pos++; // Python 2 long suffix in old files
            return v;
        }

        bool Word(string word)
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0) return false;
            _pos += word.Length;
            return true;
        }

        char Peek() => _pos < text.Length ? text[_pos] : throw new FormatException("unexpected end of header");

        void SkipSpace() { while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++; }
    }
}
