using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Mechanist.Tests.Activations;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class NeuronStatisticsTests
{
    [Fact]
    public void Variance_reduction_from_the_sums_equals_the_direct_formula()
    {
        var rng = new Random(5);
        var sums = new ConditionalSums(2, 6, 4);
        var rows = new List<(float A, int Token)>();
        for (int t = 0; t < 400; t++)
        {
            int token = rng.Next(6);
            float a = token is 2 or 3 ? 3 + (float)rng.NextDouble() : (float)rng.NextDouble();
            rows.Add((a, token));
            sums.Add([a, (float)rng.NextDouble()], token, rng.Next(6), t % 4, 0);
        }
        // VR of the feature "token ∈ {2, 3}", computed from its definition.
        double Var(IEnumerable<float> xs) { var v = xs.Select(x => (double)x).ToArray(); double m = v.Average(); return v.Average(x => (x - m) * (x - m)); }
        var on = rows.Where(r => r.Token is 2 or 3).Select(r => r.A).ToList();
        var off = rows.Where(r => r.Token is not (2 or 3)).Select(r => r.A).ToList();
        double all = Var(rows.Select(r => r.A));
        double expected = (all - (on.Count / 400.0 * Var(on) + off.Count / 400.0 * Var(off))) / all;
        Assert.Equal(expected, sums.TokenSetVr(0, [2, 3], false), 1e-9);
        Assert.True(expected > 0.9);
        Assert.True(sums.TokenSetVr(1, [2, 3], false) < 0.05);
    }

    [Fact]
    public void Weight_statistics_follow_their_definitions()
    {
        var config = new TransformerConfig { Layers = 2, DModel = 16, Heads = 2, DMlp = 8, Context = 12, Vocab = HarvestFixture.Vocab, Activation = Activation.GeluNew };
        var model = Transformer<float>.Create(config, 3);
        var stats = NeuronStatistics.Of(model, null);
        var block = model.Blocks[1];
        int n = 5, unit = 8 + n;
        double inSq = 0, outSq = 0, dot = 0;
        for (int k = 0; k < 16; k++)
        {
            double a = block.MlpInWeight!.Value[k * 8 + n], b = block.MlpOutWeight!.Value[n * 16 + k];
            inSq += a * a; outSq += b * b; dot += a * b;
        }
        Assert.Equal(Math.Sqrt(inSq), stats["w_in_norm"][unit], 1e-5);
        Assert.Equal(inSq + outSq, stats["l2_penalty"][unit], 1e-5);
        Assert.Equal(dot / Math.Sqrt(inSq * outSq), stats["in_out_sim"][unit], 1e-5);
        Assert.True(double.IsNaN(stats["sparsity"][unit])); // no histogram given
        Assert.InRange(stats["vocab_var"][unit], 1e-6, 1);
    }

    [Fact]
    public void Histogram_gives_the_frequency_exactly_and_moments_of_the_bins()
    {
        var h = new PreActivationHistogram(1);
        float[] values = [-1, -0.5f, 0, 0.25f, 2, 3, -20, 40];
        h.Add(values, values.Length, 1, 0);
        h.CountTokens(values.Length);
        Assert.Equal(5 / 8.0, h.Frequency(0));
        var (mean, _, _, _) = h.Moments(0);
        Assert.InRange(mean, (-1 - 0.5 + 0 + 0.25 + 2 + 3 - 10 + 15) / 8.0 - 0.1, (-1 - 0.5 + 0 + 0.25 + 2 + 3 - 10 + 15) / 8.0 + 0.1);
    }
}
