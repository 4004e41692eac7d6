using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Sae;

/// <summary>The two vector primitives the sparse SAE passes are made of, SIMD for float and double alike.</summary>
static class VectorMath
{
    /// <summary>Σ a_j·b_j over the shorter length of the two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            var acc0 = Vector512<T>.Zero; var acc1 = Vector512<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                acc0 += Vector512.LoadUnsafe(ref ra, (nuint)i) * Vector512.LoadUnsafe(ref rb, (nuint)i);
                acc1 += Vector512.LoadUnsafe(ref ra, (nuint)(i + w)) * Vector512.LoadUnsafe(ref rb, (nuint)(i + w));
            }
            for (; i <= n - w; i += w) acc0 += Vector512.LoadUnsafe(ref ra, (nuint)i) * Vector512.LoadUnsafe(ref rb, (nuint)i);
            sum = Vector512.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
        return sum;
    }

    /// <summary>y ← y + α·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Math.Min(x.Length, y.Length), i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            var va = Vector512.Create(alpha);
            for (; i <= n - w; i += w)
                (Vector512.LoadUnsafe(ref ry, (nuint)i) + va * Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) += alpha * Unsafe.Add(ref rx, i);
    }

    /// <summary>y ← α·x (overwrite).</summary>
    public static void Scale<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = alpha * x[i];
    }

    /// <summary>Runs body(start, end, worker) over [0, n) split into contiguous ranges, one per worker.</summary>
    public static void ForRanges(int n, int workers, Action<int, int, int> body)
    {
        workers = Math.Max(1, Math.Min(workers, n));
        if (workers == 1) { body(0, n, 0); return; }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
            w => body((int)((long)n * w / workers), (int)((long)n * (w + 1) / workers), w));
    }
}
