using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Universality;

/// <summary>
/// How strongly each MLP neuron composes with attention heads (docs/METHODS.md §5.4), in the row-vector convention
/// of the weights (x·W): for a head of a later layer reading the neuron's output w_out, as query ‖w_out·W_Q·W_Kᵀ‖,
/// as key ‖W_Q·W_Kᵀ·w_outᵀ‖, as value ‖w_out·W_V·W_O‖; for a head of the same or an earlier layer writing into its
/// input w_in, ‖W_V·W_O·w_in‖. Each is divided by ‖w‖ and the Frobenius norm of the head's matrix (Elhage et al.
/// 2021's normalisation, so 1 is the most a unit vector can get), and the columns hold each neuron's maximum over heads
/// (NaN where there is no such head). The Frobenius norms and the norms come from d_head × d_head Gram matrices:
/// ‖A·Bᵀ‖²_F = Σ (AᵀA) ∘ (BᵀB).
/// </summary>
public static class HeadComposition
{
    public static readonly string[] Columns = ["max_q_comp", "max_k_comp", "max_v_comp", "max_o_comp"];

    /// <summary>[column][unit], columns in the order of <see cref="Columns"/>.</summary>
    public static double[][] Of(Transformer<float> model)
    {
        var c = model.Config;
        int d = c.DModel, dh = c.DHead, mlp = c.DMlp, units = c.Layers * mlp;
        var result = Columns.Select(_ => Enumerable.Repeat(double.NaN, units).ToArray()).ToArray();
        var outNorms = new double[units];
        var inNorms = new double[units];
        for (int l = 0; l < c.Layers; l++)
        {
            var wout = model.Blocks[l].MlpOutWeight!.Value; var win = model.Blocks[l].MlpInWeight!.Value;
            for (int n = 0; n < mlp; n++)
            {
                double so = 0, si = 0;
                for (int k = 0; k < d; k++) { so += wout[n * d + k] * (double)wout[n * d + k]; si += win[k * mlp + n] * (double)win[k * mlp + n]; }
                outNorms[l * mlp + n] = Math.Sqrt(so); inNorms[l * mlp + n] = Math.Sqrt(si);
            }
        }
        var inputRows = model.Blocks.Select(b => Transposed(b.MlpInWeight!.Value.Span, d, mlp)).ToArray(); // [mlp, d]: row n is w_in
        var product = new float[mlp * dh];
        for (int hl = 0; hl < c.Layers; hl++)
        {
            var block = model.Blocks[hl];
            for (int head = 0; head < c.Heads; head++)
            {
                var wq = Slice(block.AttnWeight.Value, d, 3 * d, head * dh, dh);
                var wk = Slice(block.AttnWeight.Value, d, 3 * d, d + head * dh, dh);
                var wv = Slice(block.AttnWeight.Value, d, 3 * d, 2 * d + head * dh, dh);
                var woT = Transposed(block.AttnOutWeight.Value.Span.Slice(head * dh * d, dh * d), dh, d); // [d, dh]
                double[] gq = Gram(wq, d, dh), gk = Gram(wk, d, dh), gv = Gram(wv, d, dh), go = Gram(woT, d, dh);
                double qk = Math.Sqrt(Frobenius2(gq, gk)), ov = Math.Sqrt(Frobenius2(gv, go));
                for (int l = 0; l < c.Layers; l++)
                {
                    if (l < hl)
                    {
                        var wout = model.Blocks[l].MlpOutWeight!.Value.Span;
                        Update(result[0], l, wout, wq, gk, qk, outNorms);
                        Update(result[1], l, wout, wk, gq, qk, outNorms);
                        Update(result[2], l, wout, wv, go, ov, outNorms);
                    }
                    else
                    {
                        // W_V·W_O·w_in = W_V·(w_in·W_Oᵀ)ᵀ: rows of W_inᵀ·W_Oᵀ, then the quadratic form with W_VᵀW_V.
                        Update(result[3], l, inputRows[l], woT, gv, ov, inNorms);
                    }
                }

                void Update(double[] column, int l, ReadOnlySpan<float> w, float[] right, double[] gram, double frobenius, double[] norms)
                {
                    Gemm.Multiply(false, false, mlp, dh, d, 1f, w, d, right, dh, 0f, product, dh);
                    for (int n = 0; n < mlp; n++)
                    {
                        int unit = l * mlp + n;
                        double q = Quadratic(product.AsSpan(n * dh, dh), gram);
                        double score = norms[unit] > 0 && frobenius > 0 ? Math.Sqrt(Math.Max(0, q)) / (norms[unit] * frobenius) : 0;
                        if (double.IsNaN(column[unit]) || score > column[unit]) column[unit] = score;
                    }
                }
            }
        }
        return result;
    }

    /// <summary>Columns [start, start + width) of a row-major [rows, stride] matrix, as a contiguous [rows, width] array.</summary>
    static float[] Slice(Tensor<float> m, int rows, int stride, int start, int width)
    {
        var r = new float[rows * width];
        for (int i = 0; i < rows; i++) m.Span.Slice(i * stride + start, width).CopyTo(r.AsSpan(i * width, width));
        return r;
    }

    static float[] Transposed(ReadOnlySpan<float> m, int rows, int cols)
    {
        var t = new float[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }

    /// <summary>AᵀA of a row-major [rows, cols] matrix, in float64.</summary>
    static double[] Gram(float[] a, int rows, int cols)
    {
        var g = new double[cols * cols];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < cols; i++)
            {
                double x = a[r * cols + i];
                for (int j = 0; j < cols; j++) g[i * cols + j] += x * a[r * cols + j];
            }
        return g;
    }

    static double Frobenius2(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    static double Quadratic(ReadOnlySpan<float> x, double[] g)
    {
        int n = x.Length;
        double s = 0;
        for (int i = 0; i < n; i++)
        {
            double row = 0;
            for (int j = 0; j < n; j++) row += g[i * n + j] * x[j];
            s += x[i] * row;
        }
        return s;
    }
}
