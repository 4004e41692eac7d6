namespace Mechanist.Numerics;

public static partial class Gemm
{
    /// <summary>
    /// float32 GEMM on raw pointers (arguments already validated by the caller or trusted).
    /// Placeholder until the packed AVX-512 kernel lands: the reference loop.
    /// </summary>
    public static unsafe void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
