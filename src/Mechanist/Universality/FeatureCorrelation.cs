using System.Diagnostics;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// A/B feature universality (docs/METHODS.md §3.4): two dictionaries encode the same tokens, batch by batch, and
/// every pair of latents is correlated by the sparse streaming Pearson (<see cref="SparsePearsonAccumulator"/>);
/// the two models' units at the hook are correlated densely as the baseline. Model A's rows go to dictionary A
/// and model B's to dictionary B; with one set of rows (<c>data.Layouts.Count == 1</c>) both read it and there is
/// no neuron baseline.
/// </summary>
public static class FeatureCorrelation
{
    public static unsafe FeatureUniversality Correlate(IUnitBatches data, SparseAutoencoder a, SparseAutoencoder b,
        LogitWeightCorrelation.Models? models = null, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        progress ??= IProgressReporter.None;
        var layouts = data.Layouts;
        if (layouts.Count is < 1 or > 2) throw new ArgumentException($"{layouts.Count} row sets: expected A's alone or A's and B's");
        if (a.DIn != layouts[0].Units) throw new UserError($"dictionary A reads d_in = {a.DIn} values per token, but its rows have {layouts[0].Units}");
        if (b.DIn != layouts[^1].Units) throw new UserError($"dictionary B reads d_in = {b.DIn} values per token, but its rows have {layouts[^1].Units}");
        bool twoModels = layouts.Count == 2;

        var buffers = layouts.Select(l => GC.AllocateUninitializedArray<float>(data.MaxTokens * l.Units, pinned: true)).ToArray();
        var features = SparsePearsonAccumulator.NewSums(a.DSae, b.DSae);
        var firing = new long[a.DSae];
        PearsonSums? neurons = null;
        PearsonAccumulator? dense = null;
        long tokens = 0, activeA = 0, activeB = 0;
        var sparseClock = new Stopwatch();
        using (var task = progress.Start("features: A × B", data.BatchCount, "batch"))
        {
            for (int batch = 0; batch < data.BatchCount; batch++)
            {
                cancel.ThrowIfCancellationRequested();
                int n = data.Read(batch, buffers);
                if (n == 0) { task.Advance(1); continue; }
                var xa = Tensor.FromArray(buffers[0].AsSpan(0, n * a.DIn), n, a.DIn);
                var codesA = a.Encode(xa);
                var codesB = b.Encode(twoModels ? Tensor.FromArray(buffers[1].AsSpan(0, n * b.DIn), n, b.DIn) : xa);
                sparseClock.Start();
                SparsePearsonAccumulator.Add(features, codesA, codesB);
                sparseClock.Stop();
                foreach (int i in codesA.Indices.AsSpan(0, codesA.Offsets[^1])) firing[i]++;
                activeA += codesA.Offsets[^1];
                activeB += codesB.Offsets[^1];
                if (twoModels)
                {
                    if (neurons == null)
                    {
                        // Provisional means from the first batch: neurons are dense, and shifting keeps Q − S²/n from cancelling.
                        neurons = new PearsonSums(UnitMoments.ColumnMeans(buffers[0], n, layouts[0].Units), UnitMoments.ColumnMeans(buffers[1], n, layouts[1].Units));
                        dense = new PearsonAccumulator(layouts[0].Units, layouts[1].Units, data.MaxTokens);
                    }
                    fixed (float* x = buffers[0]) fixed (float* y = buffers[1])
                    {
                        dense!.SetRows(x, layouts[0].Units, n, neurons.Rows.Shift);
                        dense.AddTo(neurons, y, layouts[1].Units);
                    }
                }
                tokens += n;
                task.Advance(1);
                task.SetStatus($"{tokens:N0} tok, L0 {(double)activeA / tokens:0.0} / {(double)activeB / tokens:0.0}");
            }
        }
        if (tokens < 2) throw new UserError($"{tokens} tokens read: correlations need at least 2");

        var best = features.RowMaxima();
        var logit = models is { } m ? LogitWeightCorrelation.Of(m, a, b, best.ArgMax) : Enumerable.Repeat(float.NaN, a.DSae).ToArray();
        var density = firing.Select(c => (double)c / tokens).ToArray();
        return new FeatureUniversality(best.ArgMax, best.Max, logit, density, neurons?.RowMaxima(), tokens,
            (double)activeA / tokens, (double)activeB / tokens, b.DSae, sparseClock.Elapsed.TotalSeconds, data.Describe());
    }
}
