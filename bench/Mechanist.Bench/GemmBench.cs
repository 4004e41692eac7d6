using System.Diagnostics;
using Mechanist.Numerics;

namespace Mechanist.Bench;

/// <summary>
/// One measured GEMM: a shape (M×K×N), a transpose form, its speed, the FMA ceiling and (when run) the OpenBLAS
/// peer, each the median over rounds. <see cref="Fraction"/> and <see cref="RatioToPeer"/> are medians of the
/// per-round ratios (each round's three samples are taken back to back), not ratios of two medians.
/// </summary>
public sealed record GemmResult(string Shape, string Op, int Threads, double Gflops, double CeilingGflops, double Fraction,
    double? PeerGflops = null, double? RatioToPeer = null);

/// <summary>
/// Measures <see cref="Gemm.Sgemm"/> on the shapes that matter (squares and the SAE encoder/decoder shapes)
/// in the three transpose forms. Each round samples the FMA ceiling, then ours, then the OpenBLAS peer when one
/// is given, all for the same time, after a warm-up by time so the JIT has reached its optimised tier.
/// </summary>
public static class GemmBench
{
    public static readonly (int M, int K, int N)[] DefaultShapes =
        [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 512, 4096), (4096, 4096, 512)];

    public static readonly (string Name, string Key, bool TransA, bool TransB)[] Forms =
        [("A·B", "AB", false, false), ("A·Bᵀ", "ABt", false, true), ("Aᵀ·B", "AtB", true, false)];

    /// <summary>Runs every shape and form; <paramref name="report"/> sees each result as it is measured.</summary>
    public static List<GemmResult> Run(int threads, int repeats, Action<GemmResult>? report = null,
        (int M, int K, int N)[]? shapes = null, bool cpuTime = false, CancellationToken cancel = default,
        NumpyGemmPeer? peer = null, double sampleSeconds = 0.05)
    {
        Func<double> clock = cpuTime ? BenchClock.CpuPerThread(threads) : BenchClock.Wall;
        int saved = Parallelism.Threads;
        Parallelism.Threads = threads;
        try
        {
            var results = new List<GemmResult>();
            foreach (var (m, k, n) in shapes ?? DefaultShapes)
                foreach (var form in Forms)
                {
                    cancel.ThrowIfCancellationRequested();
                    var r = Measure(m, k, n, form, threads, repeats, clock, cpuTime, peer, sampleSeconds);
                    results.Add(r);
                    report?.Invoke(r);
                }
            return results;
        }
        finally { Parallelism.Threads = saved; }
    }

    static unsafe GemmResult Measure(int m, int k, int n, (string Name, string Key, bool TransA, bool TransB) form, int threads, int repeats,
        Func<double> clock, bool cpuTime, NumpyGemmPeer? peer, double targetSeconds)
    {
        bool transA = form.TransA, transB = form.TransB;
        // Values in [-1, 1): far from the subnormal range, which would slow any GEMM ~200×.
        var rng = new Rng(12345);
        var a = new Tensor<float>(transA ? k : m, transA ? m : k);
        var b = new Tensor<float>(transB ? n : k, transB ? k : n);
        var c = new Tensor<float>(m, n);
        rng.FillUniform(a.Span, -1, 1);
        rng.FillUniform(b.Span, -1, 1);
        double flops = 2.0 * m * n * k;
        void Once() => Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Pointer, a.Columns, b.Pointer, b.Columns, 0f, c.Pointer, n);

        // Warm up by time (tiered JIT, page faults in fresh buffers), and size a sample to the target time.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < Math.Min(0.3, 6 * targetSeconds) || calls < 2) { Once(); calls++; }
        double perCall = watch.Elapsed.TotalSeconds / calls;
        int perSample = Math.Max(1, (int)Math.Ceiling(targetSeconds / perCall));
        double sampleSeconds = perSample * perCall;
        FmaCeiling.Measure(threads, Math.Min(0.05, sampleSeconds), clock);

        var speeds = new List<double>();
        var ceilings = new List<double>();
        var peers = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            ceilings.Add(FmaCeiling.Measure(threads, sampleSeconds, clock));
            double begin = clock();
            for (int i = 0; i < perSample; i++) Once();
            speeds.Add(flops * perSample / (clock() - begin) / 1e9);
            if (peer != null)
            {
                peers.Add(peer.Sample(m, k, n, form.Key, sampleSeconds, cpuTime));
                // OpenBLAS's workers spin for a while after a call; let them sleep before our next sample.
                Thread.Sleep(100);
            }
        }
        var fractions = speeds.Select((s, i) => s / ceilings[i]).ToList();
        var ratios = peers.Select((p, i) => speeds[i] / p).ToList();
        return new GemmResult($"{m}x{k}x{n}", form.Name, threads, Median(speeds), Median(ceilings), Median(fractions),
            peers.Count > 0 ? Median(peers) : null, ratios.Count > 0 ? Median(ratios) : null);
    }

    internal static double Median(List<double> xs)
    {
        xs = [.. xs.Order()];
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }
}
