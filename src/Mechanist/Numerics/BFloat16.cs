namespace Mechanist.Numerics;

/// <summary>
/// bfloat16: the top 16 bits of a float32 (8-bit exponent, 7-bit mantissa), for storage on disk and in
/// memory. Conversion from float rounds to nearest, ties to even; NaN stays NaN (quiet). Bulk spans
/// convert with <see cref="Precision"/>.
/// </summary>
public readonly record struct BFloat16(ushort Bits)
{
    public static explicit operator float(BFloat16 x) => BitConverter.UInt32BitsToSingle((uint)x.Bits << 16);

    public static explicit operator BFloat16(float x) => new(Round(BitConverter.SingleToUInt32Bits(x)));

    /// <summary>Round-to-nearest-even of float bits to their top half; NaNs get the quiet bit so they cannot round to infinity.</summary>
    internal static ushort Round(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    public override string ToString() => ((float)this).ToString();
}
