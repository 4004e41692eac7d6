using Mechanist.Numerics;

namespace Mechanist.Features.Statistics;

/// <summary>
/// The k most similar units by cosine of their direction vectors (features: decoder rows; neurons: W_out rows),
/// self excluded, most similar first. Rows are normalised once and compared in chunks by one GEMM each
/// ([chunk, d] × [d, units]), so memory stays at chunk × units floats.
/// </summary>
public static class NearestNeighbours
{
    const int Chunk = 256;

    public static Neighbour[][] Compute(Tensor directions, int k = 10)
    {
        int units = directions.RowCount, d = directions.Columns;
        var normalised = new Tensor(Math.Max(units, 1), d);
        for (int i = 0; i < units; i++)
        {
            var src = directions.Row(i);
            double sq = 0;
            foreach (float x in src) sq += (double)x * x;
            float scale = sq > 0 ? (float)(1 / Math.Sqrt(sq)) : 0;
            var dst = normalised.Row(i);
            for (int j = 0; j < d; j++) dst[j] = src[j] * scale;
        }
        var result = new Neighbour[units][];
        if (units == 0) return result;
        k = Math.Min(k, units - 1);
        var cosines = new Tensor(Math.Min(Chunk, units), units);
        for (int start = 0; start < units; start += Chunk)
        {
            int n = Math.Min(Chunk, units - start);
            var output = cosines.Rows(0, n);
            Gemm.Multiply(false, true, n, units, d, 1f, normalised.Rows(start, n).Span, d, normalised.Rows(0, units).Span, d, 0f, output.Span, units);
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Threads }, i =>
                result[start + i] = Top(cosines.Row(i), start + i, k));
        }
        return result;
    }

    /// <summary>The k largest entries of row except index self; ties by lower id.</summary>
    static Neighbour[] Top(ReadOnlySpan<float> row, int self, int k)
    {
        if (k == 0) return []; // --nearest 0, or a single unit: nothing to compare against best[^1]
        var best = new List<Neighbour>(k + 1);
        for (int j = 0; j < row.Length; j++)
        {
            if (j == self) continue;
            float c = row[j];
            if (best.Count == k && !(c > best[^1].Cosine)) continue;
            int at = best.Count;
            while (at > 0 && c > best[at - 1].Cosine) at--;
            best.Insert(at, new Neighbour(j, c));
            if (best.Count > k) best.RemoveAt(k);
        }
        return [.. best];
    }
}
