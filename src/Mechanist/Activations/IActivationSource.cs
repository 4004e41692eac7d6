using Mechanist.IO;

namespace Mechanist.Activations;

/// <summary>
/// Rows of activations (each <see cref="Width"/> floats) that can be read in any order: an activation
/// store folder or an [N, d] .npy file. Reads convert the stored dtype to float32.
/// </summary>
public interface IActivationSource : IDisposable
{
    string Path { get; }
    long RowCount { get; }
    /// <summary>Values per row (the model's d at the hook).</summary>
    int Width { get; }
    DType StoredDType { get; }
    /// <summary>Scale statistics recorded when the rows were written; null when the source has none (.npy).</summary>
    ActivationStats? Stats { get; }

    /// <summary>Reads rows [start, start+count) into dst (count × Width floats).</summary>
    void ReadRows(long start, int count, Span<float> dst);

    /// <summary>Reads the given rows, in the given order, into dst (rows.Length × Width floats).</summary>
    void ReadRows(ReadOnlySpan<long> rows, Span<float> dst)
    {
        int w = Width;
        for (int i = 0; i < rows.Length; i++) ReadRows(rows[i], 1, dst.Slice(i * w, w));
    }
}

public static class ActivationSource
{
    /// <summary>
    /// Opens a folder holding an activation store (with its manifest.json) or an [N, d] .npy file of
    /// f32/f16/f64 in C order. Both give the same reader interface.
    /// </summary>
    public static IActivationSource Open(string path)
    {
        if (Directory.Exists(path)) return ActivationStore.Open(path);
        if (File.Exists(path))
        {
            if (System.IO.Path.GetFileName(path) == Manifest.FileName) return ActivationStore.Open(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            return NpyActivations.Open(path);
        }
        throw new UserError($"{path}: no such activation store folder or .npy file");
    }

    /// <summary>Rows [start, start + count) of <paramref name="source"/> as consecutive tensors of at most <paramref name="chunkRows"/> rows.</summary>
    public static IEnumerable<Tensor> ReadChunks(this IActivationSource source, long start, long count, int chunkRows = 8192)
    {
        for (long r = 0; r < count; r += chunkRows)
        {
            int n = (int)Math.Min(chunkRows, count - r);
            var t = new Tensor(n, source.Width);
            source.ReadRows(start + r, n, t.Span);
            yield return t;
        }
    }
}

/// <summary>An [N, d] .npy matrix read as activation rows, memory-mapped.</summary>
public sealed class NpyActivations : IActivationSource
{
    readonly NpyFile _file;

    public string Path => _file.Path;
    public long RowCount => _file.RowCount;
    public int Width { get; }
    public DType StoredDType => _file.DType;
    public ActivationStats? Stats => null;

    NpyActivations(NpyFile file, int width) { _file = file; Width = width; }

    public static NpyActivations Open(string path)
    {
        var file = NpyFile.Open(path);
        try
        {
            if (file.Shape.Length != 2)
                throw new DataFormatError(path, "shape", $"activations must be a 2-D [rows, d] array, found shape ({string.Join(", ", file.Shape)})");
            if (file.DType is not (DType.F32 or DType.F16 or DType.F64))
                throw new DataFormatError(path, "descr", $"activations must be float32, float16 or float64, found {file.DType}");
            if (file.Header.FortranOrder)
                throw new DataFormatError(path, "fortran_order", "activations must be in C order; save with np.ascontiguousarray(a)");
            if (file.Shape[1] is < 1 or > int.MaxValue / 64)
                throw new DataFormatError(path, "shape", $"row width {file.Shape[1]} is out of range");
            return new NpyActivations(file, (int)file.Shape[1]);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void ReadRows(long start, int count, Span<float> dst) => _file.ReadRows(start, count, dst);

    public void Dispose() => _file.Dispose();
}
