namespace Mechanist.Numerics;

/// <summary>
/// Splits one GEMM into rectangles of C, one per thread, each run by the single-thread loop nest with
/// the thread's own packing buffers; no barriers. Rows are split when C is at least as tall as wide (each
/// thread then packs all of op(B), a small cost next to its share of the FMAs), columns when it is wide.
/// </summary>
static unsafe class GemmThreads
{
    public static void Split(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        int mr = GemmKernel512.MR, nr = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? GemmKernel512.NR : GemmKernel256.NR;
        int rowTiles = (m + mr - 1) / mr, colTiles = (n + nr - 1) / nr;
        // Splitting rows makes every thread pack all of op(B) (K×N), splitting columns all of op(A) (M×K):
        // duplicate the smaller one.
        bool byRows = rowTiles >= threads && (m >= n || colTiles < threads);
        int tiles = byRows ? rowTiles : colTiles, unit = byRows ? mr : nr, extent = byRows ? m : n;
        int parts = Math.Min(threads, tiles);
        int perPart = (tiles + parts - 1) / parts;
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
        {
            int start = t * perPart * unit, end = Math.Min(extent, (t + 1) * perPart * unit);
            if (start >= end) return;
            float* a0 = (float*)pa, b0 = (float*)pb, c0 = (float*)pc;
            if (byRows)
                GemmDriver.Run(transA, transB, end - start, n, k, alpha,
                    transA ? a0 + start : a0 + (nint)start * lda, lda, b0, ldb, beta, c0 + (nint)start * ldc, ldc, GemmScratch.Current);
            else
                GemmDriver.Run(transA, transB, m, end - start, k, alpha, a0, lda,
                    transB ? b0 + (nint)start * ldb : b0 + start, ldb, beta, c0 + start, ldc, GemmScratch.Current);
        });
    }
}
