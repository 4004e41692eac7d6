namespace Mechanist.Text;

/// <summary>
/// Reads a (decompressed) byte stream line by line without decoding, so that bad bytes can be reported by line
/// and byte offset. Refuses binary data (a NUL byte in the first 64 KiB) and turns a damaged or truncated
/// compressed stream into a <see cref="DataFormatError"/> naming the compressed byte offset.
/// </summary>
sealed class LineReader(Stream stream, string path, Stream raw, CorpusCompression compression)
{
    const int SniffBytes = 1 << 16;
    byte[] _buffer = new byte[1 << 20];
    int _start, _end;
    long _bufferOffset; // decompressed offset of _buffer[0]
    bool _eof;

    public long LineNumber { get; private set; }

    /// <summary>Byte offset (in the decompressed data) where the line last returned starts.</summary>
    public long LineOffset { get; private set; }

    /// <summary>"line 12 (byte 3,456)": the last line returned, for messages.</summary>
    public string Where => $"line {LineNumber:N0} (byte {LineOffset:N0})";

    /// <summary>The next line (valid until the next call), with its '\n' if asked; null at the end.</summary>
    public ReadOnlyMemory<byte>? Next(bool keepNewline)
    {
        int searched = 0;
        while (true)
        {
            int newline = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int length = searched + newline;
                var line = new ReadOnlyMemory<byte>(_buffer, _start, keepNewline ? length + 1 : length);
                LineOffset = _bufferOffset + _start;
                _start += length + 1;
                LineNumber++;
                return line;
            }
            searched = _end - _start;
            if (_eof)
            {
                if (_start == _end) return null;
                var last = new ReadOnlyMemory<byte>(_buffer, _start, _end - _start);
                LineOffset = _bufferOffset + _start;
                _start = _end;
                LineNumber++;
                return last;
            }
            Fill();
        }
    }

    void Fill()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _bufferOffset += _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int read;
        try { read = stream.Read(_buffer, _end, _buffer.Length - _end); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException or IOException)
        {
            string what = e is EndOfStreamException ? "the file ends inside the compressed stream: it is truncated" : $"corrupt {Name(compression)} data ({e.Message})";
            throw new DataFormatError(path, $"compressed byte {SafePosition():N0} (line {LineNumber + 1:N0})", what, e);
        }
        long at = _bufferOffset + _end;
        if (at < SniffBytes && read > 0)
        {
            int nul = _buffer.AsSpan(_end, (int)Math.Min(read, SniffBytes - at)).IndexOf((byte)0);
            if (nul >= 0)
                throw new DataFormatError(path, $"byte {at + nul:N0}", "binary data (a NUL byte), not text: Mechanist reads text, JSON Lines (optionally .gz or .zst) and Parquet");
        }
        if (read == 0)
        {
            _eof = true;
            if (compression == CorpusCompression.Gzip) GzipEnd.Verify(path, _bufferOffset + _end);
        }
        _end += read;
    }

    long SafePosition()
    {
        try { return raw.Position; } catch (ObjectDisposedException) { return -1; }
    }

    static string Name(CorpusCompression c) => c switch { CorpusCompression.Gzip => "gzip", CorpusCompression.Zstd => "Zstandard", _ => "" };
}
