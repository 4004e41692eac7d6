using System.Diagnostics;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Bench;

/// <summary>
/// One density of one layer shape: each product's time (ms, medians) dense and sparse, and the dense/sparse time
/// ratios (medians of per-round ratios; above 1 the sparse product is faster). Step ratios are whole layer steps
/// (forward + dx + dW): "exact" keeps the dense dW GEMM (pruned weights can regrow), "kept-only" uses the sampled dW.
/// </summary>
public sealed record SparseBenchRow(double Density, int NonZeros, double DenseForwardMs, double SparseForwardMs, double DenseDxMs,
    double SparseDxMs, double DenseDwMs, double SparseDwMs, double ForwardRatio, double DxRatio, double DwRatio,
    double StepRatioExact, double StepRatioKeptOnly, double DenseFractionOfCeiling, double SparseForwardGflops);

/// <summary>
/// A layer shape y[tokens, out] = x[tokens, in]·Wᵀ swept over densities, with the crossover densities (the largest
/// density at which sparse still wins, interpolated between sweep points in log–log; null when it never wins,
/// the largest swept density when it always does).
/// </summary>
public sealed record SparseBenchShape(int Outputs, int Inputs, int Tokens, IReadOnlyList<SparseBenchRow> Rows,
    double? ForwardCrossover, double? DxCrossover, double? StepExactCrossover, double? StepKeptOnlyCrossover)
{
    public string Shape => $"{Outputs}x{Inputs}";
}

/// <summary>The whole sweep, with the machine's load and FMA ceiling while it ran.</summary>
public sealed record SparseBenchReport(int Threads, string LoadBefore, string LoadAfter, double CeilingGflops, IReadOnlyList<SparseBenchShape> Shapes);

/// <summary>
/// The three products of a weight-sparse linear layer on compressed rows (<see cref="SparseGemm"/>) against our dense
/// GEMM at the same shape, interleaved: every round times dense forward, sparse forward, dense dx, sparse dx, dense
/// dW, sampled dW back to back, after a warm-up by time, so both sides see the same load. The sparse times include
/// gathering the kept values out of the dense weight, as <c>Ops.SparseLinear</c> does per call. Kept entries are
/// uniform at random, exactly round(density·out·in) of them.
/// </summary>
public static class SparseBench
{
    /// <summary>The hidden matrices of the sparse-2l preset (d_model 128: c_attn 384×128, attention c_proj 128×128, MLP 512×128 and 128×512) and the paper's E = 4 MLP (4096×1024, 1024×4096).</summary>
    public static readonly (int Outputs, int Inputs)[] DefaultShapes = [(384, 128), (128, 128), (512, 128), (128, 512), (4096, 1024), (1024, 4096)];

    public static readonly double[] DefaultDensities = [1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128];

    public static SparseBenchReport Run((int Outputs, int Inputs)[]? shapes = null, double[]? densities = null, int tokens = 2048,
        int rounds = 3, int threads = 0, double sampleSeconds = 0.03, Action<SparseBenchShape, SparseBenchRow>? report = null,
        CancellationToken cancel = default)
    {
        int saved = Parallelism.Threads;
        if (threads > 0) Parallelism.Threads = threads;
        try
        {
            string before = BenchClock.LoadAverage();
            var ceilings = new List<double>();
            var results = new List<SparseBenchShape>();
            foreach (var (outputs, inputs) in shapes ?? DefaultShapes)
            {
                var rows = new List<SparseBenchRow>();
                var partial = new SparseBenchShape(outputs, inputs, tokens, rows, null, null, null, null);
                foreach (double density in (densities ?? DefaultDensities).OrderDescending())
                {
                    cancel.ThrowIfCancellationRequested();
                    var row = Measure(outputs, inputs, tokens, density, rounds, sampleSeconds, ceilings);
                    rows.Add(row);
                    report?.Invoke(partial, row);
                }
                results.Add(partial with
                {
                    ForwardCrossover = Crossover(rows, r => r.ForwardRatio), DxCrossover = Crossover(rows, r => r.DxRatio),
                    StepExactCrossover = Crossover(rows, r => r.StepRatioExact), StepKeptOnlyCrossover = Crossover(rows, r => r.StepRatioKeptOnly),
                });
            }
            return new SparseBenchReport(Parallelism.Threads, before, BenchClock.LoadAverage(), GemmBench.Median(ceilings), results);
        }
        finally { Parallelism.Threads = saved; }
    }

    /// <summary>
    /// The largest density with ratio ≥ 1: scanning from the sparsest row up, where the ratio first drops below 1
    /// the crossing is interpolated linearly in log ratio against log density.
    /// </summary>
    public static double? Crossover(IReadOnlyList<SparseBenchRow> rows, Func<SparseBenchRow, double> ratio)
    {
        var sorted = rows.OrderBy(r => r.Density).ToList();
        if (sorted.Count == 0 || ratio(sorted[0]) < 1) return null;
        for (int i = 1; i < sorted.Count; i++)
        {
            double r0 = ratio(sorted[i - 1]), r1 = ratio(sorted[i]);
            if (r1 >= 1) continue;
            double x0 = Math.Log(sorted[i - 1].Density), x1 = Math.Log(sorted[i].Density);
            double f = Math.Log(r0) / (Math.Log(r0) - Math.Log(r1));
            return Math.Exp(x0 + f * (x1 - x0));
        }
        return sorted[^1].Density;
    }

    static unsafe SparseBenchRow Measure(int outputs, int inputs, int n, double density, int rounds, double sampleSeconds, List<double> ceilings)
    {
        var rng = new Rng(7);
        var w = new Tensor<float>(outputs, inputs);
        var x = new Tensor<float>(n, inputs);
        var dy = new Tensor<float>(n, outputs);
        rng.FillUniform(x.Span, -1, 1);
        rng.FillUniform(dy.Span, -1, 1);
        var random = new Random(11);
        long size = (long)outputs * inputs;
        int kept = (int)Math.Max(1, Math.Round(density * size));
        var order = Enumerable.Range(0, (int)size).ToArray();
        random.Shuffle(order);
        foreach (int i in order.AsSpan(0, kept)) w[i] = (float)(random.NextDouble() * 2 - 1);
        var pattern = SparsePattern.FromNonZeros<float>(w.Span, outputs, inputs);
        _ = pattern.Transposed;
        var values = new float[pattern.NonZeros];
        var transposedValues = new float[pattern.NonZeros];
        var y = new Tensor<float>(n, outputs);
        var dx = new Tensor<float>(n, inputs);
        var dw = new Tensor<float>(outputs, inputs);

        Action[] kernels =
        [
            () => Gemm.Sgemm(false, true, n, outputs, inputs, 1, x.Pointer, inputs, w.Pointer, inputs, 0, y.Pointer, outputs),
            () =>
            {
                pattern.Gather<float>(w.Span, values);
                SparseGemm.MultiplyTransposed<float>(x.Span, n, pattern, values, y.Span, accumulate: false);
            },
            () => Gemm.Sgemm(false, false, n, inputs, outputs, 1, dy.Pointer, outputs, w.Pointer, inputs, 0, dx.Pointer, inputs),
            () =>
            {
                pattern.Gather<float>(w.Span, values);
                pattern.GatherTransposed<float>(values, transposedValues);
                SparseGemm.MultiplyTransposed<float>(dy.Span, n, pattern.Transposed, transposedValues, dx.Span, accumulate: false);
            },
            () => Gemm.Sgemm(true, false, outputs, inputs, n, 1, dy.Pointer, outputs, x.Pointer, inputs, 0, dw.Pointer, inputs),
            () => { dw.Clear(); SparseGemm.SampledProductAdd<float>(dy.Span, x.Span, n, pattern, dw.Span); },
        ];
        var calls = kernels.Select(k => CallsPerSample(k, sampleSeconds)).ToArray();
        var times = kernels.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            ceilings.Add(FmaCeiling.Measure(Parallelism.Threads, Math.Min(0.02, sampleSeconds)));
            for (int k = 0; k < kernels.Length; k++)
            {
                var watch = Stopwatch.StartNew();
                for (int c = 0; c < calls[k]; c++) kernels[k]();
                times[k].Add(watch.Elapsed.TotalMilliseconds / calls[k]);
            }
        }
        double Ratio(int dense, int sparse) => GemmBench.Median([.. Enumerable.Range(0, rounds).Select(r => times[dense][r] / times[sparse][r])]);
        double Step(bool keptOnly) => GemmBench.Median([.. Enumerable.Range(0, rounds).Select(r =>
            (times[0][r] + times[2][r] + times[4][r]) / (times[1][r] + times[3][r] + (keptOnly ? times[5][r] : times[4][r])))]);
        double M(int k) => GemmBench.Median(times[k]);
        double denseGflops = 2.0 * n * size / (M(0) / 1e3) / 1e9;
        return new SparseBenchRow(density, pattern.NonZeros, M(0), M(1), M(2), M(3), M(4), M(5), Ratio(0, 1), Ratio(2, 3), Ratio(4, 5),
            Step(false), Step(true), denseGflops / GemmBench.Median(ceilings), 2.0 * n * pattern.NonZeros / (M(1) / 1e3) / 1e9);
    }

    /// <summary>Warms a kernel up by time (JIT tiers, first-touch pages) and returns how many calls fill a sample.</summary>
    static int CallsPerSample(Action kernel, double sampleSeconds)
    {
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < Math.Max(0.1, 3 * sampleSeconds) || calls < 2) { kernel(); calls++; }
        return Math.Max(1, (int)Math.Round(sampleSeconds / (watch.Elapsed.TotalSeconds / calls)));
    }
}
