namespace Mechanist.Text;

/// <summary>
/// .NET's GZipStream ends quietly when a file is cut short, as if the data were complete. A gzip member ends with
/// the size of its data modulo 2³² (ISIZE, the last 4 bytes of the file); a cut file ends with compressed bytes
/// instead, which match the decompressed size only by a 1-in-4-billion chance. Files joined with <c>cat</c> hold
/// several members: the last one's ISIZE counts only its own data, so that case decompresses the last member
/// again on its own (found by its header) and compares.
/// </summary>
static class GzipEnd
{
    const int MaxCandidates = 16;

    public static void Verify(string path, long decompressed)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (file.Length < 18) throw Truncated(path, file.Length, "shorter than a gzip header and trailer");
        Span<byte> trailer = stackalloc byte[4];
        file.Seek(-4, SeekOrigin.End);
        file.ReadExactly(trailer);
        uint size = BitConverter.ToUInt32(trailer);
        if (size == (uint)decompressed) return;
        var starts = MemberStarts(file);
        starts.Reverse();
        foreach (long start in starts.Take(MaxCandidates))
            if (MemberSize(file, start) == size) return;
        throw Truncated(path, file.Length, $"{decompressed:N0} bytes decompressed, but its last gzip trailer does not match (it records {size:N0})");
    }

    static DataFormatError Truncated(string path, long length, string detail) =>
        new(path, $"compressed byte {length:N0}", $"the gzip stream ends early: the file is truncated or damaged ({detail})");

    /// <summary>Offsets after the first where a gzip member header (1F 8B 08) appears.</summary>
    static List<long> MemberStarts(FileStream file)
    {
        var starts = new List<long>();
        var buffer = new byte[1 << 20];
        long offset = 0;
        file.Seek(0, SeekOrigin.Begin);
        int kept = 0;
        while (true)
        {
            int read = file.Read(buffer, kept, buffer.Length - kept);
            int length = kept + read;
            if (length < 3) break;
            var span = buffer.AsSpan(0, length);
            for (int i = span[..^2].IndexOf((byte)0x1F); i >= 0 && i < length - 2;)
            {
                if (span[i + 1] == 0x8B && span[i + 2] == 0x08 && offset + i > 0) starts.Add(offset + i);
                int next = span[(i + 1)..^2].IndexOf((byte)0x1F);
                i = next < 0 ? -1 : i + 1 + next;
            }
            if (read == 0) break;
            Array.Copy(buffer, length - 2, buffer, 0, 2); // a header may straddle two reads
            offset += length - 2;
            kept = 2;
        }
        return starts;
    }

    /// <summary>Bytes (mod 2³²) that the gzip data from <paramref name="start"/> to the end decompresses to; −1 if it is not gzip.</summary>
    static long MemberSize(FileStream file, long start)
    {
        file.Seek(start, SeekOrigin.Begin);
        try
        {
            using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true);
            var buffer = new byte[1 << 16];
            long total = 0;
            int read;
            while ((read = gzip.Read(buffer)) > 0) total += read;
            return (uint)total;
        }
        catch (InvalidDataException) { return -1; }
    }
}
