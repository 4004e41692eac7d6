using System.Numerics;

namespace Mechanist.Numerics;

/// <summary>Order statistics without sorting (AbsTopK's threshold per row, magnitude pruning's per tensor).</summary>
public static class Selection
{
    /// <summary>The k-th largest value (1-based) of <paramref name="a"/>, reordering it: Hoare quickselect with a middle
    /// pivot, O(length) on average. No NaN may be present.</summary>
    public static T KthLargest<T>(Span<T> a, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (k < 1 || k > a.Length) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} for {a.Length} values");
        int lo = 0, hi = a.Length - 1, target = k - 1; // index of the k-th largest in descending order
        while (lo < hi)
        {
            T pivot = a[lo + (hi - lo) / 2];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] > pivot) i++;
                while (a[j] < pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return a[target];
        }
        return a[target];
    }
}
