using System.Diagnostics;
using Mechanist.Numerics;

namespace Mechanist.Bench;

/// <summary>One measured GEMM: a shape (M×K×N), a transpose form, and its speed against the FMA ceiling.</summary>
public sealed record GemmResult(string Shape, string Op, int Threads, double Gflops, double CeilingGflops)
{
    public double Fraction => Gflops / CeilingGflops;
}

/// <summary>
/// Measures <see cref="Gemm.Sgemm"/> on the shapes that matter (squares and the SAE encoder/decoder shapes)
/// in the three transpose forms, each interleaved with the FMA ceiling, warmed up by time so the JIT has
/// reached its optimised tier, and summarised by medians.
/// </summary>
public static class GemmBench
{
    public static readonly (int M, int K, int N)[] DefaultShapes =
        [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 512, 4096), (4096, 4096, 512)];

    public static readonly (string Name, bool TransA, bool TransB)[] Forms =
        [("A·B", false, false), ("A·Bᵀ", false, true), ("Aᵀ·B", true, false)];

    /// <summary>Runs every shape and form; <paramref name="report"/> sees each result as it is measured.</summary>
    public static List<GemmResult> Run(int threads, int repeats, Action<GemmResult>? report = null,
        (int M, int K, int N)[]? shapes = null, bool cpuTime = false, CancellationToken cancel = default)
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
                    var r = Measure(m, k, n, form.Name, form.TransA, form.TransB, threads, repeats, clock);
                    results.Add(r);
                    report?.Invoke(r);
                }
            return results;
        }
        finally { Parallelism.Threads = saved; }
    }

    static unsafe GemmResult Measure(int m, int k, int n, string op, bool transA, bool transB, int threads, int repeats, Func<double> clock)
    {
        // Values in [-1, 1): far from the subnormal range, which would slow any GEMM ~200×.
        var rng = new Rng(12345);
        var a = new Tensor<float>(transA ? k : m, transA ? m : k);
        var b = new Tensor<float>(transB ? n : k, transB ? k : n);
        var c = new Tensor<float>(m, n);
        rng.FillUniform(a.Span, -1, 1);
        rng.FillUniform(b.Span, -1, 1);
        double flops = 2.0 * m * n * k;
        void Once() => Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Pointer, a.Columns, b.Pointer, b.Columns, 0f, c.Pointer, n);

        // Warm up by time (tiered JIT, page faults in fresh buffers), and size a sample to ≈50 ms.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < 0.3 || calls < 2) { Once(); calls++; }
        double perCall = watch.Elapsed.TotalSeconds / calls;
        int perSample = Math.Max(1, (int)Math.Ceiling(0.05 / perCall));
        double sampleSeconds = perSample * perCall;
        FmaCeiling.Measure(threads, 0.05, clock);

        var speeds = new List<double>();
        var ceilings = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            ceilings.Add(FmaCeiling.Measure(threads, sampleSeconds, clock));
            double begin = clock();
            for (int i = 0; i < perSample; i++) Once();
            speeds.Add(flops * perSample / (clock() - begin) / 1e9);
        }
        return new GemmResult($"{m}x{k}x{n}", op, threads, Median(speeds), Median(ceilings));
    }

    static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }
}
