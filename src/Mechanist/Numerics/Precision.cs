using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// Bulk conversion between float32 and the 16-bit storage formats (IEEE half, bfloat16), 16 values per
/// step with Vector512 where available (bit manipulation, identical to the scalar casts: round to
/// nearest even, subnormals kept, overflow to infinity, NaN stays NaN).
/// </summary>
public static class Precision
{
    public static void ToBFloat16(ReadOnlySpan<float> source, Span<BFloat16> destination)
    {
        CheckLengths(source.Length, destination.Length);
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        Span<ushort> dst = MemoryMarshal.Cast<BFloat16, ushort>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var quietBit = Vector512.Create(0x0040_0000u);
            var absMask = Vector512.Create(0x7FFF_FFFFu);
            var infinity = Vector512.Create(0x7F80_0000u);
            for (; i + 16 <= bits.Length; i += 16)
            {
                var x = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(bits), (nuint)i);
                var rounded = x + Vector512.Create(0x7FFFu) + ((x >> 16) & Vector512<uint>.One);
                var nan = Vector512.GreaterThan(x & absMask, infinity);
                var top = Vector512.ConditionalSelect(nan, x | quietBit, rounded) >> 16;
                Vector256.StoreUnsafe(Narrow(top), ref MemoryMarshal.GetReference(dst), (nuint)i);
            }
        }
        for (; i < bits.Length; i++) dst[i] = BFloat16.Round(bits[i]);
    }

    public static void ToSingle(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        ReadOnlySpan<ushort> src = MemoryMarshal.Cast<BFloat16, ushort>(source);
        Span<uint> dst = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= src.Length; i += 16)
            {
                var x = Vector512.WidenLower(Vector512.Create(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)i), Vector256<ushort>.Zero));
                Vector512.StoreUnsafe(x << 16, ref MemoryMarshal.GetReference(dst), (nuint)i);
            }
        for (; i < src.Length; i++) dst[i] = (uint)src[i] << 16;
    }

    public static void ToHalf(ReadOnlySpan<float> source, Span<Half> destination)
    {
        CheckLengths(source.Length, destination.Length);
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        Span<ushort> dst = MemoryMarshal.Cast<Half, ushort>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= bits.Length; i += 16)
            {
                var x = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(bits), (nuint)i);
                Vector256.StoreUnsafe(Narrow(FloatBitsToHalfBits(x)), ref MemoryMarshal.GetReference(dst), (nuint)i);
            }
        for (; i < bits.Length; i++) destination[i] = (Half)source[i];
    }

    public static void ToSingle(ReadOnlySpan<Half> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        ReadOnlySpan<ushort> src = MemoryMarshal.Cast<Half, ushort>(source);
        Span<uint> dst = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= src.Length; i += 16)
            {
                var h = Vector512.WidenLower(Vector512.Create(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(src), (nuint)i), Vector256<ushort>.Zero));
                Vector512.StoreUnsafe(HalfBitsToFloatBits(h), ref MemoryMarshal.GetReference(dst), (nuint)i);
            }
        for (; i < src.Length; i++) destination[i] = (float)source[i];
    }

    /// <summary>
    /// Float bits to half bits (in the low 16 of each lane), round to nearest even. Normal results add the
    /// exponent rebias and a rounding bias then shift; results that are subnormal in half come from adding
    /// a magic float whose exponent makes the FPU round the mantissa into place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<uint> FloatBitsToHalfBits(Vector512<uint> x)
    {
        var sign = x & Vector512.Create(0x8000_0000u);
        var f = x ^ sign;
        var tooBig = Vector512.GreaterThanOrEqual(f, Vector512.Create((127u + 16) << 23));
        var nan = Vector512.GreaterThan(f, Vector512.Create(0x7F80_0000u));
        var special = Vector512.ConditionalSelect(nan, Vector512.Create(0x7E00u), Vector512.Create(0x7C00u));
        var denormMagic = Vector512.Create(((127u - 15) + (23 - 10) + 1) << 23);
        var small = Vector512.LessThan(f, Vector512.Create(113u << 23));
        var subnormal = (Vector512.Add(f.AsSingle(), denormMagic.AsSingle()).AsUInt32() - denormMagic);
        var odd = (f >> 13) & Vector512<uint>.One;
        var normal = (f + Vector512.Create(unchecked((uint)((15 - 127) << 23)) + 0xFFFu) + odd) >> 13;
        var result = Vector512.ConditionalSelect(tooBig, special, Vector512.ConditionalSelect(small, subnormal, normal));
        return result | (sign >> 16);
    }

    /// <summary>Half bits to float bits: rebias the exponent; subnormal halves renormalise through one float subtraction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<uint> HalfBitsToFloatBits(Vector512<uint> h)
    {
        var shiftedExp = Vector512.Create(0x7C00u << 13);
        var o = (h & Vector512.Create(0x7FFFu)) << 13;
        var exp = o & shiftedExp;
        o += Vector512.Create((127u - 15) << 23);
        var infNan = Vector512.Equals(exp, shiftedExp);
        var zeroExp = Vector512.Equals(exp, Vector512<uint>.Zero);
        o = Vector512.ConditionalSelect(infNan, o + Vector512.Create((128u - 16) << 23), o);
        var magic = Vector512.Create(113u << 23);
        var renormalised = ((o + Vector512.Create(1u << 23)).AsSingle() - magic.AsSingle()).AsUInt32();
        o = Vector512.ConditionalSelect(zeroExp, renormalised, o);
        return o | ((h & Vector512.Create(0x8000u)) << 16);
    }

    /// <summary>16 lanes holding values below 2¹⁶ to 16 ushorts (truncating narrowing, exact here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ushort> Narrow(Vector512<uint> x) => Vector512.Narrow(x, Vector512<uint>.Zero).GetLower();

    static void CheckLengths(int source, int destination)
    {
        if (destination < source)
            throw new ArgumentException($"destination holds {destination} values, source has {source}");
    }
}
