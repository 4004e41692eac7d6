using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// GEMM with bfloat16 inputs and float32 accumulation and output, C = op(A)·op(B) + β·C (shapes and
/// leading dimensions as in <see cref="Gemm"/>), through oneDNN's matmul, which runs VDPBF16PS (two bf16
/// products per fp32 lane) on CPUs with AVX512_BF16. Available only when the CPU has the flag, libdnnl.so.2
/// loads, and oneDNN both picks a native bf16 kernel and computes a probe product right; otherwise
/// <see cref="UnavailableReason"/> says why in one line and callers use fp32.
/// </summary>
public static unsafe class BFloat16Gemm
{
    static readonly Lazy<string?> Unavailable = new(() =>
        Environment.GetEnvironmentVariable("MECHANIST_BF16") is "off" or "0" ? "disabled by MECHANIST_BF16=off" : Detect(CpuFlags(), OneDnn.Load));

    /// <summary>Null when the bf16 backend works here, else why not (one line).</summary>
    public static string? UnavailableReason => Unavailable.Value;

    public static bool IsAvailable => UnavailableReason == null;

    /// <summary>oneDNN's name for the kernel it runs (e.g. "brg:avx512_core_bf16"), or null when unavailable.</summary>
    public static string? Implementation => IsAvailable ? OneDnnMatmul.ImplementationFor(256, 256, 256) : null;

    /// <summary>
    /// Why bf16 cannot run, from the CPU's flags (null: not known, e.g. not Linux) and a loader of the
    /// library (returns its failure); null when it can. (MECHANIST_BF16=off skips this and disables bf16, for A/B runs.)
    /// </summary>
    internal static string? Detect(string? cpuFlags, Func<string?> loadLibrary)
    {
        if (cpuFlags == null) return "CPU flags unknown (needs Linux on x86-64)";
        if (!cpuFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("avx512_bf16"))
            return "this CPU lacks avx512_bf16";
        if (loadLibrary() is { } failure) return failure;
        string implementation = OneDnnMatmul.ImplementationFor(256, 256, 256);
        if (!implementation.Contains("bf16", StringComparison.Ordinal))
            return $"oneDNN runs bf16 matmul as \"{implementation}\", not a native bf16 kernel";
        return SelfTest() ? null : "oneDNN's bf16 matmul gave a wrong probe product";
    }

    /// <summary>The flags line of /proc/cpuinfo, or null where there is none.</summary>
    static string? CpuFlags()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) is { } line
                ? line[(line.IndexOf(':') + 1)..] : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>A small product with exact small-integer values, in every transpose form, against the reference.</summary>
    static bool SelfTest()
    {
        const int m = 3, n = 5, k = 7;
        var a = new BFloat16[m * k];
        var b = new BFloat16[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (BFloat16)(float)(i % 5 - 2);
        for (int i = 0; i < b.Length; i++) b[i] = (BFloat16)(float)(i % 7 - 3);
        var c = new float[m * n];
        fixed (BFloat16* pa = a) fixed (BFloat16* pb = b) fixed (float* pc = c)
        {
            OneDnnMatmul.Run(false, false, m, n, k, pa, k, pb, n, 0f, pc, n, 1);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float sum = 0;
                    for (int p = 0; p < k; p++) sum += (float)a[i * k + p] * (float)b[p * n + j];
                    if (c[i * n + j] != sum) return false;
                }
        }
        return true;
    }

    /// <summary>
    /// How a bf16 product is split over <paramref name="threads"/>: products under 128³ run whole; larger ones by rows
    /// (C at least as tall as wide) or columns, in parts of whole 64-row (or column) blocks, at most one per block.
    /// </summary>
    /// <returns>The split's direction, its number of parts, and the rows (or columns) of every part but the last.</returns>
    internal static (bool ByRows, int Parts, int PartExtent) Plan(int m, int n, int k, int threads)
    {
        long work = (long)m * n * k;
        if (work < SplitThreshold) threads = 1;
        bool byRows = m >= n;
        int extent = byRows ? m : n;
        int parts = Math.Max(1, Math.Min(threads, extent / SplitUnit));
        return (byRows, parts, ((extent + parts - 1) / parts + SplitUnit - 1) / SplitUnit * SplitUnit);
    }

    /// <summary>C = op(A)·op(B) + β·C with A and B already bf16.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, BFloat16* a, int lda, BFloat16* b, int ldb,
        float beta, float* c, int ldc)
    {
        if (UnavailableReason is { } why) throw new InvalidOperationException($"bf16 GEMM unavailable: {why}");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Gemm.Sgemm(false, false, m, n, 0, 1f, null, 1, null, 1, beta, c, ldc);
            return;
        }
        var (byRows, parts, perPart) = Plan(m, n, k, Parallelism.Threads);
        int extent = byRows ? m : n;
        if (parts == 1)
        {
            OneDnnMatmul.Run(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, 1);
            return;
        }
        // oneDNN runs single-threaded on each part, on our threads: Parallel.For lets the calling thread take a part
        // whose worker has not started yet, where an OpenMP team's static split makes every call wait for its slowest
        // thread (measured: 128³ calls took ≈ 20 ms each at load ≈ 40, when a worker was descheduled).
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int start = t * perPart, count = Math.Min(extent, start + perPart) - start;
            if (count <= 0) return;
            BFloat16* a0 = (BFloat16*)pa, b0 = (BFloat16*)pb;
            float* c0 = (float*)pc;
            if (byRows)
                OneDnnMatmul.Run(transA, transB, count, n, k, transA ? a0 + start : a0 + (nint)start * lda, lda, b0, ldb, beta,
                    c0 + (nint)start * ldc, ldc, 1);
            else
                OneDnnMatmul.Run(transA, transB, m, count, k, a0, lda, transB ? b0 + (nint)start * ldb : b0 + start, ldb, beta,
                    c0 + start, ldc, 1);
        });
    }

    /// <summary>Below this many multiply-adds one thread is faster than two (as for fp32).</summary>
    const long SplitThreshold = 128L * 128 * 128;
    /// <summary>Rows (or columns) of C per part come in multiples of this, so each part's kernel runs whole blocks.</summary>
    const int SplitUnit = 64;

    /// <summary>
    /// C = op(A)·op(B) + β·C with fp32 A and B rounded to bf16 (nearest even) first, into this thread's
    /// scratch (contiguous copies in the stored layout; oneDNN folds the transposes into its packing).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        var scratch = BFloat16Scratch.Current;
        BFloat16* a16 = scratch.A((nint)aRows * aCols), b16 = scratch.B((nint)bRows * bCols);
        Round(a, lda, aRows, aCols, a16);
        Round(b, ldb, bRows, bCols, b16);
        Multiply(transA, transB, m, n, k, a16, aCols, b16, bCols, beta, c, ldc);
    }

    /// <summary>Rounds a rows×cols fp32 matrix (leading dimension ld) into a contiguous bf16 one, rows split over the threads when large.</summary>
    public static void Round(float* source, int ld, int rows, int cols, BFloat16* destination)
    {
        long count = (long)rows * cols;
        int threads = count < 1 << 16 ? 1 : Math.Min(Parallelism.Threads, rows);
        if (ld == cols || rows == 1)
        {
            if (threads == 1)
            {
                Precision.ToBFloat16(new ReadOnlySpan<float>(source, checked((int)count)), new Span<BFloat16>(destination, (int)count));
                return;
            }
        }
        nint src = (nint)source, dst = (nint)destination;
        int perPart = (rows + threads - 1) / threads;
        void Part(int t)
        {
            int start = t * perPart, end = Math.Min(rows, start + perPart);
            for (int r = start; r < end; r++)
                Precision.ToBFloat16(new ReadOnlySpan<float>((float*)src + (nint)r * ld, cols), new Span<BFloat16>((BFloat16*)dst + (nint)r * cols, cols));
        }
        if (threads == 1) Part(0);
        else Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, Part);
    }
}
