using Mechanist.Numerics;

namespace Mechanist.Activations;

/// <summary>
/// A keyed pseudo-random permutation of [0, n) computed one index at a time in O(1) memory: a balanced
/// Feistel network over the smallest even power of two ≥ n, with cycle walking to stay inside [0, n)
/// (a permutation of the larger domain restricted this way is still a permutation of [0, n)). So a store
/// of a billion rows can be visited in random order without a billion-entry index array, and a position
/// in the order is just a number, which makes exact resume trivial.
/// </summary>
public sealed class RandomPermutation
{
    const int Rounds = 6;
    readonly ulong[] _keys = new ulong[Rounds];
    readonly int _halfBits;
    readonly ulong _halfMask;

    public long Count { get; }

    public RandomPermutation(long count, ulong key)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        Count = count;
        int bits = count <= 1 ? 2 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(count - 1));
        _halfBits = Math.Max(1, (bits + 1) / 2);
        _halfMask = (1UL << _halfBits) - 1;
        ulong state = key;
        for (int i = 0; i < Rounds; i++) _keys[i] = SplitMix64.Next(ref state);
    }

    /// <summary>The element at position <paramref name="index"/> of the permuted order.</summary>
    public long this[long index]
    {
        get
        {
            if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index));
            ulong x = (ulong)index;
            do x = Encrypt(x); while (x >= (ulong)Count);
            return (long)x;
        }
    }

    ulong Encrypt(ulong x)
    {
        ulong left = x >> _halfBits, right = x & _halfMask;
        for (int r = 0; r < Rounds; r++)
        {
            ulong next = left ^ (SplitMix64.Mix(right ^ _keys[r]) & _halfMask);
            left = right;
            right = next;
        }
        return (left << _halfBits) | right;
    }
}
