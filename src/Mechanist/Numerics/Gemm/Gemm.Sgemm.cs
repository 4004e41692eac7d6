namespace Mechanist.Numerics;

public static partial class Gemm
{
    /// <summary>Below this many multiply-adds (≈128³) one thread is faster than waking a second.</summary>
    const long ParallelThreshold = 128L * 128 * 128;
    /// <summary>Below this many multiply-adds packing costs more than it saves: a plain loop.</summary>
    const long PackingThreshold = 16L * 16 * 16;
    /// <summary>Below this many multiply-adds a bf16 GEMM's rounding and oneDNN's call cost more than they save.</summary>
    const long BFloat16Threshold = 64L * 64 * 64;

    /// <summary>
    /// float32 GEMM on raw pointers (arguments already validated by the caller or trusted): packed AVX-512
    /// (or AVX2) kernels, split over <see cref="Parallelism.Threads"/> threads by rows or by columns of C.
    /// Results are bit-identical for any thread count: the split never changes an element's K order.
    /// Inside a bf16 <see cref="GemmPrecisionScope"/>, large products with α = 1 round A and B to bf16 and
    /// run on <see cref="BFloat16Gemm"/> instead.
    /// </summary>
    public static unsafe void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        long work = (long)m * n * k;
        if (work < PackingThreshold)
        {
            Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        if (work >= BFloat16Threshold && alpha == 1 && GemmPrecisionScope.BFloat16Active)
        {
            BFloat16Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        int threads = work < ParallelThreshold ? 1 : Parallelism.Threads;
        if (threads == 1)
        {
            GemmDriver.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GemmScratch.Current);
            return;
        }
        GemmThreads.Split(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
    }

    static unsafe void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            float* row = c + (nint)i * ldc;
            if (beta == 0) new Span<float>(row, n).Clear();
            else if (beta != 1) for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }
}
