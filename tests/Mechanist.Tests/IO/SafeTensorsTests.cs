using System.Buffers.Binary;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

public class SafeTensorsTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("safetensors");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>8-byte LE length, header, data: the layout of the specification, built by hand.</summary>
    static byte[] Build(string header, byte[] data, ulong? lengthOverride = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    string WriteFile(byte[] bytes, string name = "t.safetensors")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsHandBuiltFileFromTheSpecification()
    {
        var data = new byte[16];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4 * i), i - 1);
        string path = WriteFile(Build(
            "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"__metadata__\":{\"foo\":\"bar\"}}", data));
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(["test"], f.Names);
        Assert.Equal("bar", f.Metadata["foo"]);
        var info = f.Info("test");
        Assert.Equal(DType.I32, info.DType);
        Assert.Equal([2L, 2L], info.Shape);
        Assert.Equal((0L, 16L), (info.Begin, info.End));
        Assert.Equal([-1, 0, 1, 2], f.ReadArray<int>("test"));
        var t = f.ReadFloat("test");
        Assert.Equal([2, 2], t.Shape);
        Assert.Equal([-1f, 0f, 1f, 2f], t.ToArray());
        Assert.Equal(data, f.ReadRaw("test"));
    }

    [Fact]
    public void WriterProducesTheRustLayoutByteForByte()
    {
        // What the reference implementation writes for {"a": F16[3], "b": F32[2], "c": I64[1]} with
        // metadata {"format": "pt"}: compact JSON, __metadata__ first, data ordered by element size
        // (largest first) then name, header padded with spaces to a multiple of 8.
        string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            + "\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]}}";
        json += new string(' ', (8 - json.Length % 8) % 8);
        var data = new byte[22];
        BinaryPrimitives.WriteInt64LittleEndian(data, 7);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(12), -2f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(16), (Half)0.5f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(18), (Half)1f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(20), (Half)(-3f));
        byte[] expected = Build(json, data);

        string path = Path.Combine(_dir, "w.safetensors");
        SafeTensors.Save(path, [
            SafeTensorsEntry.Float("a", Tensor.FromArray([0.5f, 1f, -3f], 3), DType.F16),
            SafeTensorsEntry.Float("b", Tensor.FromArray([1.5f, -2f], 2)),
            SafeTensorsEntry.Of("c", new long[] { 7 }, 1),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(expected, File.ReadAllBytes(path));
        Assert.Equal(0, (8 + json.Length) % 8);
    }

    [Fact]
    public void EmptyFileAndDTypeOrderMatchTheReferenceWriter()
    {
        string empty = Path.Combine(_dir, "empty.safetensors");
        SafeTensors.Save(empty, Array.Empty<SafeTensorsEntry>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], File.ReadAllBytes(empty));

        // Within one element size the reference orders by its Dtype enum (U64, I64, F64; F32, U32, I32), not by name.
        string path = Path.Combine(_dir, "order.safetensors");
        SafeTensors.Save(path, [
            SafeTensorsEntry.Of("a", new long[] { 1 }, 1), SafeTensorsEntry.Of("b", new double[] { 1 }, 1),
            SafeTensorsEntry.Of("c", new ulong[] { 1 }, 1), SafeTensorsEntry.Of("d", new int[] { 1 }, 1),
            SafeTensorsEntry.Of("e", new float[] { 1 }, 1), SafeTensorsEntry.Of("f", new uint[] { 1 }, 1),
            SafeTensorsEntry.Of("g", new Half[] { (Half)1 }, 1), SafeTensorsEntry.Of("h", new bool[] { true }, 1),
        ]);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(["c", "a", "b", "e", "f", "d", "g", "h"], f.Names.OrderBy(n => f.Info(n).Begin));
    }

    [Fact]
    public void RoundTripsEveryDType()
    {
        var values = new float[] { 0f, 1f, -1.5f, 3.140625f, 65504f, -1e-3f };
        var t = Tensor.FromArray(values, 2, 3);
        string path = Path.Combine(_dir, "all.safetensors");
        SafeTensors.Save(path, [
            SafeTensorsEntry.Float("f32", t, DType.F32),
            SafeTensorsEntry.Float("f16", t, DType.F16),
            SafeTensorsEntry.Float("bf16", t, DType.BF16),
            SafeTensorsEntry.Float("f64", t, DType.F64),
            SafeTensorsEntry.Of("i32", new[] { int.MinValue, -1, 0, int.MaxValue }, 2, 2),
            SafeTensorsEntry.Of("i64", new[] { long.MinValue, long.MaxValue, 5L }, 3),
            SafeTensorsEntry.Of("u8", new byte[] { 0, 128, 255 }, 3),
            SafeTensorsEntry.Of("i16", new short[] { -7, 7 }, 2),
            SafeTensorsEntry.Of("bool", new[] { true, false, true }, 3),
            SafeTensorsEntry.Of("scalar", new[] { 42 }),
            SafeTensorsEntry.Of("empty", Array.Empty<float>(), 0, 4),
        ], new Dictionary<string, string> { ["note"] = "ünïcode ✓", ["quote"] = "a\"b" });

        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(["bf16", "bool", "empty", "f16", "f32", "f64", "i16", "i32", "i64", "scalar", "u8"], f.Names);
        Assert.Equal("ünïcode ✓", f.Metadata["note"]);
        Assert.Equal("a\"b", f.Metadata["quote"]);
        Assert.Equal(values, f.ReadFloat("f32").ToArray());
        Assert.Equal(values, f.ReadFloat("f64").ToArray());
        Assert.Equal(values.Select(v => (float)(Half)v), f.ReadFloat("f16").ToArray());
        Assert.Equal(values.Select(v => ElementConversion.BFloat16ToFloat(ElementConversion.FloatToBFloat16(v))), f.ReadFloat("bf16").ToArray());
        Assert.Equal([2, 3], f.ReadFloat("bf16", 2, 3).Shape);
        Assert.Equal(DType.BF16, f.Info("bf16").DType);
        Assert.Equal([int.MinValue, -1, 0, int.MaxValue], f.ReadArray<int>("i32"));
        Assert.Equal([long.MinValue, long.MaxValue, 5L], f.ReadArray<long>("i64"));
        Assert.Equal([0, 128, 255], f.ReadArray<byte>("u8"));
        Assert.Equal([-7, 7], f.ReadArray<short>("i16"));
        Assert.Equal([true, false, true], f.ReadArray<bool>("bool"));
        Assert.Equal([42], f.ReadArray<int>("scalar"));
        Assert.Empty(f.Info("scalar").Shape);
        Assert.Equal([0, 4], f.ReadFloat("empty").Shape);
        // Every tensor starts on a multiple of its element size, counted from the file's start.
        foreach (var name in f.Names)
            Assert.Equal(0, (f.DataStart + f.Info(name).Begin) % f.Info(name).DType.Size());
        var wrongType = Assert.Throws<DataFormatError>(() => f.ReadArray<long>("i32"));
        Assert.Contains("i32", wrongType.Message);
        Assert.Throws<DataFormatError>(() => f.ReadFloat("f32", 3, 2));
        Assert.Contains("missing", Assert.Throws<DataFormatError>(() => f.Info("missing")).Message);
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, ElementConversion.FloatToBFloat16(1f));
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        Assert.Equal(0x3F80, ElementConversion.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000)));
        // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up.
        Assert.Equal(0x3F82, ElementConversion.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000)));
        Assert.Equal(0x3F81, ElementConversion.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(ElementConversion.BFloat16ToFloat(ElementConversion.FloatToBFloat16(float.NaN))));
        Assert.Equal(float.PositiveInfinity, ElementConversion.BFloat16ToFloat(ElementConversion.FloatToBFloat16(float.PositiveInfinity)));
        // The vector path and the scalar path agree.
        var bits = Enumerable.Range(0, 37).Select(i => (ushort)(i * 1733)).ToArray();
        var wide = new float[bits.Length];
        ElementConversion.BFloat16ToFloat(bits, wide);
        for (int i = 0; i < bits.Length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(ElementConversion.BFloat16ToFloat(bits[i])), BitConverter.SingleToUInt32Bits(wide[i]));
    }

    public static TheoryData<string, string, int, ulong?, string> Malformed => new()
    {
        // header json, data bytes, length override, expected field in the message
        { "bad json", "{\"a\":", 0, null, "header" },
        { "not an object", "[1,2]", 0, null, "header" },
        { "entry not an object", "{\"a\":5}", 0, null, "a" },
        { "unknown dtype", "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, null, "a.dtype" },
        { "missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, null, "a.data_offsets" },
        { "shape size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, null, "a" },
        { "offsets out of range", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, null, "a.data_offsets" },
        { "end before begin", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, null, "a.data_offsets" },
        { "overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, null, "b.data_offsets" },
        { "hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, null, "b.data_offsets" },
        { "trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, null, "data" },
        { "negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, null, "a.shape" },
        { "fractional dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, null, "a.shape" },
        { "overflowing shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, null, "a.shape" },
        { "duplicate name", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, null, "a" },
        { "metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, null, "__metadata__.k" },
        { "header length past end", "{}", 0, 1000UL, "header length" },
        { "absurd header length", "{}", 0, 1UL << 60, "header length" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesGiveDataFormatErrorNamingFileAndField(string name, string header, int dataBytes, ulong? length, string field)
    {
        string path = WriteFile(Build(header, new byte[dataBytes], length), name.Replace(' ', '-') + ".safetensors");
        var e = Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void TooShortAndInvalidUtf8Files()
    {
        var shortFile = WriteFile([1, 2, 3], "short.safetensors");
        Assert.Equal("header length", Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(shortFile)).Field);
        var empty = WriteFile([], "empty.safetensors");
        Assert.Equal("header length", Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(empty)).Field);
        var bytes = Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", []);
        bytes[11] = 0xFF; // inside the name "a"
        var bad = WriteFile(bytes, "utf8.safetensors");
        Assert.Equal("header", Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(bad)).Field);
    }

    [Fact]
    public void EveryTruncationAndByteFlipIsRejectedCleanly()
    {
        string good = Path.Combine(_dir, "good.safetensors");
        SafeTensors.Save(good, [
            SafeTensorsEntry.Float("w", Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2), DType.BF16),
            SafeTensorsEntry.Of("ids", new long[] { 1, 2 }, 2),
        ]);
        byte[] bytes = File.ReadAllBytes(good);
        for (int n = 0; n < bytes.Length; n++)
        {
            string path = WriteFile(bytes[..n], "cut.safetensors");
            Assert.Throws<DataFormatError>(() => SafeTensorsFile.Open(path));
        }
        var rng = new Random(1);
        for (int trial = 0; trial < 300; trial++)
        {
            var copy = (byte[])bytes.Clone();
            copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
            string path = WriteFile(copy, "flip.safetensors");
            try
            {
                using var f = SafeTensorsFile.Open(path);
                foreach (var name in f.Names) { f.ReadRaw(name); if (f.Info(name).DType.ConvertsToFloat()) f.ReadFloat(name); }
            }
            catch (DataFormatError) { }
        }
    }

    [Fact]
    public void WriterRejectsBadEntries()
    {
        var t = Tensor.FromArray([1f], 1);
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(Path.Combine(_dir, "x"), [("a", t, DType.F32), ("a", t, DType.F32)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(Path.Combine(_dir, "x"), [("__metadata__", t, DType.F32)]));
        Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Float("a", t, DType.I32));
        Assert.Throws<ArgumentException>(() => SafeTensorsEntry.Of("a", new int[3], 2, 2));
        Assert.False(File.Exists(Path.Combine(_dir, "x")));
    }
}
