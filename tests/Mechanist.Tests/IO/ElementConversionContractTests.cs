using System.Runtime.InteropServices;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// Each stored integer and boolean dtype widens to float32 element by element, sizes are checked before
/// converting, and the dtype names and sizes are the ones the formats use.
/// </summary>
public class ElementConversionContractTests
{
    static float[] Widen<T>(T[] values, DType type) where T : unmanaged
    {
        var dst = new float[values.Length];
        ElementConversion.ToFloat(MemoryMarshal.AsBytes(values.AsSpan()), type, dst);
        return dst;
    }

    [Fact]
    public void EachIntegerDTypeWidensEveryElement()
    {
        Assert.Equal([-3f, 0f, 1e12f], Widen(new long[] { -3, 0, 1_000_000_000_000 }, DType.I64));
        Assert.Equal([-7f, 2147483648f], Widen(new[] { -7, int.MaxValue }, DType.I32));
        Assert.Equal([-32768f, 5f, 32767f], Widen(new short[] { short.MinValue, 5, short.MaxValue }, DType.I16));
        Assert.Equal([-128f, -1f, 127f], Widen(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }, DType.I8));
        Assert.Equal([0f, 18446744073709551616f], Widen(new ulong[] { 0, ulong.MaxValue }, DType.U64));
        Assert.Equal([4294967296f, 3f], Widen(new uint[] { uint.MaxValue, 3 }, DType.U32));
        Assert.Equal([65535f, 9f], Widen(new ushort[] { ushort.MaxValue, 9 }, DType.U16));
        Assert.Equal([255f, 0f, 128f], Widen(new byte[] { 255, 0, 128 }, DType.U8));
        Assert.Equal([1f, 0f, 1f, 1f], Widen(new byte[] { 1, 0, 2, 255 }, DType.Bool));
        Assert.Equal([0.5f, -2f], Widen(new[] { 0.5, -2.0 }, DType.F64));
    }

    [Fact]
    public void ExtraSourceBytesAreIgnoredAndTooFewAreRefused()
    {
        var dst = new float[2];
        ElementConversion.ToFloat(MemoryMarshal.AsBytes(new[] { 1f, 2f, 3f }.AsSpan()), DType.F32, dst);
        Assert.Equal([1f, 2f], dst);
        var e = Assert.Throws<ArgumentException>(() => ElementConversion.ToFloat(new byte[7], DType.F32, dst));
        Assert.Equal("7 bytes hold fewer than 2 F32 elements", e.Message);
        var f = Assert.Throws<ArgumentException>(() => ElementConversion.FromFloat([1f, 2f], DType.F16, new byte[3]));
        Assert.Equal("3 bytes cannot hold 2 F16 elements", f.Message);
        var bytes = new byte[6];
        ElementConversion.FromFloat([1f], DType.F32, bytes); // a longer destination is fine
        Assert.Equal(1f, BitConverter.ToSingle(bytes));
    }

    [Fact]
    public void DTypesWithoutAFloatConversionAreRefusedByName()
    {
        Assert.Equal("F8E4M3 elements cannot be converted to float32",
            Assert.Throws<NotSupportedException>(() => ElementConversion.ToFloat(new byte[2], DType.F8E4M3, new float[2])).Message);
        Assert.Equal("float32 values are stored as F32, F16, BF16 or F64, not I32",
            Assert.Throws<NotSupportedException>(() => ElementConversion.FromFloat([1f], DType.I32, new byte[4])).Message);
        Assert.False(DType.F8E4M3.ConvertsToFloat());
        Assert.False(DType.F8E5M2.ConvertsToFloat());
        Assert.True(DType.Bool.ConvertsToFloat());
        Assert.True(DType.BF16.ConvertsToFloat());
    }

    [Fact]
    public void SafeTensorsNamesRoundTripForEveryDType()
    {
        Assert.Equal("BOOL", DType.Bool.SafeTensorsName());
        Assert.Equal("F8_E4M3", DType.F8E4M3.SafeTensorsName());
        Assert.Equal("F8_E5M2", DType.F8E5M2.SafeTensorsName());
        Assert.Equal("BF16", DType.BF16.SafeTensorsName());
        foreach (var t in Enum.GetValues<DType>())
        {
            Assert.True(DTypes.TryParseSafeTensorsName(t.SafeTensorsName(), out var back));
            Assert.Equal(t, back);
        }
        Assert.False(DTypes.TryParseSafeTensorsName("Bool", out _));
        Assert.False(DTypes.TryParseSafeTensorsName("F8E4M3", out _));
        Assert.False(DTypes.TryParseSafeTensorsName("", out _));
    }

    [Fact]
    public void TypesWithNoDTypeAreRefused() =>
        Assert.Equal("no storage dtype for Char", Assert.Throws<ArgumentException>(() => DTypes.Of<char>()).Message);

    [Fact]
    public void BFloat16NaNStaysQuietNaNWithItsSign()
    {
        // A signalling NaN payload in the low bits would vanish when truncated; the quiet bit keeps it a NaN.
        Assert.Equal(0x7FC0, ElementConversion.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x7F800001)));
        Assert.Equal(0xFFC0, ElementConversion.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0xFF800001)));
        Assert.Equal(0xBF80, ElementConversion.FloatToBFloat16(-1f));
        Assert.Equal(-1f, ElementConversion.BFloat16ToFloat(0xBF80));
    }
}
