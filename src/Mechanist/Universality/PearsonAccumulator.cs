using System.Diagnostics;
using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Universality;

/// <summary>
/// Dense streaming Pearson (METHODS.md §5.2): for each block of tokens, subtracts the provisional means,
/// adds the per-unit sums in float64 and the cross-products X_cᵀ·Y_c from our float32 GEMM
/// (<see cref="Gemm.Sgemm"/>) into the float64 <see cref="PearsonSums.Cross"/>. The GEMM sums one block of
/// tokens in float32 (a few thousand products, error ≈ 1e-7 relative); blocks are added in float64, so
/// the error does not grow with the number of tokens. One row block (<see cref="SetRows"/>) can be added
/// against several column sets (<see cref="AddTo"/>: another model, its baselines) without centring it again.
/// </summary>
public sealed unsafe class PearsonAccumulator
{
    /// <summary>Columns per GEMM call: the float32 product is [rows, this], then added into float64.</summary>
    const int ChunkColumns = 1024;

    readonly int _rows, _maxColumns, _maxTokens;
    readonly float[] _x, _y, _product;
    readonly double[] _rowSum, _rowSquares, _columnSum, _columnSquares;
    float[]? _rowShift;
    int _tokens;

    public PearsonAccumulator(int rows, int maxColumns, int maxTokens)
    {
        _rows = rows; _maxColumns = maxColumns; _maxTokens = maxTokens;
        _x = GC.AllocateUninitializedArray<float>(checked(rows * maxTokens), pinned: true);
        _y = GC.AllocateUninitializedArray<float>(checked(maxColumns * maxTokens), pinned: true);
        _product = GC.AllocateUninitializedArray<float>(checked(rows * Math.Min(ChunkColumns, maxColumns)), pinned: true);
        _rowSum = new double[rows]; _rowSquares = new double[rows];
        _columnSum = new double[maxColumns]; _columnSquares = new double[maxColumns];
    }

    /// <summary>Scratch bytes of an accumulator of this size (for memory budgets).</summary>
    public static long BytesFor(int rows, int maxColumns, int maxTokens) =>
        4L * maxTokens * (rows + maxColumns) + 4L * rows * Math.Min(ChunkColumns, maxColumns) + 16L * (rows + maxColumns);

    /// <summary>Seconds spent in the cross-product GEMMs and their floating-point operations (2·rows·columns·tokens each).</summary>
    public double GemmSeconds { get; private set; }
    public double GemmFlops { get; private set; }

    /// <summary>
    /// Sets the row block for the next <see cref="AddTo"/> calls: <paramref name="tokens"/> rows of
    /// <paramref name="x"/> (leading dimension <paramref name="ldx"/>), its first <c>rows</c> columns, minus <paramref name="shift"/>.
    /// </summary>
    public void SetRows(float* x, int ldx, int tokens, float[] shift)
    {
        if (tokens > _maxTokens || shift.Length != _rows) throw new ArgumentException($"block of {tokens} tokens × {shift.Length} rows does not fit an accumulator for {_maxTokens} × {_rows}");
        _tokens = tokens;
        _rowShift = shift;
        fixed (float* dst = _x) Centre(x, ldx, tokens, shift, dst, _rowSum, _rowSquares);
    }

    /// <summary>Adds this token block's sums for the row block (set by <see cref="SetRows"/>) against the columns <paramref name="y"/>.</summary>
    public void AddTo(PearsonSums sums, float* y, int ldy)
    {
        if (_rowShift == null || !ReferenceEquals(sums.Rows.Shift, _rowShift) && !sums.Rows.Shift.AsSpan().SequenceEqual(_rowShift))
            throw new ArgumentException("the sums' row shift is not the one the rows were centred with");
        int columns = sums.Columns.Count, tokens = _tokens;
        if (columns > _maxColumns) throw new ArgumentException($"{columns} columns exceed this accumulator's {_maxColumns}");
        if (tokens == 0) return;
        sums.Rows.Add(_rowSum, _rowSquares, tokens);
        fixed (float* xc = _x) fixed (float* yc = _y) fixed (float* product = _product)
        {
            Centre(y, ldy, tokens, sums.Columns.Shift, yc, _columnSum, _columnSquares);
            sums.Columns.Add(_columnSum.AsSpan(0, columns), _columnSquares.AsSpan(0, columns), tokens);
            var clock = Stopwatch.StartNew();
            for (int j0 = 0; j0 < columns; j0 += ChunkColumns)
            {
                int width = Math.Min(ChunkColumns, columns - j0);
                clock.Start();
                Gemm.Sgemm(true, false, _rows, width, tokens, 1f, xc, _rows, yc + j0, columns, 0f, product, width);
                clock.Stop();
                AddProduct(product, width, sums.Cross, columns, j0);
            }
            GemmSeconds += clock.Elapsed.TotalSeconds;
            GemmFlops += 2.0 * _rows * columns * tokens;
        }
    }

    /// <summary>Cross[i, j0 + j] += product[i, j] in float64, rows split over the cores.</summary>
    void AddProduct(float* product, int width, double[] cross, int columns, int j0)
    {
        nint p = (nint)product;
        int threads = Threads(_rows * (long)width), rows = _rows;
        Parallel.For(0, threads, t =>
        {
            int lo = (int)((long)rows * t / threads), hi = (int)((long)rows * (t + 1) / threads);
            for (int i = lo; i < hi; i++)
            {
                float* src = (float*)p + (long)i * width;
                long start = (long)i * columns + j0;
                for (int j = 0; j < width; j++) cross[start + j] += src[j];
            }
        });
    }

    /// <summary>
    /// dst[t, j] = src[t, j] − shift[j] for the first shift.Length columns; sum[j] and squares[j] get the
    /// float64 sums of the centred values. Columns are split over the cores.
    /// </summary>
    internal static void Centre(float* src, int ld, int tokens, float[] shift, float* dst, double[] sum, double[] squares)
    {
        int width = shift.Length;
        nint s = (nint)src, d = (nint)dst;
        const int Chunk = 512;
        int chunks = (width + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads(tokens * (long)width) }, c =>
        {
            int j0 = c * Chunk, w = Math.Min(Chunk, width - j0);
            Span<double> acc = stackalloc double[2 * Chunk];
            acc.Clear();
            var shiftSpan = shift.AsSpan(j0, w);
            for (int t = 0; t < tokens; t++)
            {
                var row = new ReadOnlySpan<float>((float*)s + (long)t * ld + j0, w);
                var outRow = new Span<float>((float*)d + (long)t * width + j0, w);
                int j = 0;
                if (Vector.IsHardwareAccelerated)
                    for (; j <= w - Vector<float>.Count; j += Vector<float>.Count)
                    {
                        var v = new Vector<float>(row[j..]) - new Vector<float>(shiftSpan[j..]);
                        v.CopyTo(outRow[j..]);
                        Vector.Widen(v, out var lo, out var hi);
                        int half = Vector<double>.Count;
                        (new Vector<double>(acc[j..]) + lo).CopyTo(acc[j..]);
                        (new Vector<double>(acc[(j + half)..]) + hi).CopyTo(acc[(j + half)..]);
                        (new Vector<double>(acc[(Chunk + j)..]) + lo * lo).CopyTo(acc[(Chunk + j)..]);
                        (new Vector<double>(acc[(Chunk + j + half)..]) + hi * hi).CopyTo(acc[(Chunk + j + half)..]);
                    }
                for (; j < w; j++)
                {
                    float v = row[j] - shiftSpan[j];
                    outRow[j] = v;
                    acc[j] += v;
                    acc[Chunk + j] += (double)v * v;
                }
            }
            acc[..w].CopyTo(sum.AsSpan(j0, w));
            acc.Slice(Chunk, w).CopyTo(squares.AsSpan(j0, w));
        });
    }

    /// <summary>One thread for small work (waking a second costs more), else the cores Mechanist may use.</summary>
    static int Threads(long elements) => elements < 1 << 16 ? 1 : Parallelism.Threads;
}
