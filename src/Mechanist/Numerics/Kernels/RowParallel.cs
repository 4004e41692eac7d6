namespace Mechanist.Numerics.Kernels;

/// <summary>
/// Splits independent rows (or batch×head slices) across <see cref="Parallelism.Threads"/> workers, one
/// contiguous range each. Below <c>minPerThread</c> items per worker it runs inline: a Parallel.For
/// costs a few microseconds, more than small kernels take. Bodies must not start GEMMs of their own.
/// </summary>
public static class RowParallel
{
    public static void For(int count, int minPerThread, Action<int, int> body)
        => For(count, minPerThread, (_, start, end) => body(start, end));

    /// <summary>
    /// As <see cref="For(int, int, Action{int, int})"/>, also passing the worker's index (0 ≤ index &lt;
    /// <see cref="Workers"/>), fixed by the range and not by thread scheduling: per-worker partial sums
    /// combined in index order give the same bits on every run.
    /// </summary>
    public static void For(int count, int minPerThread, Action<int, int, int> body)
    {
        int threads = Workers(count, minPerThread);
        if (threads <= 1)
        {
            if (count > 0) body(0, 0, count);
            return;
        }
        ForRanges(count, threads, (start, end, worker) => body(worker, start, end));
    }

    /// <summary>
    /// Runs body(start, end, worker) over [0, n) split into contiguous ranges, one per worker, for callers that
    /// size per-worker buffers themselves (at most n workers; with one, body(0, n, 0) runs inline even for n = 0).
    /// </summary>
    public static void ForRanges(int n, int workers, Action<int, int, int> body)
    {
        workers = Math.Max(1, Math.Min(workers, n));
        if (workers == 1) { body(0, n, 0); return; }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers },
            w => body((int)((long)n * w / workers), (int)((long)n * (w + 1) / workers), w));
    }

    /// <summary>How many workers <see cref="For"/> would use; for sizing per-worker partial sums.</summary>
    public static int Workers(int count, int minPerThread)
        => Math.Min(Parallelism.Threads, Math.Max(1, count / Math.Max(1, minPerThread)));
}
