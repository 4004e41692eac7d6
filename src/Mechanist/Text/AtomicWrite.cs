namespace Mechanist.Text;

/// <summary>
/// Writes a file so that readers see the old file or the complete new one, never a part: write a
/// temporary file in the same folder, flush it to disk, rename over the target.
/// (A private stand-in until Mechanist.IO's AtomicFile lands on main.)
/// </summary>
static class AtomicWrite
{
    public static void Stream(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void Bytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Stream(path, s => s.Write(copy));
    }

    public static void Text(string path, string text) => Bytes(path, System.Text.Encoding.UTF8.GetBytes(text));
}
