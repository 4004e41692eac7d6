using System.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Numerics.Sparse;

/// <summary>
/// Products of a dense matrix with a sparse one in compressed rows (<see cref="SparsePattern"/> + values), the
/// three products of a weight-sparse linear layer y = x·Wᵀ:
/// <list type="bullet">
/// <item><see cref="MultiplyTransposed{T}"/>: C = A·Sᵀ (forward with S = W; dx = dy·W with S = Wᵀ).</item>
/// <item><see cref="SampledProductAdd{T}"/>: dense += (Bᵀ·A) at S's entries only (dW at the kept weights, SDDMM).</item>
/// </list>
/// float32 runs tiled SIMD kernels (<see cref="SparseTiles"/>) on <see cref="Parallelism.Threads"/> threads;
/// other types (float64 for gradient checks) a plain loop. Results do not depend on the thread count: every
/// output element is summed by one thread in the pattern's order.
/// </summary>
public static unsafe class SparseGemm
{
    /// <summary>
    /// Density at or below which the sparse products beat our dense GEMM at a weight-sparse model's shapes
    /// (forward and dx; measured by `mechanist bench sparse`, see bench/README.md "Sparse kernels"). Above it, use
    /// the dense ops on the weights with the pruned entries zeroed.
    /// </summary>
    public const double CrossoverDensity = 1.0 / 16;

    /// <summary>Below this many multiply-adds one thread is faster than waking a second (≈ Gemm's 128³).</summary>
    const long ParallelThreshold = 1L << 19;

    /// <summary>
    /// C[n, S.Rows] = A[n, S.Columns]·Sᵀ, or C += A·Sᵀ when <paramref name="accumulate"/>. A and C are row-major
    /// with rows S.Columns and S.Rows wide; <paramref name="values"/> are S's entries in pattern order.
    /// </summary>
    public static void MultiplyTransposed<T>(ReadOnlySpan<T> a, int n, SparsePattern s, ReadOnlySpan<T> values, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(a.Length, n, s.Columns, "A", s, values.Length);
        Check(c.Length, n, s.Rows, "C", s, values.Length);
        fixed (T* pa = a) fixed (T* pv = values) fixed (T* pc = c)
        {
            if (typeof(T) == typeof(float)) MultiplyTransposedFloat((float*)pa, n, s, (float*)pv, (float*)pc, accumulate);
            else MultiplyTransposedReference(pa, n, s, pv, pc, accumulate);
        }
    }

    /// <summary>
    /// dense[r, j] += Σ_t B[t, r]·A[t, j] for each entry (r, j) of S, nothing elsewhere: B is [n, S.Rows], A is
    /// [n, S.Columns] and dense [S.Rows, S.Columns], all row-major.
    /// </summary>
    public static void SampledProductAdd<T>(ReadOnlySpan<T> b, ReadOnlySpan<T> a, int n, SparsePattern s, Span<T> dense)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(b.Length, n, s.Rows, "B", s, s.NonZeros);
        Check(a.Length, n, s.Columns, "A", s, s.NonZeros);
        if (dense.Length != (long)s.Rows * s.Columns) throw new ArgumentException($"sampled product: {dense.Length} values are not a {s.Rows}×{s.Columns} matrix");
        fixed (T* pb = b) fixed (T* pa = a) fixed (T* pd = dense)
        {
            if (typeof(T) == typeof(float)) SampledFloat((float*)pb, (float*)pa, n, s, (float*)pd);
            else SampledReference(pb, pa, n, s, pd);
        }
    }

    static void Check(int length, int n, int width, string name, SparsePattern s, int values)
    {
        if (n < 0 || length != (long)n * width)
            throw new ArgumentException($"sparse product: {name} has {length} values, not {n} rows of {width} (pattern {s.Rows}×{s.Columns})");
        if (values != s.NonZeros) throw new ArgumentException($"sparse product: {values} values for a pattern of {s.NonZeros} entries");
    }

    static void MultiplyTransposedFloat(float* a, int n, SparsePattern s, float* values, float* c, bool accumulate)
    {
        const int tile = SparseTiles.Tile;
        int tiles = (n + tile - 1) / tile;
        int workers = (long)n * s.NonZeros < ParallelThreshold ? 1 : Math.Min(Parallelism.Threads, tiles);
        nint pa = (nint)a, pv = (nint)values, pc = (nint)c;
        RowParallel.ForRanges(tiles, workers, (first, last, _) =>
        {
            var scratch = SparseTiles.Scratch.Current;
            float* at = scratch.First((nint)s.Columns * tile), ct = scratch.Second((nint)s.Rows * tile);
            fixed (int* offsets = s.Offsets) fixed (int* indices = s.Indices)
                for (int t = first; t < last; t++)
                {
                    int t0 = t * tile, tokens = Math.Min(tile, n - t0);
                    SparseTiles.TransposeIn((float*)pa + (nint)t0 * s.Columns, s.Columns, tokens, s.Columns, at);
                    SparseTiles.RowsTimesTile(0, s.Rows, offsets, indices, (float*)pv, at, ct);
                    SparseTiles.TransposeOut(ct, s.Rows, tokens, (float*)pc + (nint)t0 * s.Rows, s.Rows, accumulate);
                }
        });
    }

    static void SampledFloat(float* b, float* a, int n, SparsePattern s, float* dense)
    {
        const int tile = SparseTiles.Tile;
        int workers = (long)n * s.NonZeros < ParallelThreshold ? 1 : Math.Min(Parallelism.Threads, Math.Max(1, s.Rows));
        nint pb = (nint)b, pa = (nint)a, pd = (nint)dense;
        // Rows are split by entry count, so each thread owns its rows of dense and sums them over every tile.
        RowParallel.ForRanges(workers, workers, (_, _, w) =>
        {
            int r0 = RowAtEntry(s, (long)s.NonZeros * w / workers), r1 = RowAtEntry(s, (long)s.NonZeros * (w + 1) / workers);
            if (w == workers - 1) r1 = s.Rows;
            if (r0 >= r1) return;
            var scratch = SparseTiles.Scratch.Current;
            float* at = scratch.First((nint)s.Columns * tile), bt = scratch.Second((nint)(r1 - r0) * tile);
            // Sums go to a compact array in entry order, and into dense once at the end: the kept entries of a large
            // dense matrix are scattered over many cache lines, and every tile would touch them all.
            int e0 = s.Offsets[r0];
            var sums = new float[s.Offsets[r1] - e0];
            fixed (int* offsets = s.Offsets) fixed (int* indices = s.Indices) fixed (float* ps = sums)
            {
                for (int t0 = 0; t0 < n; t0 += tile)
                {
                    int tokens = Math.Min(tile, n - t0);
                    SparseTiles.TransposeIn((float*)pb + (nint)t0 * s.Rows + r0, s.Rows, tokens, r1 - r0, bt);
                    SparseTiles.TransposeIn((float*)pa + (nint)t0 * s.Columns, s.Columns, tokens, s.Columns, at);
                    SparseTiles.SampledTile(r0, r1, offsets, indices, bt, at, ps - e0);
                }
                float* d = (float*)pd;
                for (int r = r0; r < r1; r++)
                    for (int e = offsets[r]; e < offsets[r + 1]; e++) d[(nint)r * s.Columns + indices[e]] += ps[e - e0];
            }
        });
    }

    /// <summary>The first row whose entries end after entry <paramref name="entry"/> (the row holding it, or the next non-empty one).</summary>
    static int RowAtEntry(SparsePattern s, long entry)
    {
        int lo = 0, hi = s.Rows;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (s.Offsets[mid + 1] <= entry) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    static void MultiplyTransposedReference<T>(T* a, int n, SparsePattern s, T* values, T* c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int t = 0; t < n; t++)
        {
            T* row = a + (nint)t * s.Columns;
            for (int r = 0; r < s.Rows; r++)
            {
                T sum = T.Zero;
                for (int e = s.Offsets[r]; e < s.Offsets[r + 1]; e++) sum += values[e] * row[s.Indices[e]];
                ref T out_ = ref c[(nint)t * s.Rows + r];
                out_ = accumulate ? out_ + sum : sum;
            }
        }
    }

    static void SampledReference<T>(T* b, T* a, int n, SparsePattern s, T* dense) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < s.Rows; r++)
            for (int e = s.Offsets[r]; e < s.Offsets[r + 1]; e++)
            {
                int j = s.Indices[e];
                T sum = T.Zero;
                for (int t = 0; t < n; t++) sum += b[(nint)t * s.Rows + r] * a[(nint)t * s.Columns + j];
                dense[(nint)r * s.Columns + j] += sum;
            }
    }
}
