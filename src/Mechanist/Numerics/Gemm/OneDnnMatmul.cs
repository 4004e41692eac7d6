using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// One oneDNN matmul primitive for one shape: C[m×n] (fp32, leading dimension ldc) = op(A)·op(B) (bf16, the
/// transposes expressed as strides) + β·C. Creating a primitive generates its kernel (≈ a millisecond), so
/// primitives are cached by shape for the life of the process; training reuses a handful of shapes.
/// </summary>
sealed unsafe class OneDnnMatmul
{
    readonly record struct Shape(bool TransA, bool TransB, int M, int N, int K, int Lda, int Ldb, int Ldc, float Beta);

    /// <summary>More distinct shapes than this are run uncached (made and freed per call) rather than kept.</summary>
    const int CacheLimit = 512;
    static readonly ConcurrentDictionary<Shape, OneDnnMatmul> Cache = new();

    readonly nint _primitive;
    readonly byte* _descs; // src, weights, dst memory descriptors, one after the other
    public string Implementation { get; }

    OneDnnMatmul(Shape s)
    {
        _descs = (byte*)NativeMemory.AllocZeroed(3 * OneDnn.MemoryDescBytes);
        byte* src = _descs, weights = _descs + OneDnn.MemoryDescBytes, dst = _descs + 2 * OneDnn.MemoryDescBytes;
        // op(A) is m×k: stored k×m when transposed, so its (row, column) strides swap. Likewise op(B), k×n.
        OneDnn.MemoryDesc(src, s.M, s.K, OneDnn.DataTypeBf16, s.TransA ? 1 : s.Lda, s.TransA ? s.Lda : 1);
        OneDnn.MemoryDesc(weights, s.K, s.N, OneDnn.DataTypeBf16, s.TransB ? 1 : s.Ldb, s.TransB ? s.Ldb : 1);
        OneDnn.MemoryDesc(dst, s.M, s.N, OneDnn.DataTypeF32, s.Ldc, 1);
        _primitive = OneDnn.CreateMatmul(src, weights, dst, s.Beta, out string implementation);
        Implementation = implementation;
    }

    /// <summary>Runs C = op(A)·op(B) + β·C with the cached primitive for this shape (made on first use).</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, BFloat16* a, int lda, BFloat16* b, int ldb,
        float beta, float* c, int ldc, int threads)
    {
        var shape = new Shape(transA, transB, m, n, k, lda, ldb, ldc, beta);
        if (Cache.TryGetValue(shape, out var cached))
        {
            cached.Run(a, b, c, threads);
            return;
        }
        var made = new OneDnnMatmul(shape);
        if (Cache.Count < CacheLimit && Cache.TryAdd(shape, made))
        {
            made.Run(a, b, c, threads);
            return;
        }
        try { made.Run(a, b, c, threads); }
        finally { made.Dispose(); }
    }

    /// <summary>The implementation oneDNN picks for this shape (e.g. "brg:avx512_core_bf16"), for the self-test and the bench.</summary>
    public static string ImplementationFor(int m, int n, int k)
    {
        var made = new OneDnnMatmul(new Shape(false, false, m, n, k, k, n, n, 0));
        made.Dispose();
        return made.Implementation;
    }

    void Run(BFloat16* a, BFloat16* b, float* c, int threads)
    {
        Span<(int, nint, nint)> args = [
            (OneDnn.ArgSrc, (nint)_descs, (nint)a),
            (OneDnn.ArgWeights, (nint)(_descs + OneDnn.MemoryDescBytes), (nint)b),
            (OneDnn.ArgDst, (nint)(_descs + 2 * OneDnn.MemoryDescBytes), (nint)c)];
        OneDnn.Execute(_primitive, threads, args);
    }

    void Dispose()
    {
        OneDnn.DestroyPrimitive(_primitive);
        NativeMemory.Free(_descs);
    }
}
