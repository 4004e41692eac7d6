using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// NpyFile and the .npy writers beyond the round trip: row ranges at their edges, conversion in pieces
/// for arrays over a million elements, Fortran order in three dimensions, and every refusal with its reason.
/// </summary>
public class NpyFileContractTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("npy-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void RowCountAndWidthOfEachRank()
    {
        Npy.Save(P("s.npy"), new[] { 7f });
        using (var s = NpyFile.Open(P("s.npy"))) Assert.Equal((1L, 1L, 1L), (s.RowCount, s.RowWidth, s.ElementCount));
        Npy.Save(P("m.npy"), new float[24], 4, 3, 2);
        using var m = NpyFile.Open(P("m.npy"));
        Assert.Equal((4L, 6L, 24L), (m.RowCount, m.RowWidth, m.ElementCount));
        Assert.Equal(P("m.npy"), m.Path);
    }

    [Fact]
    public void RowRangesAreCheckedAtTheirEdges()
    {
        var data = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        Npy.Save(P("r.npy"), data, 4, 3);
        using var f = NpyFile.Open(P("r.npy"));
        var all = new float[12];
        f.ReadRows(0, 4, all);
        Assert.Equal(data, all);
        var last = new float[3];
        f.ReadRows(3, 1, last);
        Assert.Equal([9f, 10f, 11f], last);
        f.ReadRows(4, 0, []); // an empty range at the end is fine
        var big = new float[7];
        f.ReadRows(1, 2, big); // a longer destination is fine; the rest is left alone
        Assert.Equal([3f, 4f, 5f, 6f, 7f, 8f, 0f], big);

        foreach (var (start, count, text) in new[] { (-1L, 1, "rows [-1, 0) outside [0, 4)"), (0L, -1, "rows [0, -1) outside [0, 4)"),
                     (3L, 2, "rows [3, 5) outside [0, 4)"), (2L, 3, "rows [2, 5) outside [0, 4)"), (5L, 0, "rows [5, 5) outside [0, 4)") })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadRows(start, count, new float[12]));
            Assert.Contains(P("r.npy") + ": " + text, e.Message);
        }
        var shortDst = Assert.Throws<ArgumentException>(() => f.ReadRows(1, 2, new float[5]));
        Assert.Contains("destination holds 5 floats, 6 needed", shortDst.Message);
    }

    [Fact]
    public void RowsOverAMillionElementsAreConvertedInPieces()
    {
        // 2^20 + 12 elements of F16: the conversion runs in two pieces, the second starting mid-row.
        int rows = (1 << 18) + 3, width = 4;
        var t = new Tensor([rows, width]);
        for (int i = 0; i < t.Span.Length; i++) t.Span[i] = i % 1000;
        Npy.Save(P("big.npy"), t, DType.F16);
        using var f = NpyFile.Open(P("big.npy"));
        var dst = new float[(rows - 1) * width];
        f.ReadRows(1, rows - 1, dst);
        for (int i = 0; i < dst.Length; i++)
            if (dst[i] != (i + width) % 1000) Assert.Fail($"element {i}: {dst[i]}");
        Assert.Equal(t.ToArray(), f.ReadFloat().ToArray());
    }

    [Fact]
    public void FortranOrderInThreeDimensionsIsTransposed()
    {
        // C-order values 0..23 of a [2, 3, 4] array, stored Fortran order: the first axis varies fastest.
        int[] shape = [2, 3, 4];
        var fortran = new float[24];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    fortran[i + 2 * j + 6 * k] = 12 * i + 4 * j + k;
        string path = P("f.npy");
        byte[] header = NpyHeader.Format(DType.F32, [2, 3, 4]);
        string text = Encoding.Latin1.GetString(header).Replace("'fortran_order': False", "'fortran_order': True ");
        File.WriteAllBytes(path, [.. Encoding.Latin1.GetBytes(text), .. System.Runtime.InteropServices.MemoryMarshal.AsBytes(fortran.AsSpan())]);
        using var f = NpyFile.Open(path);
        Assert.True(f.Header.FortranOrder);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), f.ReadFloat().ToArray());
        Assert.Equal(shape, f.ReadFloat().Shape);
        var e = Assert.Throws<DataFormatError>(() => f.ReadRows(0, 1, new float[12]));
        Assert.Equal(("fortran_order", "row access needs a C-order array; save it with np.ascontiguousarray(a)"), (e.Field, e.Problem));
    }

    [Fact]
    public void ReadArrayRefusesAnotherDTypeByNumpyName()
    {
        Npy.Save(P("a.npy"), new[] { 1f, 2f }, 2);
        using var f = NpyFile.Open(P("a.npy"));
        var e = Assert.Throws<DataFormatError>(() => f.ReadArray<int>());
        Assert.Equal(("descr", "dtype is <f4, expected <i4"), (e.Field, e.Problem));
        Assert.Equal(8, f.DataSpan().Length);
        Assert.Equal(8, f.ReadRaw().Length);
    }

    [Fact]
    public void WritersRefuseWhatTheyCannotStore()
    {
        var t = Tensor.FromArray([1f], 1);
        Assert.Contains("float tensors are saved to .npy as F32, F16 or F64, not I32",
            Assert.Throws<ArgumentException>(() => Npy.Save(P("x.npy"), t, DType.I32)).Message);
        Assert.Contains("3 values do not fill shape (2, 2)",
            Assert.Throws<ArgumentException>(() => Npy.Save(P("x.npy"), new int[3], 2, 2)).Message);
        Assert.Contains(".npy rows are stored as F32, F16 or F64, not U8",
            Assert.Throws<ArgumentException>(() => Npy.CreateRowWriter(P("x.npy"), 2, 3, DType.U8)).Message);
        Assert.False(File.Exists(P("x.npy")));
        using var w = Npy.CreateRowWriter(P("w.npy"), 2, 3);
        Assert.Contains("5 values is not a whole number of rows of 3", Assert.Throws<ArgumentException>(() => w.Append(new float[5])).Message);
        w.Append(new float[3]);
        Assert.Contains("more than the 2 rows declared", Assert.Throws<InvalidOperationException>(() => w.Append(new float[6])).Message);
        Assert.Contains("1 of 2 rows written", Assert.Throws<InvalidOperationException>(() => w.Commit()).Message);
        w.Append(new float[3]);
        w.Commit();
        using var f = NpyFile.Open(P("w.npy"));
        Assert.Equal([2L, 3L], f.Shape);
    }

    [Fact]
    public void LargeTensorsAreSavedInChunksWithoutLoss()
    {
        // 40000 values: more than two 16384-value chunks, not a multiple of one.
        var values = Enumerable.Range(0, 40_000).Select(i => (float)(i % 1000) - 500).ToArray();
        foreach (var dtype in new[] { DType.F16, DType.F64, DType.F32 })
        {
            Npy.Save(P($"{dtype}.npy"), Tensor.FromArray(values, 200, 200), dtype);
            using var f = NpyFile.Open(P($"{dtype}.npy"));
            Assert.Equal(values, f.ReadFloat().ToArray());
        }
    }

    [Fact]
    public void DisposedFilesRefuseReads()
    {
        Npy.Save(P("d.npy"), new[] { 1f }, 1);
        var f = NpyFile.Open(P("d.npy"));
        f.Dispose();
        Assert.Throws<ObjectDisposedException>(() => f.ReadFloat());
        f.Dispose(); // twice is harmless
    }

    [Fact]
    public void MissingFilesAreUserErrorsAndOpenFilesCanBeOpenedAgain()
    {
        Assert.Equal(P("nope.npy") + ": file not found", Assert.Throws<UserError>(() => NpyFile.Open(P("nope.npy"))).Message);
        Assert.Equal(P("no/dir.npy") + ": file not found", Assert.Throws<UserError>(() => NpyFile.Open(P("no/dir.npy"))).Message);
        Npy.Save(P("shared.npy"), new[] { 1f, 2f }, 2);
        using var a = NpyFile.Open(P("shared.npy"));
        using var b = NpyFile.Open(P("shared.npy"));
        Assert.Equal(a.ReadFloat().ToArray(), b.ReadFloat().ToArray());
    }

    /// <summary>A u1 vector of <paramref name="length"/> zero bytes, stored sparse: header written, the rest by SetLength.</summary>
    string SparseU8(string name, long length)
    {
        byte[] header = NpyHeader.Format(DType.U8, [length]);
        using var s = new FileStream(P(name), FileMode.CreateNew);
        s.Write(header);
        s.SetLength(header.Length + length);
        return P(name);
    }

    [Fact]
    public void ArraysTooLargeForOneSpanOrArrayAreRefusedButReadableByRows()
    {
        using (var exact = NpyFile.Open(SparseU8("max.npy", int.MaxValue)))
            Assert.Equal(int.MaxValue, exact.DataSpan().Length); // the largest span there is

        using var f = NpyFile.Open(SparseU8("huge.npy", 1L << 31));
        var data = Assert.Throws<DataFormatError>(() => f.DataSpan());
        Assert.Equal(("data", "too large for one span; use ReadRows"), (data.Field, data.Problem));
        var shape = Assert.Throws<DataFormatError>(() => f.ReadRaw());
        Assert.Equal(("shape", "2147483648 elements is too many to load at once; use ReadRows"), (shape.Field, shape.Problem));
        Assert.Equal("shape", Assert.Throws<DataFormatError>(() => f.ReadFloat()).Field);
        var rows = new float[4];
        f.ReadRows((1L << 31) - 4, 4, rows);
        Assert.Equal(new float[4], rows);
    }
}
