using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Sae;

/// <summary>The k largest values of a row into a min-heap (topk's selection and AuxK's among the dead latents).</summary>
internal static class TopKHeap<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Top-k of z, skipping 16-lane blocks with nothing above the current k-th value; returns how many were taken.</summary>
    public static int Masked(ReadOnlySpan<T> z, int k, T[] heapValue, int[] heapIndex)
    {
        int n = 0, i = 0, m = z.Length;
        ref T rz = ref MemoryMarshal.GetReference(z);
        for (; i < m && n < k; i++) n = Push(heapValue, heapIndex, n, k, z[i], i);
        if (Vector512.IsHardwareAccelerated)
        {
            int lanes = Vector512<T>.Count;
            for (; i <= m - lanes; i += lanes)
            {
                ulong bits = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rz, (nuint)i), Vector512.Create(heapValue[0])).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int j = i + BitOperations.TrailingZeroCount(bits);
                    Push(heapValue, heapIndex, n, k, z[j], j);
                    bits &= bits - 1;
                }
            }
        }
        for (; i < m; i++) Push(heapValue, heapIndex, n, k, z[i], i);
        return n;
    }

    /// <summary>Top-k of z over the latents in <paramref name="among"/>; returns how many were taken.</summary>
    public static int Among(ReadOnlySpan<T> z, int k, T[] heapValue, int[] heapIndex, int[] among)
    {
        int n = 0;
        foreach (int i in among) n = Push(heapValue, heapIndex, n, k, z[i], i);
        return n;
    }

    /// <summary>Adds (v, i) to a min-heap of capacity k holding n items; returns the new count.</summary>
    static int Push(T[] heapValue, int[] heapIndex, int n, int k, T v, int i)
    {
        if (n < k)
        {
            int c = n++;
            while (c > 0)
            {
                int p = (c - 1) >> 1;
                if (heapValue[p] <= v) break;
                heapValue[c] = heapValue[p]; heapIndex[c] = heapIndex[p]; c = p;
            }
            heapValue[c] = v; heapIndex[c] = i;
            return n;
        }
        if (!(v > heapValue[0])) return n;
        int at = 0;
        while (true)
        {
            int l = 2 * at + 1;
            if (l >= k) break;
            int r = l + 1, s = r < k && heapValue[r] < heapValue[l] ? r : l;
            if (heapValue[s] >= v) break;
            heapValue[at] = heapValue[s]; heapIndex[at] = heapIndex[s]; at = s;
        }
        heapValue[at] = v; heapIndex[at] = i;
        return n;
    }
}
