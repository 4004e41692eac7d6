using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Mechanist.Numerics;

namespace Mechanist.IO;

/// <summary>
/// Converts little-endian stored elements to and from float32. F16 uses <see cref="Half"/> (round to
/// nearest even); BF16 keeps the top 16 bits of a float32, rounding to nearest even on the way in and
/// widening by a shift on the way out. This assumes a little-endian machine (checked once).
/// </summary>
public static class ElementConversion
{
    static ElementConversion()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Mechanist.IO assumes a little-endian machine");
    }

    /// <summary>Converts dst.Length elements of <paramref name="type"/> from <paramref name="src"/> to float32.</summary>
    public static void ToFloat(ReadOnlySpan<byte> src, DType type, Span<float> dst)
    {
        int n = dst.Length;
        if (src.Length < (long)n * type.Size())
            throw new ArgumentException($"{src.Length} bytes hold fewer than {n} {type} elements");
        src = src[..(n * type.Size())];
        switch (type)
        {
            case DType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case DType.F16: HalfToFloat(MemoryMarshal.Cast<byte, Half>(src), dst); break;
            case DType.BF16: BFloat16ToFloat(MemoryMarshal.Cast<byte, ushort>(src), dst); break;
            case DType.F64: { var s = MemoryMarshal.Cast<byte, double>(src); for (int i = 0; i < n; i++) dst[i] = (float)s[i]; break; }
            case DType.I64: { var s = MemoryMarshal.Cast<byte, long>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.I32: { var s = MemoryMarshal.Cast<byte, int>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.I16: { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.I8: { var s = MemoryMarshal.Cast<byte, sbyte>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.U64: { var s = MemoryMarshal.Cast<byte, ulong>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.U32: { var s = MemoryMarshal.Cast<byte, uint>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.U16: { var s = MemoryMarshal.Cast<byte, ushort>(src); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case DType.U8: for (int i = 0; i < n; i++) dst[i] = src[i]; break;
            case DType.Bool: for (int i = 0; i < n; i++) dst[i] = src[i] != 0 ? 1f : 0f; break;
            default: throw new NotSupportedException($"{type} elements cannot be converted to float32");
        }
    }

    /// <summary>Stores src as <paramref name="type"/> (F32, F16, BF16 or F64) into dst (src.Length * size bytes).</summary>
    public static void FromFloat(ReadOnlySpan<float> src, DType type, Span<byte> dst)
    {
        int n = src.Length;
        if (dst.Length < (long)n * type.Size())
            throw new ArgumentException($"{dst.Length} bytes cannot hold {n} {type} elements");
        dst = dst[..(n * type.Size())];
        switch (type)
        {
            case DType.F32: src.CopyTo(MemoryMarshal.Cast<byte, float>(dst)); break;
            case DType.F16: FloatToHalf(src, MemoryMarshal.Cast<byte, Half>(dst)); break;
            case DType.BF16: FloatToBFloat16(src, MemoryMarshal.Cast<byte, ushort>(dst)); break;
            case DType.F64: { var d = MemoryMarshal.Cast<byte, double>(dst); for (int i = 0; i < n; i++) d[i] = src[i]; break; }
            default: throw new NotSupportedException($"float32 values are stored as F32, F16, BF16 or F64, not {type}");
        }
    }

    // The span conversions are Numerics.Precision's (Vector512, bit-exact with the scalar casts).
    public static void HalfToFloat(ReadOnlySpan<Half> src, Span<float> dst) => Precision.ToSingle(src[..dst.Length], dst);

    public static void FloatToHalf(ReadOnlySpan<float> src, Span<Half> dst) => Precision.ToHalf(src, dst);

    public static void BFloat16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst) =>
        Precision.ToSingle(MemoryMarshal.Cast<ushort, BFloat16>(src[..dst.Length]), dst);

    public static void FloatToBFloat16(ReadOnlySpan<float> src, Span<ushort> dst) => Precision.ToBFloat16(src, MemoryMarshal.Cast<ushort, BFloat16>(dst));

    public static float BFloat16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round to nearest, ties to even; NaN stays a (quiet) NaN instead of rounding to infinity.</summary>
    public static ushort FloatToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    internal static ulong ReadUInt64(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt64LittleEndian(b);
}
