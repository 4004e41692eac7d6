using System.Runtime.CompilerServices;

namespace Mechanist.Numerics;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014; the constants
/// of Vigna's reference code): a 64-bit counter stepped by the golden ratio and passed through a strong
/// mixer. The one home of the mixer and the tiny generator the pipeline uses for seeded hashes, keyed
/// shuffles and derived seeds, where <see cref="Rng"/> (Philox) would be more than needed. Its sequence
/// is fixed by these few lines, never by a .NET version, so a saved seed keeps meaning the same data.
/// </summary>
public struct SplitMix64(ulong state)
{
    /// <summary>2⁶⁴/φ, the step between states; also the multiplier of Fibonacci hashing.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    ulong _state = state;

    /// <summary>The output function: a bijective 64-bit mixer (every input bit affects every output bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Steps <paramref name="state"/> and returns the next value: the generator over a bare counter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Next(ref ulong state) => Mix(state += Gamma);

    /// <summary>The next 64 random bits.</summary>
    public ulong Next() => Next(ref _state);

    /// <summary>The top 53 bits of <paramref name="bits"/> as a double on [0, 1).</summary>
    public static double ToUnit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));
}
