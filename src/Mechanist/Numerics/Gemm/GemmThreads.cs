namespace Mechanist.Numerics;

/// <summary>
/// Splits one GEMM into rectangles of C, one per thread, each run by the single-thread loop nest with
/// the thread's own packing buffers. Rows are split when C is at least as tall as wide (each thread then
/// packs all of op(B), a small cost next to its share of the FMAs, except for short splits, which pack
/// op(B) once together first), columns when it is wide.
/// </summary>
static unsafe class GemmThreads
{
    /// <summary>Largest op(B) (in floats, 16 MiB) packed once and shared by a row split; MECHANIST_GEMM_SHARED_B=0 turns it off for A/B runs.</summary>
    static readonly long SharedBLimit = long.TryParse(Environment.GetEnvironmentVariable("MECHANIST_GEMM_SHARED_B"), out var v) ? v : 4L << 20;

    /// <summary>How one product is split: by rows or columns of C, into how many parts, each (but the last) of
    /// <paramref name="PartExtent"/> rows or columns (whole register tiles), and whether a row split packs op(B) once for all.</summary>
    internal readonly record struct SplitPlan(bool ByRows, int Parts, int PartExtent, bool ShareB);

    /// <param name="nr">The register tile's width (the AVX-512 or AVX2 kernel's).</param>
    internal static SplitPlan Plan(int m, int n, int k, int threads, int nr)
    {
        int mr = GemmKernel512.MR;
        int rowTiles = (m + mr - 1) / mr, colTiles = (n + nr - 1) / nr;
        // Splitting rows makes every thread pack all of op(B) (K×N), splitting columns all of op(A) (M×K):
        // duplicate the smaller one.
        bool byRows = rowTiles >= threads && (m >= n || colTiles < threads);
        int tiles = byRows ? rowTiles : colTiles, unit = byRows ? mr : nr;
        int parts = Math.Min(threads, tiles);
        int perPart = (tiles + parts - 1) / parts;
        // A row split makes every thread pack all of op(B). When each thread has few rows (≤ 1024) that
        // duplicate is a few % of the call (measured at 1024³), so op(B) is packed once, each thread a share
        // of its panels, and then read by all threads: the same packed values, so the same results. The
        // second Parallel.For is a barrier, which a descheduled thread on a busy machine makes costly, so
        // taller C (where the duplicate is amortised over more rows) keeps the barrier-free path.
        bool share = byRows && parts > 1 && (m + parts - 1) / parts <= 1024 && GemmDriver.PackedAllBSize(n, k, nr) <= SharedBLimit;
        return new SplitPlan(byRows, parts, perPart * unit, share);
    }

    public static void Split(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        int nr = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? GemmKernel512.NR : GemmKernel256.NR;
        var plan = Plan(m, n, k, threads, nr);
        bool byRows = plan.ByRows;
        int parts = plan.Parts, partExtent = plan.PartExtent, extent = byRows ? m : n;
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        var options = new ParallelOptions { MaxDegreeOfParallelism = parts };
        float* shared = null;
        if (plan.ShareB)
        {
            shared = GemmScratch.Current.SharedB(GemmDriver.PackedAllBSize(n, k, nr));
            nint ps = (nint)shared;
            Parallel.For(0, parts, options, t =>
                GemmDriver.PackAllB((float*)pb, ldb, transB, n, k, nr, (float*)ps, t, parts));
        }
        nint pshared = (nint)shared;
        Parallel.For(0, parts, options, t =>
        {
            int start = t * partExtent, end = Math.Min(extent, start + partExtent);
            if (start >= end) return;
            float* a0 = (float*)pa, b0 = (float*)pb, c0 = (float*)pc;
            if (byRows)
                GemmDriver.Run(transA, transB, end - start, n, k, alpha,
                    transA ? a0 + start : a0 + (nint)start * lda, lda, b0, ldb, beta, c0 + (nint)start * ldc, ldc, GemmScratch.Current,
                    (float*)pshared);
            else
                GemmDriver.Run(transA, transB, m, end - start, k, alpha, a0, lda,
                    transB ? b0 + (nint)start * ldb : b0 + start, ldb, beta, c0 + start, ldc, GemmScratch.Current);
        });
    }
}
