using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.Numerics;

namespace Mechanist.Tests.Features;

public class StatisticsLogitsAndNeighboursTests
{
    [Fact]
    public void LogitEffectsOfAHandMadeModelAreCentredScaledUnembeddedAndMedianShifted()
    {
        // r = [1, 2, 3] → centred [−1, 0, 1] → ×γ [1, 2, 0.5] → [−1, 0, 0.5]; logits for the five unembedding rows:
        // −1, 0, 0.5, 5 (token 3 never occurs: excluded), −1. Median of {−1, −1, 0, 0.5} = −0.5.
        var directions = Tensor.FromArray([1f, 2, 3, 0, 0, 0], 2, 3);
        float[] gain = [1, 2, 0.5f];
        var unembed = Tensor.FromArray([1f, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 10, 2, 0, 2], 5, 3);
        bool[] include = [true, true, true, false, true];
        var effects = LogitEffectCalculator.Compute(directions, gain, unembed, include, top: 2, bins: 3);

        var e = effects[0];
        Assert.Equal([(2, 1.0f), (1, 0.5f)], e.Top.Select(t => (t.TokenId, t.Value)));
        Assert.Equal([(0, -0.5f), (4, -0.5f)], e.Bottom.Select(t => (t.TokenId, t.Value)));
        Assert.Equal(-0.5f, e.Histogram.Min);
        Assert.Equal(1.0f, e.Histogram.Max);
        Assert.Equal([2L, 0, 2], e.Histogram.Counts);

        // A zero direction has no effect on any token.
        Assert.All(effects[1].Top.Concat(effects[1].Bottom), t => Assert.Equal(0f, t.Value));
        Assert.Equal(4, effects[1].Histogram.Total);
    }

    [Fact]
    public void LogitEffectsMatchADoublePrecisionOracleOnRandomWeights()
    {
        var rng = new Rng(5);
        int units = 300, d = 8, vocab = 41; // more units than one GEMM chunk
        var directions = new Tensor(units, d); rng.FillNormal(directions.Span, 0, 1);
        var gain = new float[d]; rng.FillUniform(gain, 0.5f, 1.5f);
        var unembed = new Tensor(vocab, d); rng.FillNormal(unembed.Span, 0, 1);
        var include = Enumerable.Range(0, vocab).Select(t => t % 5 != 0).ToArray();
        var effects = LogitEffectCalculator.Compute(directions, gain, unembed, include, top: 4, bins: 10);
        foreach (int u in new[] { 0, 17, 255, 256, 299 })
        {
            var r = directions.Row(u).ToArray();
            double mean = r.Average(x => (double)x);
            var w = Enumerable.Range(0, vocab).Where(t => include[t])
                .Select(t => (Id: t, V: Enumerable.Range(0, d).Sum(j => (r[j] - mean) * gain[j] * unembed[t * d + j]))).ToArray();
            var sorted = w.Select(x => x.V).Order().ToArray();
            double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
            var top = w.OrderByDescending(x => x.V).Take(4).ToArray();
            var bottom = w.OrderBy(x => x.V).Take(4).ToArray();
            Assert.Equal(top.Select(x => x.Id), effects[u].Top.Select(t => t.TokenId));
            Assert.Equal(bottom.Select(x => x.Id), effects[u].Bottom.Select(t => t.TokenId));
            for (int i = 0; i < 4; i++) Assert.Equal(top[i].V - median, effects[u].Top[i].Value, 4);
            Assert.Equal(w.Length, effects[u].Histogram.Total);
        }
    }

    [Fact]
    public void NearestNeighboursAreTheHighestCosinesExcludingSelf()
    {
        var rng = new Rng(9);
        int units = 270, d = 6;
        var rows = new Tensor(units, d); rng.FillNormal(rows.Span, 0, 1);
        for (int j = 0; j < d; j++) rows[5 * d + j] = 3 * rows[200 * d + j]; // unit 5 is a scaled copy of unit 200
        var nearest = NearestNeighbours.Compute(rows, k: 5);
        double Cos(int a, int b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < d; j++) { dot += rows[a * d + j] * rows[b * d + j]; na += rows[a * d + j] * rows[a * d + j]; nb += rows[b * d + j] * rows[b * d + j]; }
            return dot / Math.Sqrt(na * nb);
        }
        foreach (int u in new[] { 0, 5, 200, 255, 256, 269 })
        {
            var expected = Enumerable.Range(0, units).Where(v => v != u).OrderByDescending(v => Cos(u, v)).Take(5).ToArray();
            Assert.Equal(expected, nearest[u].Select(n => n.Id));
            Assert.All(nearest[u], n => Assert.Equal(Cos(u, n.Id), n.Cosine, 4));
        }
        Assert.Equal(new Neighbour(200, 1f), nearest[5][0] with { Cosine = MathF.Round(nearest[5][0].Cosine, 5) });
    }
}
