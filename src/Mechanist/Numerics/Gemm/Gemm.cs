using System.Numerics;

namespace Mechanist.Numerics;

/// <summary>
/// General matrix multiply, BLAS convention on row-major storage:
/// C[m×n] = α·op(A)·op(B) + β·C, where op(A) is m×k and op(B) is k×n.
/// With transA, A is stored k×m (leading dimension lda ≥ m); otherwise m×k (lda ≥ k). Likewise B.
/// β = 0 overwrites C without reading it (NaNs in C do not propagate), as BLAS does.
/// This is the single narrow entry point that every backend (managed AVX-512, oneDNN bf16, CUDA) sits behind.
/// </summary>
public static partial class Gemm
{
    public static unsafe void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckArguments(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (T* pa = a) fixed (T* pb = b) fixed (T* pc = c)
        {
            if (typeof(T) == typeof(float))
                Sgemm(transA, transB, m, n, k, float.CreateTruncating(alpha), (float*)pa, lda, (float*)pb, ldb,
                    float.CreateTruncating(beta), (float*)pc, ldc);
            else
                Reference(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    /// <summary>C = α·op(A)·op(B) + β·C on whole tensors read as matrices (last axis = columns).</summary>
    public static void Multiply<T>(Tensor<T> a, bool transA, Tensor<T> b, bool transB, Tensor<T> c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = transA ? a.Columns : a.RowCount, k = transA ? a.RowCount : a.Columns;
        int kb = transB ? b.Columns : b.RowCount, n = transB ? b.RowCount : b.Columns;
        if (k != kb || c.RowCount != m || c.Columns != n)
            throw new ArgumentException($"GEMM shapes do not agree: op(A) {m}×{k}, op(B) {kb}×{n}, C {c.RowCount}×{c.Columns}");
        Multiply(transA, transB, m, n, k, alpha, a.Span, a.Columns, b.Span, b.Columns, beta, c.Span, c.Columns);
    }

    /// <summary>Straightforward triple loop in the element type: the oracle for tests and the double path.</summary>
    public static unsafe void Reference<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, T* b, int ldb, T beta, T* c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                T old = beta == T.Zero ? T.Zero : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * sum + old;
            }
    }

    static void CheckArguments(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size m={m} n={n} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols) || ldb < Math.Max(1, bCols) || ldc < Math.Max(1, n))
            throw new ArgumentException($"GEMM leading dimension too small: lda={lda} ldb={ldb} ldc={ldc}");
        if (Need(aRows, aCols, lda) > aLength || Need(bRows, bCols, ldb) > bLength || Need(m, n, ldc) > cLength)
            throw new ArgumentException("GEMM operand span shorter than its shape and leading dimension require");
    }

    static long Need(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
}
