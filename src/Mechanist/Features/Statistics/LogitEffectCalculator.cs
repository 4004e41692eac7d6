using Mechanist.Numerics;

namespace Mechanist.Features.Statistics;

/// <summary>
/// Direct-path logit effects (docs/METHODS.md §3.2.5): for each unit direction r in the residual stream (a feature's
/// decoder row times W_out, or a neuron's W_out row), w = r·π·diag(γ_f)·W_U, where π removes the mean over
/// d_model (the final LayerNorm's centring) and γ_f is the final LayerNorm gain; then w − median(w). Tokens
/// that never occur in the analysed data are left out (they would dominate the tails with untrained rows).
/// All units go through one GEMM per chunk of rows: [chunk, d_model] × [d_model, vocab].
/// </summary>
public static class LogitEffectCalculator
{
    const int Chunk = 256;

    /// <param name="directions">[units, d_model]: each unit's write direction into the residual stream.</param>
    /// <param name="finalGain">γ_f, [d_model].</param>
    /// <param name="unembeddingRows">W_U as rows, [vocab, d_model].</param>
    /// <param name="include">Per token id: whether it counts (occurs in the analysed data).</param>
    public static LogitEffects[] Compute(Tensor directions, ReadOnlySpan<float> finalGain, Tensor unembeddingRows,
        bool[] include, int top = 10, int bins = 50)
    {
        int units = directions.RowCount, d = directions.Columns, vocab = unembeddingRows.RowCount;
        if (finalGain.Length != d || unembeddingRows.Columns != d)
            throw new ArgumentException($"directions have d_model {d}, the gain {finalGain.Length}, the unembedding {unembeddingRows.Columns}");
        if (include.Length != vocab) throw new ArgumentException($"include has {include.Length} tokens, the unembedding {vocab}");
        int[] kept = Enumerable.Range(0, vocab).Where(t => include[t]).ToArray();
        var result = new LogitEffects[units];
        if (kept.Length == 0) { Array.Fill(result, LogitEffects.Empty); return result; }

        var logits = new Tensor(Math.Min(Chunk, Math.Max(units, 1)), vocab);
        for (int start = 0; start < units; start += Chunk)
        {
            int n = Math.Min(Chunk, units - start);
            Weights(directions.Rows(start, n), finalGain, unembeddingRows, logits.Rows(0, n));
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Threads }, i =>
                result[start + i] = Effects(logits.Row(i), kept, top, bins));
        }
        return result;
    }

    /// <summary>
    /// Logit weights before the median shift: output[i] = (r_i − mean(r_i))·diag(γ_f)·W_U for each row r_i of
    /// <paramref name="directions"/> ([n, d_model]); <paramref name="output"/> is [n, vocab].
    /// </summary>
    public static void Weights(Tensor directions, ReadOnlySpan<float> finalGain, Tensor unembeddingRows, Tensor output)
    {
        int n = directions.RowCount, d = directions.Columns, vocab = unembeddingRows.RowCount;
        if (output.RowCount != n || output.Columns != vocab) throw new ArgumentException($"output is [{output.RowCount}, {output.Columns}], expected [{n}, {vocab}]");
        var chunk = new Tensor(n, d);
        for (int i = 0; i < n; i++)
        {
            var src = directions.Row(i);
            var dst = chunk.Row(i);
            float mean = 0;
            for (int j = 0; j < d; j++) mean += src[j];
            mean /= d;
            for (int j = 0; j < d; j++) dst[j] = (src[j] - mean) * finalGain[j];
        }
        Gemm.Multiply(false, true, n, vocab, d, 1f, chunk.Span, d, unembeddingRows.Span, d, 0f, output.Span, vocab);
    }

    /// <summary>Median-shifted effects of one unit over the kept tokens: top and bottom tokens and the histogram.</summary>
    public static LogitEffects Effects(ReadOnlySpan<float> logits, int[] kept, int top, int bins)
    {
        var values = new float[kept.Length];
        var ids = (int[])kept.Clone();
        for (int i = 0; i < kept.Length; i++) values[i] = logits[kept[i]];
        Array.Sort(values, ids);
        int n = values.Length;
        float median = n % 2 == 1 ? values[n / 2] : (float)(((double)values[n / 2 - 1] + values[n / 2]) / 2);
        for (int i = 0; i < n; i++) values[i] -= median;
        int k = Math.Min(top, n);
        // The sort already ranks the tokens; only ties at the cut need ordering (lower token id first on both ends).
        var lowest = Ends(values, ids, k, fromTop: false);
        var highest = Ends(values, ids, k, fromTop: true);
        float lo = values[0], hi = values[^1];
        var counts = new long[bins];
        float width = (hi - lo) / bins;
        foreach (float v in values) counts[width > 0 ? Math.Min(bins - 1, (int)((v - lo) / width)) : 0]++;
        return new LogitEffects(highest, lowest, new Histogram(lo, hi, counts));
    }

    /// <summary>The k largest (or smallest) of sorted values, ties broken by lower token id.</summary>
    static TokenValue[] Ends(float[] values, int[] ids, int k, bool fromTop)
    {
        int n = values.Length;
        if (k == 0) return [];
        float cut = fromTop ? values[n - k] : values[k - 1];
        // Every value strictly beyond the cut is in; of the values equal to it, the lowest ids fill the rest.
        var chosen = new List<(float Value, int Id)>();
        for (int i = 0; i < n; i++)
        {
            int at = fromTop ? n - 1 - i : i;
            float v = values[at];
            if (fromTop ? v < cut : v > cut) break;
            chosen.Add((v, ids[at]));
        }
        chosen.Sort((a, b) => a.Value != b.Value ? (fromTop ? b.Value.CompareTo(a.Value) : a.Value.CompareTo(b.Value)) : a.Id.CompareTo(b.Id));
        return chosen.Take(k).Select(c => new TokenValue(c.Id, c.Value)).ToArray();
    }
}
