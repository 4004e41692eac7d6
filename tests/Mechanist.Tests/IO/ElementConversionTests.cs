using System.Runtime.InteropServices;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>The vectorised conversions must agree bit for bit with System.Half and the scalar BF16 rounding.</summary>
public class ElementConversionTests
{
    static bool SameFloat(float a, float b) =>
        BitConverter.SingleToUInt32Bits(a) == BitConverter.SingleToUInt32Bits(b) || (float.IsNaN(a) && float.IsNaN(b));

    [Fact]
    public void HalfToFloatIsExactForAllHalves()
    {
        var halves = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var floats = new float[halves.Length];
        ElementConversion.ToFloat(MemoryMarshal.AsBytes(halves.AsSpan()), DType.F16, floats);
        for (int i = 0; i < halves.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(halves[i]);
            Assert.True(SameFloat(expected, floats[i]), $"half 0x{i:X4}: expected {expected}, got {floats[i]}");
        }
    }

    static float[] Probes()
    {
        var rng = new Random(7);
        var values = new List<float>();
        for (int i = 0; i < 1 << 20; i++) values.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)));
        for (int i = 0; i < 1 << 18; i++) values.Add((float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-30, 20)));
        // Every float that lies exactly halfway between two halves (ties), and its neighbours, over all exponents.
        for (uint h = 0; h < 0x7C00; h += 7)
        {
            float lo = (float)BitConverter.UInt16BitsToHalf((ushort)h), hi = (float)BitConverter.UInt16BitsToHalf((ushort)(h + 1));
            float mid = (lo + hi) / 2;
            values.AddRange([mid, MathF.BitIncrement(mid), MathF.BitDecrement(mid), -mid]);
        }
        values.AddRange([0f, -0f, 65504f, 65519.996f, 65520f, 1e9f, float.MaxValue, float.Epsilon, 6.1035156e-5f, 5.9604645e-8f,
            2.9802322e-8f, 2.9802326e-8f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN]);
        return values.ToArray();
    }

    [Fact]
    public void FloatToHalfMatchesSystemHalf()
    {
        var values = Probes();
        var bytes = new byte[values.Length * 2];
        ElementConversion.FromFloat(values, DType.F16, bytes);
        var halves = MemoryMarshal.Cast<byte, Half>(bytes);
        for (int i = 0; i < values.Length; i++)
        {
            Half expected = (Half)values[i];
            bool ok = BitConverter.HalfToUInt16Bits(expected) == BitConverter.HalfToUInt16Bits(halves[i]) || (Half.IsNaN(expected) && Half.IsNaN(halves[i]));
            Assert.True(ok, $"{values[i]:R} (0x{BitConverter.SingleToUInt32Bits(values[i]):X8}): expected 0x{BitConverter.HalfToUInt16Bits(expected):X4}, got 0x{BitConverter.HalfToUInt16Bits(halves[i]):X4}");
        }
    }

    [Fact]
    public void FloatToBFloat16VectorMatchesScalar()
    {
        var values = Probes();
        var bits = new ushort[values.Length];
        ElementConversion.FloatToBFloat16(values, bits);
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(ElementConversion.FloatToBFloat16(values[i]), bits[i]);
    }
}
