using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Mechanist.IO;

/// <summary>
/// Content hashes recorded in manifests, as self-describing strings:
/// <list type="bullet">
/// <item><c>sha256:&lt;hex&gt;</c>: SHA-256 of the file's bytes (the default; identifies content exactly).</item>
/// <item><c>fast-sha256:&lt;hex&gt;</c>: SHA-256 over the file size (u64 LE), its last-write time (UTC ticks,
/// i64 LE), the first MiB and the last MiB. Reads at most 2 MiB whatever the size, so it suits inputs of
/// many GiB; it is a change detector, not an identity: it changes when the file is touched or copied
/// without keeping times, and it misses an edit in the middle that keeps size and time.</item>
/// </list>
/// A folder hashes as SHA-256 over its files in ordinal order of relative path ('/' separators), each
/// contributing "path\0hash\n", so renames, additions and removals all change it.
/// </summary>
public static class ContentHash
{
    const int FastBlock = 1 << 20;

    public static string OfFile(string path, bool fast = false)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (!fast) return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Span<byte> prefix = stackalloc byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(prefix, stream.Length);
            BinaryPrimitives.WriteInt64LittleEndian(prefix[8..], File.GetLastWriteTimeUtc(path).Ticks);
            sha.AppendData(prefix);
            var block = new byte[FastBlock];
            int n = stream.ReadAtLeast(block, Math.Min(FastBlock, (int)Math.Min(stream.Length, FastBlock)), throwOnEndOfStream: false);
            sha.AppendData(block, 0, n);
            if (stream.Length > FastBlock)
            {
                stream.Seek(Math.Max(FastBlock, stream.Length - FastBlock), SeekOrigin.Begin);
                n = stream.ReadAtLeast(block, (int)(stream.Length - stream.Position), throwOnEndOfStream: false);
                sha.AppendData(block, 0, n);
            }
            return "fast-sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        catch (FileNotFoundException) { throw new UserError($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new UserError($"{path}: file not found"); }
    }

    /// <param name="exclude">File names (not paths) to leave out, e.g. the folder's own manifest.json.</param>
    public static string OfDirectory(string dir, bool fast = false, params string[] exclude)
    {
        if (!Directory.Exists(dir)) throw new UserError($"{dir}: folder not found");
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Relative: System.IO.Path.GetRelativePath(dir, f).Replace('\\', '/')))
            .Where(f => !exclude.Contains(System.IO.Path.GetFileName(f.Full)))
            .OrderBy(f => f.Relative, StringComparer.Ordinal);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (full, relative) in files)
            sha.AppendData(Encoding.UTF8.GetBytes($"{relative}\0{OfFile(full, fast)}\n"));
        return (fast ? "fast-sha256:" : "sha256:") + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Hashes a file or a folder, whichever <paramref name="path"/> is.</summary>
    public static string Of(string path, bool fast = false) =>
        Directory.Exists(path) ? OfDirectory(path, fast) : OfFile(path, fast);

    /// <summary>Whether <paramref name="path"/> still has <paramref name="expected"/> (computed the same way).</summary>
    public static bool Matches(string path, string expected) =>
        (File.Exists(path) || Directory.Exists(path)) && Of(path, expected.StartsWith("fast-", StringComparison.Ordinal)) == expected;
}
