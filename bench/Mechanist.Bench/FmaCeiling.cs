using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Bench;

/// <summary>
/// The machine's fp32 FMA limit right now: every thread runs a loop of independent vector FMAs (16 chains,
/// enough to cover FMA latency on both pipes) for a fixed number of iterations, all threads together.
/// GEMM figures are reported as a fraction of this, measured interleaved, because absolute speeds on
/// shared machines drift minute to minute.
/// </summary>
public static class FmaCeiling
{
    const int ChunkIterations = 20_000;

    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running the FMA loop for about <paramref name="seconds"/>;
    /// <paramref name="clock"/> reads seconds (wall time by default; see <see cref="BenchClock"/>).</summary>
    public static double Measure(int threads, double seconds = 0.05, Func<double>? clock = null)
    {
        clock ??= BenchClock.Wall;
        var iterations = new long[threads];
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                var watch = Stopwatch.StartNew();
                long done = 0;
                float sink = 0;
                do
                {
                    sink += Vector512.IsHardwareAccelerated ? Loop512(ChunkIterations) : Loop256(ChunkIterations);
                    done += ChunkIterations;
                } while (watch.Elapsed.TotalSeconds < seconds);
                iterations[id] = done;
                Sink = sink;
            }) { IsBackground = true };
            workers[t].Start();
        }
        double begin = clock();
        start.SignalAndWait();
        foreach (var w in workers) w.Join();
        double end = clock();
        double flopsPerIteration = 16 * (Vector512.IsHardwareAccelerated ? 16 : 8) * 2;
        return iterations.Sum() * flopsPerIteration / (end - begin) / 1e9;
    }

    public static float Sink;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Loop512(int iterations)
    {
        var m = Vector512.Create(0.999999f);
        var x = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector512<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, x); a1 = Vector512.FusedMultiplyAdd(a1, m, x);
            a2 = Vector512.FusedMultiplyAdd(a2, m, x); a3 = Vector512.FusedMultiplyAdd(a3, m, x);
            a4 = Vector512.FusedMultiplyAdd(a4, m, x); a5 = Vector512.FusedMultiplyAdd(a5, m, x);
            a6 = Vector512.FusedMultiplyAdd(a6, m, x); a7 = Vector512.FusedMultiplyAdd(a7, m, x);
            a8 = Vector512.FusedMultiplyAdd(a8, m, x); a9 = Vector512.FusedMultiplyAdd(a9, m, x);
            a10 = Vector512.FusedMultiplyAdd(a10, m, x); a11 = Vector512.FusedMultiplyAdd(a11, m, x);
            a12 = Vector512.FusedMultiplyAdd(a12, m, x); a13 = Vector512.FusedMultiplyAdd(a13, m, x);
            a14 = Vector512.FusedMultiplyAdd(a14, m, x); a15 = Vector512.FusedMultiplyAdd(a15, m, x);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector512.Sum(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Loop256(int iterations)
    {
        var m = Vector256.Create(0.999999f);
        var x = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, x); a1 = Vector256.FusedMultiplyAdd(a1, m, x);
            a2 = Vector256.FusedMultiplyAdd(a2, m, x); a3 = Vector256.FusedMultiplyAdd(a3, m, x);
            a4 = Vector256.FusedMultiplyAdd(a4, m, x); a5 = Vector256.FusedMultiplyAdd(a5, m, x);
            a6 = Vector256.FusedMultiplyAdd(a6, m, x); a7 = Vector256.FusedMultiplyAdd(a7, m, x);
            a8 = Vector256.FusedMultiplyAdd(a8, m, x); a9 = Vector256.FusedMultiplyAdd(a9, m, x);
            a10 = Vector256.FusedMultiplyAdd(a10, m, x); a11 = Vector256.FusedMultiplyAdd(a11, m, x);
            a12 = Vector256.FusedMultiplyAdd(a12, m, x); a13 = Vector256.FusedMultiplyAdd(a13, m, x);
            a14 = Vector256.FusedMultiplyAdd(a14, m, x); a15 = Vector256.FusedMultiplyAdd(a15, m, x);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector256.Sum(s);
    }
}
