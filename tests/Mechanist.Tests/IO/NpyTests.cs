using System.Buffers.Binary;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

public class NpyTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("npy");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Magic, version, header length (u16 for 1.0, u32 after), dict text, data.</summary>
    static byte[] Build(string dict, byte[] data, int major = 1, bool pad = true)
    {
        int prefix = major == 1 ? 10 : 12;
        string header = dict;
        if (pad)
        {
            int total = prefix + header.Length + 1;
            header += new string(' ', (64 - total % 64) % 64) + "\n";
        }
        byte[] h = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        if (major == 1) bytes.AddRange(BitConverter.GetBytes((ushort)h.Length));
        else bytes.AddRange(BitConverter.GetBytes((uint)h.Length));
        bytes.AddRange(h);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    static byte[] Floats(params float[] v)
    {
        var b = new byte[v.Length * 4];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    string Write(byte[] bytes, string name = "a.npy")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReadsHandBuiltHeadersOfEachVersion(int major)
    {
        string path = Write(Build("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Floats(1, 2, 3, 4, 5, 6), major));
        using var f = NpyFile.Open(path);
        Assert.Equal(DType.F32, f.DType);
        Assert.Equal([2L, 3L], f.Shape);
        Assert.Equal(0, f.Header.DataOffset % 64);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], f.ReadFloat().ToArray());
        var row = new float[3];
        f.ReadRows(1, 1, row);
        Assert.Equal([4f, 5f, 6f], row);
    }

    [Fact]
    public void AcceptsOddButValidHeaderSpellings()
    {
        // Double quotes, no trailing comma, 1-tuple, Python 2 long suffix, unpadded header.
        string path = Write(Build("{\"shape\": (3L,), \"fortran_order\": False, \"descr\": \"|u1\"}", [7, 8, 9], pad: false));
        using var f = NpyFile.Open(path);
        Assert.Equal([3L], f.Shape);
        Assert.Equal([7, 8, 9], f.ReadArray<byte>());
        string scalar = Write(Build("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", BitConverter.GetBytes(-5L)), "s.npy");
        using var s = NpyFile.Open(scalar);
        Assert.Empty(s.Shape);
        Assert.Equal([-5L], s.ReadArray<long>());
    }

    [Fact]
    public void FortranOrderIsTransposedToCOrder()
    {
        // The 2x3 array [[1,2,3],[4,5,6]] in Fortran order is stored column by column: 1,4,2,5,3,6.
        string path = Write(Build("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", Floats(1, 4, 2, 5, 3, 6)));
        using var f = NpyFile.Open(path);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], f.ReadFloat().ToArray());
        var e = Assert.Throws<DataFormatError>(() => f.ReadRows(0, 1, new float[3]));
        Assert.Equal("fortran_order", e.Field);
    }

    [Fact]
    public void RoundTripsEachDType()
    {
        var t = Tensor.FromArray([0f, -1.5f, 2.25f, 1e-4f, 300f, -65504f], 3, 2);
        foreach (var dtype in new[] { DType.F32, DType.F16, DType.F64 })
        {
            string path = Path.Combine(_dir, $"{dtype}.npy");
            Npy.Save(path, t, dtype);
            using var f = NpyFile.Open(path);
            Assert.Equal(dtype, f.DType);
            Assert.Equal([3, 2], f.ReadFloat().Shape);
            Assert.Equal(t.ToArray().Select(v => dtype == DType.F16 ? (float)(Half)v : v), f.ReadFloat().ToArray());
            Assert.Equal(0, f.Header.DataOffset % 64);
        }
        Check(new[] { 1, -2, int.MaxValue }, "<i4");
        Check(new[] { long.MinValue, 3L }, "<i8");
        Check(new byte[] { 0, 255 }, "|u1");
        Check(new ushort[] { 0, 65535, 7 }, "<u2");
        Check(new uint[] { uint.MaxValue, 1 }, "<u4");
        Check(new double[] { Math.PI, -0.0 }, "<f8");
        Check(new Half[] { (Half)1.5f }, "<f2");

        void Check<T>(T[] data, string descr) where T : unmanaged
        {
            string path = Path.Combine(_dir, descr.Replace('<', 'l').Replace('|', 'p') + ".npy");
            Npy.Save(path, data, data.Length);
            string header = Encoding.Latin1.GetString(File.ReadAllBytes(path), 10, 60);
            Assert.Contains($"'descr': '{descr}'", header);
            using var f = NpyFile.Open(path);
            Assert.Equal(data, f.ReadArray<T>());
        }
    }

    [Fact]
    public void RowWriterStreamsRowsAndReaderReadsThemBack()
    {
        string path = Path.Combine(_dir, "rows.npy");
        using (var w = Npy.CreateRowWriter(path, rows: 5, width: 3, DType.F16))
        {
            w.Append(Enumerable.Range(0, 6).Select(i => (float)i).ToArray());
            w.Append(Enumerable.Range(6, 9).Select(i => (float)i).ToArray());
            Assert.False(File.Exists(path));
            w.Commit();
        }
        using var f = NpyFile.Open(path);
        var rows = new float[6];
        f.ReadRows(3, 2, rows);
        Assert.Equal([9f, 10f, 11f, 12f, 13f, 14f], rows);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadRows(4, 2, rows));

        string partial = Path.Combine(_dir, "partial.npy");
        using (var w = Npy.CreateRowWriter(partial, 5, 3))
        {
            w.Append(new float[3]);
            Assert.Throws<InvalidOperationException>(() => w.Commit());
        }
        Assert.False(File.Exists(partial));
        Assert.Empty(Directory.GetFiles(_dir, ".*"));
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "bad magic", [.. Encoding.ASCII.GetBytes("PK\x03\x04 not numpy")], "magic" },
        { "bad version", [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 9, 0, 0, 0, 0, 0], "version" },
        { "truncated header", Build("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Floats(1, 2))[..40], "header" },
        { "unparsable dict", Build("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", Floats(1, 2)), "header" },
        { "not a dict", Build("['<f4']", Floats(1, 2)), "header" },
        { "missing shape", Build("{'descr': '<f4', 'fortran_order': False}", Floats(1, 2)), "shape" },
        { "negative shape", Build("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", Floats(1, 2)), "shape" },
        { "shape size mismatch", Build("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", Floats(1, 2)), "data" },
        { "extra data", Build("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", Floats(1, 2)), "data" },
        { "truncated data", Build("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", Floats(1, 2))[..^3], "data" },
        { "big endian", Build("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", Floats(1, 2)), "descr" },
        { "object dtype", Build("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", new byte[16]), "descr" },
        { "structured dtype", Build("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", Floats(1, 2)), "descr" },
        { "unknown dtype", Build("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", new byte[8]), "descr" },
        { "fortran not bool", Build("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", Floats(1, 2)), "fortran_order" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesGiveDataFormatErrorNamingFileAndField(string name, byte[] bytes, string field)
    {
        string path = Write(bytes, name.Replace(' ', '-') + ".npy");
        var e = Assert.Throws<DataFormatError>(() => NpyFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void EveryTruncationIsRejectedCleanly()
    {
        string good = Path.Combine(_dir, "good.npy");
        Npy.Save(good, Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2));
        byte[] bytes = File.ReadAllBytes(good);
        for (int n = 0; n < bytes.Length; n++)
        {
            string path = Write(bytes[..n], "cut.npy");
            Assert.Throws<DataFormatError>(() => NpyFile.Open(path));
        }
        var rng = new Random(2);
        for (int trial = 0; trial < 300; trial++)
        {
            var copy = (byte[])bytes.Clone();
            copy[rng.Next(80)] = (byte)rng.Next(256);
            string path = Write(copy, "flip.npy");
            try
            {
                using var f = NpyFile.Open(path);
                if (f.DType.ConvertsToFloat()) f.ReadFloat();
            }
            catch (DataFormatError) { }
        }
    }
}
