using System.Runtime.CompilerServices;
using Mechanist.Numerics;

namespace Mechanist.Text;

/// <summary>
/// Open-addressing hash table from a pair of token ids to the rank of the merge that joins them: the
/// innermost lookup of BPE encoding, several times faster than a Dictionary&lt;long, int&gt;.
/// </summary>
sealed class PairTable
{
    readonly ulong[] _keys;   // (left << 32 | right) + 1; 0 marks an empty slot
    readonly int[] _values;
    readonly int _mask;

    public PairTable(int capacity)
    {
        int size = 16;
        while (size < capacity * 2) size <<= 1;
        _keys = new ulong[size];
        _values = new int[size];
        _mask = size - 1;
    }

    static ulong Key(int left, int right) => ((ulong)(uint)left << 32 | (uint)right) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Hash(ulong key) => (int)((key * SplitMix64.Gamma) >> 32);

    /// <summary>Adds the pair unless it is already present (then the existing value is kept).</summary>
    public void AddIfAbsent(int left, int right, int value)
    {
        ulong key = Key(left, right);
        for (int i = Hash(key) & _mask; ; i = (i + 1) & _mask)
        {
            if (_keys[i] == key) return;
            if (_keys[i] == 0) { _keys[i] = key; _values[i] = value; return; }
        }
    }

    /// <summary>The value stored for the pair, or <see cref="int.MaxValue"/> when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Get(int left, int right)
    {
        ulong key = Key(left, right);
        var keys = _keys;
        for (int i = Hash(key) & _mask; ; i = (i + 1) & _mask)
        {
            ulong k = keys[i];
            if (k == key) return _values[i];
            if (k == 0) return int.MaxValue;
        }
    }
}
