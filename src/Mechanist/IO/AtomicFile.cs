using System.Text;

namespace Mechanist.IO;

/// <summary>
/// Writes files so that a reader sees either the old complete file or the new complete file, never a
/// partial one: the content goes to a uniquely named temporary file in the same folder (same file
/// system, so the rename is atomic), is flushed to disk, and is then renamed over the target. If the
/// writer throws, the temporary file is deleted and any old file is left untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes the file through <paramref name="write"/>; creates the parent folder if needed.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        using var file = Begin(path);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>
    /// Opens a temporary file for incremental writing; <see cref="AtomicFileWriter.Commit"/> renames it over
    /// <paramref name="path"/>, disposing without committing deletes it. Creates the parent folder if needed.
    /// </summary>
    public static AtomicFileWriter Begin(string path) => new(System.IO.Path.GetFullPath(path));

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Writes UTF-8 text without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(new UTF8Encoding(false).GetBytes(text)));

    /// <summary>`.name.tmp-guid` beside the target: hidden, unique, and on the same file system.</summary>
    internal static string TempPathFor(string fullPath) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(fullPath)!,
            $".{System.IO.Path.GetFileName(fullPath)}.tmp-{Guid.NewGuid():N}");

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// Builds a folder of outputs under a temporary name beside the target and renames it into place on
/// <see cref="Commit"/>, so a crash never leaves a half-written stage folder under the final name.
/// Disposing without committing deletes the temporary folder.
/// <code>
/// using var staging = AtomicDirectory.Begin(outDir);
/// ... write files under staging.TempPath ...
/// staging.Commit();
/// </code>
/// </summary>
public sealed class AtomicDirectory : IDisposable
{
    readonly bool _overwrite;
    bool _done;

    public string FinalPath { get; }
    /// <summary>Where to write the folder's contents until <see cref="Commit"/>.</summary>
    public string TempPath { get; }

    AtomicDirectory(string finalPath, bool overwrite)
    {
        FinalPath = System.IO.Path.GetFullPath(finalPath.TrimEnd('/', '\\'));
        _overwrite = overwrite;
        if (File.Exists(FinalPath)) throw new UserError($"{FinalPath} is a file; expected a folder there");
        if (!overwrite && Directory.Exists(FinalPath))
            throw new UserError($"{FinalPath}: already exists (use --force to replace it)");
        string parent = System.IO.Path.GetDirectoryName(FinalPath)!;
        Directory.CreateDirectory(parent);
        TempPath = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(FinalPath)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(TempPath);
    }

    /// <param name="overwrite">Replace an existing folder at <paramref name="finalPath"/> on commit.</param>
    public static AtomicDirectory Begin(string finalPath, bool overwrite = false) => new(finalPath, overwrite);

    /// <summary>Builds the folder through <paramref name="build"/> (given the temporary path) and commits it.</summary>
    public static void Create(string finalPath, Action<string> build, bool overwrite = false)
    {
        using var staging = Begin(finalPath, overwrite);
        build(staging.TempPath);
        staging.Commit();
    }

    /// <summary>
    /// Renames the temporary folder to the final name. An existing folder (allowed by overwrite) is first
    /// renamed aside and deleted afterwards, so the final name never points at a mix of old and new files.
    /// </summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        string? aside = null;
        if (Directory.Exists(FinalPath))
        {
            if (!_overwrite) throw new UserError($"{FinalPath}: already exists (use --force to replace it)");
            aside = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(FinalPath)!,
                $".{System.IO.Path.GetFileName(FinalPath)}.old-{Guid.NewGuid():N}");
            Directory.Move(FinalPath, aside);
        }
        Directory.Move(TempPath, FinalPath);
        _done = true;
        if (aside != null) TryDeleteDirectory(aside);
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        TryDeleteDirectory(TempPath);
    }

    static void TryDeleteDirectory(string path)
    {
        try { Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A temporary file that becomes <see cref="FinalPath"/> on <see cref="Commit"/> (see <see cref="AtomicFile.Begin"/>).</summary>
public sealed class AtomicFileWriter : IDisposable
{
    readonly FileStream _stream;
    bool _done;

    public string FinalPath { get; }
    public string TempPath { get; }
    public Stream Stream => _stream;

    internal AtomicFileWriter(string fullPath)
    {
        FinalPath = fullPath;
        if (Directory.Exists(fullPath)) throw new UserError($"{fullPath} is a folder; expected a file name there");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(fullPath)!);
        TempPath = AtomicFile.TempPathFor(fullPath);
        _stream = new FileStream(TempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>Flushes the data to disk, closes the file and renames it over the target.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        try
        {
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
            File.Move(TempPath, FinalPath, overwrite: true);
            _done = true;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _stream.Dispose();
        AtomicFile.TryDelete(TempPath);
    }
}
