using System.Diagnostics;
using Mechanist.Numerics;

namespace Mechanist.Bench;

/// <summary>
/// One shape and form measured three ways in the same rounds: our fp32 GEMM, the bf16 GEMM on inputs already
/// in bf16, and the bf16 GEMM including the rounding of fp32 inputs to bf16 (what training pays). Ratios are
/// medians of the per-round ratios to fp32.
/// </summary>
public sealed record BFloat16GemmResult(string Shape, string Op, int Threads, double Fp32Gflops, double Bf16Gflops,
    double Bf16RoundingGflops, double Ratio, double RatioWithRounding);

/// <summary>
/// Measures <see cref="BFloat16Gemm"/> against <see cref="Gemm.Sgemm"/> (fp32) on the shapes of
/// <see cref="GemmBench"/>, interleaved: each round takes one sample of each contender back to back, after
/// a warm-up by time (JIT tiers, oneDNN's kernel generation, first-touch page faults).
/// </summary>
public static class BFloat16GemmBench
{
    public static unsafe List<BFloat16GemmResult> Run(int threads, int repeats, Action<BFloat16GemmResult>? report = null,
        (int M, int K, int N)[]? shapes = null, bool cpuTime = false, CancellationToken cancel = default, double sampleSeconds = 0.05)
    {
        if (BFloat16Gemm.UnavailableReason is { } why) throw new UserError($"bf16 unavailable: {why}");
        Func<double> clock = cpuTime ? BenchClock.CpuPerThread(threads) : BenchClock.Wall;
        int saved = Parallelism.Threads;
        Parallelism.Threads = threads;
        try
        {
            var results = new List<BFloat16GemmResult>();
            foreach (var (m, k, n) in shapes ?? GemmBench.DefaultShapes)
                foreach (var form in GemmBench.Forms)
                {
                    cancel.ThrowIfCancellationRequested();
                    var r = Measure(m, k, n, form.Name, form.TransA, form.TransB, threads, repeats, clock, sampleSeconds);
                    results.Add(r);
                    report?.Invoke(r);
                }
            return results;
        }
        finally { Parallelism.Threads = saved; }
    }

    static unsafe BFloat16GemmResult Measure(int m, int k, int n, string op, bool transA, bool transB, int threads, int repeats,
        Func<double> clock, double targetSeconds)
    {
        var rng = new Rng(12345);
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        var a = new Tensor<float>(aRows, aCols);
        var b = new Tensor<float>(bRows, bCols);
        var c = new Tensor<float>(m, n);
        rng.FillUniform(a.Span, -1, 1);
        rng.FillUniform(b.Span, -1, 1);
        var a16 = new BFloat16[a.Length];
        var b16 = new BFloat16[b.Length];
        Precision.ToBFloat16(a.Span, a16);
        Precision.ToBFloat16(b.Span, b16);
        double flops = 2.0 * m * n * k;
        fixed (BFloat16* pa16 = a16) fixed (BFloat16* pb16 = b16)
        {
            BFloat16* ha = pa16, hb = pb16;
            Action fp32 = () => Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Pointer, aCols, b.Pointer, bCols, 0f, c.Pointer, n);
            Action bf16 = () => BFloat16Gemm.Multiply(transA, transB, m, n, k, ha, aCols, hb, bCols, 0f, c.Pointer, n);
            Action rounding = () => BFloat16Gemm.Multiply(transA, transB, m, n, k, a.Pointer, aCols, b.Pointer, bCols, 0f, c.Pointer, n);
            Action[] contenders = [fp32, bf16, rounding];
            var perSample = contenders.Select(f => CallsPerSample(f, targetSeconds)).ToArray();
            var speeds = contenders.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < repeats; r++)
                for (int i = 0; i < contenders.Length; i++)
                {
                    double begin = clock();
                    for (int j = 0; j < perSample[i]; j++) contenders[i]();
                    speeds[i].Add(flops * perSample[i] / (clock() - begin) / 1e9);
                }
            var ratio = speeds[1].Select((s, i) => s / speeds[0][i]).ToList();
            var ratioRounding = speeds[2].Select((s, i) => s / speeds[0][i]).ToList();
            return new BFloat16GemmResult($"{m}x{k}x{n}", op, threads, GemmBench.Median(speeds[0]), GemmBench.Median(speeds[1]), GemmBench.Median(speeds[2]),
                GemmBench.Median(ratio), GemmBench.Median(ratioRounding));
        }
    }

    /// <summary>Warms a contender up by time and returns how many calls make one sample of the target length.</summary>
    static int CallsPerSample(Action once, double targetSeconds)
    {
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < Math.Min(0.3, 6 * targetSeconds) || calls < 2) { once(); calls++; }
        return Math.Max(1, (int)Math.Ceiling(targetSeconds / (watch.Elapsed.TotalSeconds / calls)));
    }
}
