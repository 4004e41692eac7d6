using System.Diagnostics;
using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.Models;

namespace Mechanist.Bench;

/// <summary>
/// Training speed of one weight-sparse configuration three ways, tokens/s medians over rounds: the same architecture
/// and recipe at density 1 (`sparse train --weight-density 1`, the dense baseline), sparse training on dense GEMMs, and
/// sparse training on the sparse kernels. Ratios are medians of per-round ratios (above 1: faster than the dense baseline).
/// </summary>
public sealed record SparseTrainingResult(string Preset, double Density, int Batch, int Context, int Rounds, double DenseTokensPerSecond,
    double SparseGemmTokensPerSecond, double SparseKernelTokensPerSecond, double GemmRatio, double KernelRatio, double KernelOverGemm,
    string LoadBefore, string LoadAfter);

/// <summary>
/// End-to-end training steps (<see cref="TrainingStep"/>: forward, backward, the recipe's RMS gradient normalisation,
/// Adam, the top-k projection of <see cref="WeightSparsifier"/>) timed after the anneal, where every sparsified matrix is
/// at its final density: the run is set up as the second half of a longer one. Every round times the three variants back
/// to back on their own models (random weights, random tokens), after untimed warm-up steps.
/// </summary>
public static class SparseTrainingBench
{
    public static SparseTrainingResult Run(string preset = "sparse-2l", int vocab = 2048, double density = 1.0 / 64, int batch = 16,
        int steps = 3, int rounds = 3, Action<string>? log = null, CancellationToken cancel = default)
    {
        var config = TransformerConfig.Preset(preset, vocab);
        const long total = 1000, start = 600; // past the anneal's end (50 %): every tensor at its final density
        var windows = new int[batch * (config.Context + 1)];
        var rng = new Mechanist.Numerics.Rng(3);
        for (int i = 0; i < windows.Length; i++) windows[i] = rng.NextInt(config.Vocab);
        (TrainingStep Step, long Next)[] variants = [Setup(config, total, 1, false), Setup(config, total, density, false), Setup(config, total, density, true)];
        string before = BenchClock.LoadAverage();
        for (int v = 0; v < variants.Length; v++)
            for (int i = 0; i < 2; i++) variants[v].Step.Run(windows, batch, start + variants[v].Next++);
        var rates = variants.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                cancel.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++) variants[v].Step.Run(windows, batch, start + variants[v].Next++);
                rates[v].Add((double)steps * batch * config.Context / clock.Elapsed.TotalSeconds);
            }
            log?.Invoke($"round {r + 1}/{rounds}: dense {rates[0][^1]:N0}, sparse on dense GEMMs {rates[1][^1]:N0}, sparse on sparse kernels {rates[2][^1]:N0} tokens/s");
        }
        double Ratio(int a, int b) => GemmBench.Median([.. Enumerable.Range(0, rounds).Select(r => rates[a][r] / rates[b][r])]);
        return new SparseTrainingResult(preset, density, batch, config.Context, rounds, GemmBench.Median(rates[0]), GemmBench.Median(rates[1]),
            GemmBench.Median(rates[2]), Ratio(1, 0), Ratio(2, 0), Ratio(2, 1), before, BenchClock.LoadAverage());
    }

    /// <summary>A model and its step as `sparse train` builds them; density 1 is its dense baseline (the same recipe, nothing pruned).</summary>
    static (TrainingStep, long) Setup(TransformerConfig config, long total, double density, bool sparseKernels)
    {
        var model = Transformer<float>.Create(config, 0);
        var schedule = new SparseSchedule(total, density, SparseSchedule.DefaultEmbeddingDensity(density));
        var optimizer = new AdamW(model.Parameters, SparseSchedule.LearningRate, SparseSchedule.Beta1, SparseSchedule.Beta2, SparseSchedule.AdamEpsilon, SparseSchedule.WeightDecay);
        return (new TrainingStep(model, optimizer, schedule.LearningRates(), SparseSchedule.LearningRate, 1f, new WeightSparsifier(model, schedule, sparseKernels)), 0);
    }
}
