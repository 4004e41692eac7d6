using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

public class PrecisionTests
{
    [Fact]
    public void Every_half_converts_to_float_exactly_and_back()
    {
        var halves = new Half[65536];
        for (int i = 0; i < halves.Length; i++) halves[i] = BitConverter.UInt16BitsToHalf((ushort)i);
        var floats = new float[halves.Length];
        Precision.ToSingle(halves, floats);
        var back = new Half[halves.Length];
        Precision.ToHalf(floats, back);
        for (int i = 0; i < halves.Length; i++)
        {
            float expected = (float)halves[i];
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(floats[i]));
                Assert.True(Half.IsNaN(back[i]));
                continue;
            }
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(floats[i]));
            Assert.Equal((ushort)i, BitConverter.HalfToUInt16Bits(back[i]));
        }
    }

    [Fact]
    public void Float_to_half_rounds_like_the_scalar_cast()
    {
        var rng = new Rng(11);
        var floats = new float[200_000];
        for (int i = 0; i < floats.Length; i++)
        {
            // Random bit patterns across the whole range, plus values near half's limits and subnormals.
            uint bits = i % 3 == 0 ? rng.NextUInt32() : (uint)rng.NextInt(0x3000_0000, 0x4800_0000) | (i % 2 == 0 ? 0x8000_0000u : 0);
            floats[i] = BitConverter.UInt32BitsToSingle(bits);
        }
        float[] specials = [0f, -0f, 65504f, 65519.99f, 65520f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            5.96e-8f, 2.98e-8f, 2.99e-8f, 6.1035156e-5f, 6.1e-5f, 1.0009766f, 1.00048828125f, 1.00146484375f];
        specials.CopyTo(floats, 0);
        var halves = new Half[floats.Length];
        Precision.ToHalf(floats, halves);
        for (int i = 0; i < floats.Length; i++)
        {
            Half expected = (Half)floats[i];
            if (Half.IsNaN(expected)) Assert.True(Half.IsNaN(halves[i]), $"NaN lost at {floats[i]}");
            else Assert.True(BitConverter.HalfToUInt16Bits(expected) == BitConverter.HalfToUInt16Bits(halves[i]),
                $"{floats[i]:R} ({BitConverter.SingleToUInt32Bits(floats[i]):X8}) gave {BitConverter.HalfToUInt16Bits(halves[i]):X4}, expected {BitConverter.HalfToUInt16Bits(expected):X4}");
        }
    }

    [Fact]
    public void BFloat16_known_bit_patterns_round_to_nearest_even_and_keep_NaN()
    {
        (float Input, ushort Bits)[] cases =
        [
            (1f, 0x3F80), (-2f, 0xC000), (0f, 0x0000), (-0f, 0x8000), (float.PositiveInfinity, 0x7F80),
            (BitConverter.UInt32BitsToSingle(0x3F80_8000), 0x3F80), // tie, even below: stays
            (BitConverter.UInt32BitsToSingle(0x3F81_8000), 0x3F82), // tie, odd below: rounds up to even
            (BitConverter.UInt32BitsToSingle(0x3F80_8001), 0x3F81), // just above the tie
            (BitConverter.UInt32BitsToSingle(0x7F7F_FFFF), 0x7F80), // float max rounds to infinity
            (BitConverter.UInt32BitsToSingle(0x7F80_0001), 0x7FC0), // signalling NaN with low payload stays NaN
            (3.140625f, 0x4049),
        ];
        var input = new float[40];
        for (int i = 0; i < input.Length; i++) input[i] = cases[i % cases.Length].Input;
        var output = new BFloat16[input.Length];
        Precision.ToBFloat16(input, output);
        for (int i = 0; i < input.Length; i++)
        {
            Assert.Equal(cases[i % cases.Length].Bits, output[i].Bits);
            Assert.Equal(cases[i % cases.Length].Bits, ((BFloat16)input[i]).Bits);
        }
        var back = new float[input.Length];
        Precision.ToSingle(output, back);
        for (int i = 0; i < input.Length; i++) Assert.Equal((float)output[i], back[i]);
        Assert.True(float.IsNaN(back[9]));
    }

    [Fact]
    public void BFloat16_round_trip_of_every_bfloat16_is_exact()
    {
        var all = new BFloat16[65536];
        for (int i = 0; i < all.Length; i++) all[i] = new BFloat16((ushort)i);
        var floats = new float[all.Length];
        Precision.ToSingle(all, floats);
        var back = new BFloat16[all.Length];
        Precision.ToBFloat16(floats, back);
        for (int i = 0; i < all.Length; i++)
        {
            if (float.IsNaN(floats[i])) Assert.True(float.IsNaN((float)back[i]));
            else Assert.Equal((ushort)i, back[i].Bits);
        }
    }
}
