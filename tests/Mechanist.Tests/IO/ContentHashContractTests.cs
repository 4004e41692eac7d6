using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// The content hash formats as documented in ContentHash, recomputed here independently: the fast hash
/// over size, write time, first and last MiB; the folder hash over "path\0hash\n" lines in ordinal order.
/// Also the bounds of MappedFile, the reader under NpyFile and SafeTensorsFile.
/// </summary>
public class ContentHashContractTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("hash-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    static string ExpectedFast(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        const int MiB = 1 << 20;
        var input = new List<byte>();
        input.AddRange(BitConverter.GetBytes((long)bytes.Length));
        input.AddRange(BitConverter.GetBytes(File.GetLastWriteTimeUtc(path).Ticks));
        input.AddRange(bytes.Take(MiB));
        if (bytes.Length > MiB) input.AddRange(bytes.Skip(Math.Max(MiB, bytes.Length - MiB)));
        return "fast-sha256:" + Hex(SHA256.HashData(input.ToArray()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) + 1000)]
    [InlineData(5 << 20)]
    public void FastHashIsSizeTimeFirstAndLastMiB(int size)
    {
        string path = Path.Combine(_dir, $"f{size}");
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        Assert.Equal(ExpectedFast(path), ContentHash.OfFile(path, fast: true));
        Assert.Equal("sha256:" + Hex(SHA256.HashData(bytes)), ContentHash.OfFile(path));
    }

    [Fact]
    public void FolderHashIsOverSortedRelativePathsAndFileHashes()
    {
        string dir = Path.Combine(_dir, "d");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "b.txt"), "bee");
        File.WriteAllText(Path.Combine(dir, "a.txt"), "ay");
        File.WriteAllText(Path.Combine(dir, "sub", "c.txt"), "see");
        File.WriteAllText(Path.Combine(dir, "manifest.json"), "{}");

        string Lines(bool fast, params string[] names) => string.Concat(names.Order(StringComparer.Ordinal)
            .Select(n => $"{n}\0{ContentHash.OfFile(Path.Combine(dir, n), fast)}\n"));
        string all = Lines(false, "a.txt", "b.txt", "manifest.json", "sub/c.txt");
        Assert.Equal("sha256:" + Hex(SHA256.HashData(Encoding.UTF8.GetBytes(all))), ContentHash.OfDirectory(dir));
        string some = Lines(true, "a.txt", "b.txt", "sub/c.txt");
        Assert.Equal("fast-sha256:" + Hex(SHA256.HashData(Encoding.UTF8.GetBytes(some))), ContentHash.OfDirectory(dir, fast: true, "manifest.json"));
        Assert.True(ContentHash.Matches(dir, ContentHash.Of(dir, fast: true)));
        Assert.StartsWith("fast-sha256:", ContentHash.Of(dir, fast: true));
    }

    [Fact]
    public void MissingPathsAreUserErrors()
    {
        string missing = Path.Combine(_dir, "missing");
        Assert.Equal(missing + ": file not found", Assert.Throws<UserError>(() => ContentHash.OfFile(missing)).Message);
        Assert.Equal(missing + "/x: file not found", Assert.Throws<UserError>(() => ContentHash.OfFile(missing + "/x")).Message);
        Assert.Equal(missing + ": folder not found", Assert.Throws<UserError>(() => ContentHash.OfDirectory(missing)).Message);
        Assert.False(ContentHash.Matches(missing, "sha256:00"));
    }

    [Fact]
    public void MappedFileSpansStayInsideTheFile()
    {
        string path = Path.Combine(_dir, "m.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        using var m = new MappedFile(path);
        Assert.Equal(5, m.Length);
        Assert.Equal([1, 2, 3, 4, 5], m.Span(0, 5).ToArray());
        Assert.Equal([4, 5], m.Span(3, 2).ToArray());
        Assert.Equal(0, m.Span(5, 0).Length);
        foreach (var (offset, length) in new[] { (-1L, 1), (0L, -1), (4L, 2), (5L, 1), (6L, 0) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Span(offset, length));
            Assert.Contains($"{path}: bytes [{offset}, {offset + length}) are outside the file (5 bytes)", e.Message);
        }
        using var again = new MappedFile(path); // readers share the file
        Assert.Equal(3, again.Span(2, 1)[0]);
    }

    [Fact]
    public void EmptyFilesMapToNothing()
    {
        string path = Path.Combine(_dir, "empty.bin");
        File.WriteAllBytes(path, []);
        using var m = new MappedFile(path);
        Assert.Equal(0, m.Length);
        Assert.Equal(0, m.Span(0, 0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Span(0, 1));
        File.Delete(path); // not held open
    }
}
