using System.Numerics;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// Activation sparsity by magnitude (WS25's AbsTopK, docs/METHODS.md §6.1): each row keeps its k entries of largest
/// |x| and zeroes the rest. The k-th largest magnitude is found by selection (quickselect, O(width) per row, not a
/// sort); entries above it are kept, and of those equal to it the lowest columns fill the remaining places, so
/// exactly k entries per row are kept whatever the ties (many exact zeros are common in a weight-sparse model).
/// </summary>
public static class AbsTopK
{
    /// <summary>y = x on the kept entries, 0 elsewhere; kept[i] = 1 where entry i is kept (the backward's mask).</summary>
    public static void Forward<T>(Tensor<T> x, int k, Tensor<T> y, Span<byte> kept) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        if (k < 1 || k > d) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} must be between 1 and the row length {d}");
        if (kept.Length != x.Length || y.Length != x.Length) throw new ArgumentException("AbsTopK: output and mask must match the input");
        unsafe
        {
            fixed (byte* keptPtr = kept)
            {
                byte* keptP = keptPtr;
                RowParallel.For(rows, 64, (start, end) =>
                {
                    var magnitudes = new T[d];
                    for (int r = start; r < end; r++)
                        Row(x.Row(r), k, y.Row(r), new Span<byte>(keptP + (long)r * d, d), magnitudes);
                });
            }
        }
    }

    static void Row<T>(ReadOnlySpan<T> x, int k, Span<T> y, Span<byte> kept, T[] magnitudes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = x.Length;
        if (k == d)
        {
            x.CopyTo(y);
            kept.Fill(1);
            return;
        }
        for (int j = 0; j < d; j++) magnitudes[j] = T.Abs(x[j]);
        T threshold = Selection.KthLargest<T>(magnitudes, k);
        int above = 0;
        for (int j = 0; j < d; j++) if (T.Abs(x[j]) > threshold) above++;
        int ties = k - above; // entries equal to the threshold still to keep, lowest columns first
        for (int j = 0; j < d; j++)
        {
            T m = T.Abs(x[j]);
            bool keep = m > threshold || (m == threshold && ties-- > 0);
            y[j] = keep ? x[j] : T.Zero;
            kept[j] = keep ? (byte)1 : (byte)0;
        }
    }
}
