using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Mechanist.Tests.Activations;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class HeadCompositionTests
{
    [Fact]
    public void Scores_are_the_normalised_norms_of_the_full_head_matrices_maximised_over_heads()
    {
        var config = new TransformerConfig { Layers = 3, DModel = 8, Heads = 2, DMlp = 6, Context = 4, Vocab = HarvestFixture.Vocab, Activation = Activation.GeluNew };
        var model = Transformer<float>.Create(config, 11);
        var scores = HeadComposition.Of(model);
        int d = 8, dh = 4, mlp = 6;
        double[,] Head(int layer, int head, int a, int b, bool ov)
        {
            // W_Q·W_Kᵀ (a = 0, b = d) or W_V·W_O, as full d × d matrices.
            var w = model.Blocks[layer].AttnWeight.Value;
            var wo = model.Blocks[layer].AttnOutWeight.Value;
            var m = new double[d, d];
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    for (int k = 0; k < dh; k++)
                        m[i, j] += ov ? w[i * 3 * d + 2 * d + head * dh + k] * (double)wo[(head * dh + k) * d + j]
                                      : w[i * 3 * d + a + head * dh + k] * (double)w[j * 3 * d + b + head * dh + k];
            return m;
        }
        double Score(double[,] m, double[] x, bool left)
        {
            double fro = 0, xn = 0, yn = 0;
            foreach (double v in m) fro += v * v;
            foreach (double v in x) xn += v * v;
            for (int j = 0; j < d; j++)
            {
                double y = 0;
                for (int i = 0; i < d; i++) y += left ? x[i] * m[i, j] : m[j, i] * x[i];
                yn += y * y;
            }
            return Math.Sqrt(yn / (xn * fro));
        }
        for (int l = 0; l < 3; l++)
            for (int n = 0; n < mlp; n++)
            {
                var wout = Enumerable.Range(0, d).Select(k => (double)model.Blocks[l].MlpOutWeight!.Value[n * d + k]).ToArray();
                var win = Enumerable.Range(0, d).Select(k => (double)model.Blocks[l].MlpInWeight!.Value[k * mlp + n]).ToArray();
                double q = double.NaN, k_ = double.NaN, v = double.NaN, o = double.NaN;
                for (int hl = 0; hl < 3; hl++)
                    for (int h = 0; h < 2; h++)
                    {
                        var qk = Head(hl, h, 0, d, false);
                        var ov = Head(hl, h, 0, 0, true);
                        if (hl > l)
                        {
                            q = Max(q, Score(qk, wout, true));
                            k_ = Max(k_, Score(qk, wout, false));
                            v = Max(v, Score(ov, wout, true));
                        }
                        else o = Max(o, Score(ov, win, false));
                    }
                int u = l * mlp + n;
                Check(q, scores[0][u]); Check(k_, scores[1][u]); Check(v, scores[2][u]); Check(o, scores[3][u]);
            }
    }

    static double Max(double a, double b) => double.IsNaN(a) || b > a ? b : a;

    static void Check(double expected, double actual)
    {
        if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual));
        else Assert.Equal(expected, actual, 1e-5);
    }
}
