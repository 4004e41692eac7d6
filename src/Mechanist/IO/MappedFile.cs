using System.IO.MemoryMappedFiles;

namespace Mechanist.IO;

/// <summary>
/// A read-only memory map of a whole file with bounds-checked access. Readers parse headers through it and
/// hand out spans of tensor bytes without copying; the operating system pages data in on demand.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    byte* _pointer;
    bool _disposed;

    public string Path { get; }
    public long Length { get; }

    public MappedFile(string path)
    {
        Path = path;
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete); }
        catch (FileNotFoundException) { throw new UserError($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new UserError($"{path}: file not found"); }
        catch (UnauthorizedAccessException e) { throw new UserError($"{path}: cannot read: {e.Message}"); }
        Length = stream.Length;
        if (Length == 0) { stream.Dispose(); return; } // an empty file cannot be mapped; every read is out of range
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
        _pointer += _view.PointerOffset;
    }

    /// <summary>Bytes [offset, offset+length); throws if the range is not inside the file.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{Path}: bytes [{offset}, {offset + length}) are outside the file ({Length} bytes)");
        return length == 0 ? default : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    public void Dispose()
    {
        _disposed = true;
        if (_pointer != null) { _view!.SafeMemoryMappedViewHandle.ReleasePointer(); _pointer = null; }
        _view?.Dispose();
        _map?.Dispose();
    }
}
