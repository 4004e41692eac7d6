namespace Mechanist.Text;

/// <summary>How a corpus file's bytes are compressed.</summary>
public enum CorpusCompression { None, Gzip, Zstd }

/// <summary>
/// What a corpus file holds, decided by its first bytes (the compression, Parquet) and its name (JSON Lines or
/// plain text, once <c>.gz</c>/<c>.zst</c> is taken off). A file whose name promises a format its bytes do not
/// have, or that is a compressed or binary format Mechanist does not read, is refused here, before anything is
/// tokenized.
/// </summary>
public sealed record CorpusFormat(CorpusCompression Compression, bool Parquet, bool JsonLines)
{
    static readonly (byte[] Magic, string Name)[] Unsupported =
    [
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz"),
        ([0x42, 0x5A, 0x68], "bzip2"),
        ([0x50, 0x4B, 0x03, 0x04], "zip"),
        ([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], "7z"),
        ([0x04, 0x22, 0x4D, 0x18], "lz4"),
        ([0x89, 0x48, 0x44, 0x46], "HDF5"),
        ([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59], "NumPy"),
    ];

    public static CorpusFormat Detect(string path)
    {
        Span<byte> head = stackalloc byte[8];
        int n;
        using (var file = File.OpenRead(path)) n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        string name = Path.GetFileName(path);
        var compression = head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]) ? CorpusCompression.Gzip
            : head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]) ? CorpusCompression.Zstd
            : CorpusCompression.None;
        bool parquet = head.StartsWith("PAR1"u8);

        if (HasExtension(name, ".parquet") && !parquet) throw NotWhatItSays(path, "Parquet", "PAR1");
        if (HasExtension(name, ".gz") && compression != CorpusCompression.Gzip) throw NotWhatItSays(path, "gzip", "1F 8B");
        if ((HasExtension(name, ".zst") || HasExtension(name, ".zstd")) && compression != CorpusCompression.Zstd) throw NotWhatItSays(path, "Zstandard", "28 B5 2F FD");
        foreach (var (magic, format) in Unsupported)
            if (head.StartsWith(magic))
                throw new DataFormatError(path, "byte 0", $"this is {format} data, which Mechanist does not read; " +
                    "give it text, JSON Lines (optionally .gz or .zst) or Parquet");

        string inner = name;
        foreach (string suffix in (string[])[".gz", ".zst", ".zstd"])
            if (HasExtension(inner, suffix)) inner = inner[..^suffix.Length];
        bool jsonLines = !parquet && (HasExtension(inner, ".jsonl") || HasExtension(inner, ".ndjson"));
        return new CorpusFormat(compression, parquet, jsonLines);
    }

    static bool HasExtension(string name, string extension) => name.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    static DataFormatError NotWhatItSays(string path, string format, string magic) =>
        new(path, "byte 0", $"the name says {format} but the file does not start with {format}'s signature ({magic}); it is damaged or misnamed");
}
