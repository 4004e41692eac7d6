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
        int threads = Math.Min(Parallelism.Threads, Math.Max(1, count / Math.Max(1, minPerThread)));
        if (threads <= 1)
        {
            if (count > 0) body(0, 0, count);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = (int)((long)count * t / threads), end = (int)((long)count * (t + 1) / threads);
            if (end > start) body(t, start, end);
        });
    }

    /// <summary>How many workers <see cref="For"/> would use; for sizing per-worker partial sums.</summary>
    public static int Workers(int count, int minPerThread)
        => Math.Min(Parallelism.Threads, Math.Max(1, count / Math.Max(1, minPerThread)));
}
