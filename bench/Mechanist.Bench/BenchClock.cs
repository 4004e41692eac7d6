using System.Diagnostics;

namespace Mechanist.Bench;

/// <summary>
/// What a benchmark's seconds mean. Wall time is the honest default. On a machine shared with other busy
/// processes, the process's CPU time divided by the thread count ignores the time slices taken by others
/// (it flatters code that leaves threads idle, so use it to compare kernels, not to report).
/// </summary>
public static class BenchClock
{
    static readonly Stopwatch Watch = Stopwatch.StartNew();

    public static double Wall() => Watch.Elapsed.TotalSeconds;

    public static Func<double> CpuPerThread(int threads)
    {
        var process = Process.GetCurrentProcess();
        return () =>
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalSeconds / threads;
        };
    }

    /// <summary>The 1-minute load average (/proc/loadavg), to state with every figure measured on a shared machine; "?" where unreadable.</summary>
    public static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; } catch (IOException) { return "?"; } catch (UnauthorizedAccessException) { return "?"; }
    }
}
