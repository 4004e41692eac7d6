using System.Buffers.Binary;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// The safetensors reader's contract beyond the happy path: every refusal names the file, the field and
/// the reason (with the numbers that explain it), odd but valid headers are accepted, tensor facts
/// (element count, byte length, shape text) are right for tensors that do not start at offset 0, and the
/// writer streams large float tensors in chunks without losing any.
/// </summary>
public class SafeTensorsContractTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("safetensors-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static byte[] Build(string header, int dataBytes, ulong? length = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    string Write(byte[] bytes)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    DataFormatError Refuse(byte[] bytes, string field, params string[] words)
    {
        string path = Write(bytes);
        var e = Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(field, e.Field);
        foreach (var w in words) Assert.Contains(w, e.Problem);
        return e;
    }

    static string T(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Fact]
    public void HeaderLengthRefusalsSayWhy()
    {
        Refuse([1, 2, 3], "header length", "file is 3 bytes, too short for the 8-byte header length");
        Refuse(Build("{}", 0, 100_000_001), "header length", "100000001 bytes is larger than the 100000000-byte limit");
        Refuse(Build("{}", 0, 1UL << 63), "header length", "is larger than the 100000000-byte limit");
        // Exactly at the limit is judged against the file's size instead.
        Refuse(Build("{}", 0, 100_000_000), "header length", "100000000 bytes runs past the end of the file (10 bytes): truncated?");
    }

    [Fact]
    public void AnEightByteFileHasAnEmptyHeaderWhichIsNotAnObject()
    {
        Refuse(Build("", 0), "header", "does not start with '{'");
        Refuse(Build(" {}", 0), "header", "does not start with '{'");
        Refuse(Build("\uFEFF{}", 0), "header", "does not start with '{'");
    }

    [Fact]
    public void HeaderTextRefusals()
    {
        var bytes = Build("{\"a\":{}}", 0);
        bytes[10] = 0xC3; // a lead byte with no continuation
        Refuse(bytes, "header", "not valid UTF-8");
        Refuse(Build("{\"a\":", 0), "header", "not valid JSON: ");
        // Nesting deeper than any real header is refused rather than parsed.
        Refuse(Build("{\"__metadata__\":null,\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"deep\":[[[[[[[[[1]]]]]]]]]}}", 0),
            "header", "not valid JSON");
    }

    public static TheoryData<string, int, string, string[]> BadEntries => new()
    {
        { "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__", ["appears twice"] },
        { "{\"__metadata__\":5}", 0, "__metadata__", ["expected an object of strings, found Number"] },
        { "{\"__metadata__\":{\"k\":1}}", 0, "__metadata__.k", ["expected a string, found Number"] },
        { "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "__metadata__.k", ["key appears twice"] },
        { "{" + T("a", "U8", "[1]", 0, 1) + "," + T("a", "U8", "[1]", 1, 2) + "}", 2, "a", ["tensor name appears twice in the header"] },
        { "{\"a\":5}", 0, "a", ["expected an object with dtype, shape and data_offsets, found Number"] },
        { "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "a.dtype", ["missing or not a string"] },
        { "{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "a.dtype", ["missing or not a string"] },
        { "{" + T("a", "F7", "[1]", 0, 4) + "}", 4, "a.dtype", ["unknown dtype \"F7\""] },
        { "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "a.shape", ["missing or not an array"] },
        { "{\"a\":{\"dtype\":\"U8\",\"shape\":5,\"data_offsets\":[0,1]}}", 1, "a.shape", ["missing or not an array"] },
        { "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 2, "a.data_offsets", ["expected 2 numbers, found 3"] },
        { "{" + T("a", "U8", "[\"1\"]", 0, 1) + "}", 1, "a.shape", ["item 0 is not an integer"] },
        { "{" + T("a", "U8", "[1,-1]", 0, 1) + "}", 1, "a.shape", ["item 1 is negative (-1)"] },
        { "{" + T("a", "U8", "[0]", 4, 0) + "}", 4, "a.data_offsets", ["end 0 is before begin 4"] },
        { "{" + T("a", "F32", "[2]", 0, 8) + "}", 4, "a.data_offsets", ["[0, 8] runs past the end of the data (4 bytes): truncated file?"] },
        { "{" + T("a", "U8", "[4294967296,4294967296]", 0, 0) + "}", 0, "a.shape", ["element count overflows"] },
        { "{" + T("a", "F32", "[4611686018427387904]", 0, 0) + "}", 0, "a.shape", ["byte size overflows"] },
        { "{" + T("a", "F32", "[2]", 4, 8) + "}", 8, "a", ["shape [2] of F32 needs 8 bytes but data_offsets span 4"] },
        { "{" + T("a", "F32", "[1]", 4, 8) + "}", 8, "a.data_offsets", ["begins at 4, leaving a gap after start of data (which ends at 0)"] },
        { "{" + T("a", "F32", "[2]", 0, 8) + "," + T("b", "F32", "[1]", 4, 8) + "}", 8, "b.data_offsets", ["[4, 8] overlaps a (which ends at 8)"] },
        { "{" + T("a", "F32", "[1]", 0, 4) + "," + T("b", "F32", "[1]", 8, 12) + "}", 12, "b.data_offsets", ["begins at 8, leaving a gap after a (which ends at 4)"] },
        { "{" + T("a", "F32", "[1]", 0, 4) + "}", 10, "data", ["6 bytes after the last tensor are not described by the header"] },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void BadEntriesAreRefusedWithFieldAndReason(string header, int dataBytes, string field, string[] words) =>
        Refuse(Build(header, dataBytes), field, words);

    [Fact]
    public void NullMetadataIsNoMetadata()
    {
        string path = Write(Build("{\"__metadata__\":null," + T("a", "U8", "[2]", 0, 2) + "}", 2));
        using var f = SafeTensorsFile.Open(path);
        Assert.Empty(f.Metadata);
        Assert.Equal(["a"], f.Names);
    }

    [Fact]
    public void TensorFactsForTensorsAfterTheFirst()
    {
        string path = Write(Build("{" + T("a", "F32", "[2,3]", 0, 24) + "," + T("b", "I16", "[4]", 24, 32) + "," + T("e", "F64", "[0,5]", 32, 32) + "}", 32));
        using var f = SafeTensorsFile.Open(path);
        var b = f.Info("b");
        Assert.Equal(4, b.ElementCount);
        Assert.Equal(8, b.ByteLength);
        Assert.Equal("[4]", b.ShapeString);
        Assert.Equal(6, f.Info("a").ElementCount);
        Assert.Equal("[2, 3]", f.Info("a").ShapeString);
        Assert.Equal(0, f.Info("e").ElementCount);
        Assert.Equal("[0, 5]", f.Info("e").ShapeString);
        Assert.Equal(8, f.RawSpan("b").Length);
        Assert.Equal("[]", new SafeTensorInfo("s", DType.F32, [], 0, 4).ShapeString);
        Assert.Equal(1, new SafeTensorInfo("s", DType.F32, [], 0, 4).ElementCount);
    }

    [Fact]
    public void ReadRefusalsNameTheTensorAndSayWhy()
    {
        string path = Write(Build("{" + T("a", "F32", "[2,3]", 0, 24) + "," + T("q", "F8_E4M3", "[2]", 24, 26) + "}", 26));
        using var f = SafeTensorsFile.Open(path);
        var missing = Assert.Throws<DataFormatError>(() => f.Info("zz"));
        Assert.Equal("zz", missing.Field);
        Assert.Equal("no tensor of that name in the file", missing.Problem);
        var wrongType = Assert.Throws<DataFormatError>(() => f.ReadArray<long>("a"));
        Assert.Equal(("a", "dtype is F32, expected I64"), (wrongType.Field, wrongType.Problem));
        var wrongShape = Assert.Throws<DataFormatError>(() => f.ReadFloat("a", 3, 2));
        Assert.Equal(("a", "shape is [2, 3], expected [3, 2]"), (wrongShape.Field, wrongShape.Problem));
        var f8 = Assert.Throws<DataFormatError>(() => f.ReadFloat("q"));
        Assert.Equal(("q", "dtype F8_E4M3 cannot be read as float32"), (f8.Field, f8.Problem));
        Assert.Equal(2, f.ReadRaw("q").Length);
    }

    [Fact]
    public void EntriesRefuseShapesTheyCannotHold()
    {
        Assert.Contains("a: negative dimension in shape [2, -1]",
            Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Raw("a", DType.U8, [2, -1], new byte[2])).Message);
        Assert.Contains("a: 3 bytes do not match shape [2] of F32",
            Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Raw("a", DType.F32, [2], new byte[3])).Message);
        Assert.Contains("a: float tensors are stored as F32, F16, BF16 or F64, not I32",
            Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Float("a", Tensor.FromArray([1f], 1), DType.I32)).Message);
        Assert.Contains("a: 3 values do not fill shape [2, 2]",
            Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Of("a", new int[3], 2, 2)).Message);
        Assert.Throws<OverflowException>(() => SafeTensorsEntry.Raw("a", DType.U8, [1L << 32, 1L << 32], new byte[0]));
        Assert.Throws<OverflowException>(() => SafeTensorsEntry.Raw("a", DType.F32, [1L << 62], new byte[0]));
        var e = SafeTensorsEntry.Raw("r", DType.I16, [3], new byte[6]);
        Assert.Equal((6L, DType.I16), (e.ByteLength, e.DType));
    }

    [Fact]
    public void WriterRefusalsSayWhy()
    {
        var t = Tensor.FromArray([1f], 1);
        Assert.Contains("\"__metadata__\" is reserved and cannot name a tensor",
            Assert.Throws<ArgumentException>(() => SafeTensors.Save(Path.Combine(_dir, "x"), [("__metadata__", t, DType.F32)])).Message);
        Assert.Contains("tensor name \"a\" appears twice",
            Assert.Throws<ArgumentException>(() => SafeTensors.Save(Path.Combine(_dir, "x"), [("a", t, DType.F32), ("a", t, DType.F32)])).Message);
    }

    [Fact]
    public void LargeFloatTensorsAreWrittenInChunksWithoutLoss()
    {
        // More than one 16384-element chunk, and not a multiple of it.
        var values = Enumerable.Range(0, 40_000).Select(i => (float)(i % 256) - 100).ToArray();
        var t = Tensor.FromArray(values, values.Length);
        var stream = new MemoryStream();
        SafeTensors.Write(stream, [SafeTensorsEntry.Float("h", t, DType.F16), SafeTensorsEntry.Float("d", t, DType.F64), SafeTensorsEntry.Float("b", t, DType.BF16)]);
        string path = Write(stream.ToArray());
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(values, f.ReadFloat("h").ToArray());
        Assert.Equal(values, f.ReadFloat("d").ToArray());
        Assert.Equal(values, f.ReadFloat("b").ToArray());
    }

    [Fact]
    public void WriteToAStreamGivesTheSameBytesAsSave()
    {
        var entries = new[] { SafeTensorsEntry.Of("z", new[] { 1, 2 }, 2), SafeTensorsEntry.Of("a", new[] { 3, 4 }, 2), SafeTensorsEntry.Of("m", new[] { 5 }, 1) };
        var meta = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1", ["c"] = "3" };
        string path = Path.Combine(_dir, "saved.safetensors");
        SafeTensors.Save(path, entries, meta);
        var stream = new MemoryStream();
        SafeTensors.Write(stream, entries, meta);
        Assert.Equal(File.ReadAllBytes(path), stream.ToArray());
        // Same-dtype tensors are laid out by ordinal name, and metadata keys are written in ordinal order.
        string header = Encoding.UTF8.GetString(stream.ToArray(), 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(stream.ToArray()));
        Assert.StartsWith("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"},\"a\":", header);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal((0L, 8L, 12L), (f.Info("a").Begin, f.Info("m").Begin, f.Info("z").Begin));
    }

    [Fact]
    public void EmptyMetadataIsNotWritten()
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream, [SafeTensorsEntry.Of("a", new byte[] { 1 }, 1)], new Dictionary<string, string>());
        Assert.DoesNotContain("__metadata__", Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>A write-only stream that cannot seek (a pipe or a network stream).</summary>
    sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }

    [Fact]
    public void WritesToStreamsThatCannotSeek()
    {
        var entries = new[] { SafeTensorsEntry.Of("a", new[] { 1, 2 }, 2), SafeTensorsEntry.Float("f", Tensor.FromArray([0.5f], 1), DType.F16) };
        var seekable = new MemoryStream();
        SafeTensors.Write(seekable, entries);
        var inner = new MemoryStream();
        SafeTensors.Write(new ForwardOnlyStream(inner), entries);
        Assert.Equal(seekable.ToArray(), inner.ToArray());
    }

    /// <summary>One U8 tensor "x" of <paramref name="length"/> zero bytes, stored sparse.</summary>
    string SparseU8(long length)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        byte[] header = Build("{" + T("x", "U8", $"[{length}]", 0, length) + "}", 0);
        using var s = new FileStream(path, FileMode.CreateNew);
        s.Write(header);
        s.SetLength(header.Length + length);
        return path;
    }

    [Fact]
    public void TensorsTooLargeForOneSpanOrArrayAreRefusedByName()
    {
        using (var exact = SafeTensorsFile.Open(SparseU8(int.MaxValue)))
            Assert.Equal(int.MaxValue, exact.RawSpan("x").Length); // the largest span there is

        using var f = SafeTensorsFile.Open(SparseU8(1L << 31));
        var span = Assert.Throws<DataFormatError>(() => f.RawSpan("x"));
        Assert.Equal(("x", "2147483648 bytes is too large for one span; read it in parts"), (span.Field, span.Problem));
        var tensor = Assert.Throws<DataFormatError>(() => f.ReadFloat("x"));
        Assert.Equal(("x", "2147483648 elements is too many for one in-memory tensor"), (tensor.Field, tensor.Problem));
    }
}
