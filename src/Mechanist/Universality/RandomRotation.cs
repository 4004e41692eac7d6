using Mechanist.Numerics;

namespace Mechanist.Universality;

/// <summary>Random d×d matrices for the rotation baselines (METHODS.md §5.3), row-major float32.</summary>
public static class RandomRotation
{
    /// <summary>The paper's: rows drawn N(0, 1) and scaled to unit length (nearly, not exactly, orthogonal).</summary>
    public static float[] GaussianRows(int d, Rng rng)
    {
        var g = new float[d * d];
        rng.FillNormal(g, 0, 1);
        for (int i = 0; i < d; i++)
        {
            var row = g.AsSpan(i * d, d);
            double norm = 0;
            foreach (float v in row) norm += (double)v * v;
            float scale = (float)(1 / Math.Sqrt(norm));
            for (int j = 0; j < d; j++) row[j] *= scale;
        }
        return g;
    }

    /// <summary>
    /// A Haar-distributed orthogonal matrix: Q of the QR decomposition of a Gaussian matrix with the signs
    /// fixed so diag(R) > 0 (Mezzadri 2007). Gram–Schmidt (twice, for orthogonality to rounding) yields exactly
    /// that Q, since it makes each R_ii the positive norm; computed in float64, returned as rows q_i.
    /// </summary>
    public static float[] Haar(int d, Rng rng)
    {
        var draw = new float[d * d];
        rng.FillNormal(draw, 0, 1);
        var q = new double[d * d]; // row i holds column i of the Gaussian matrix, then of Q
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) q[i * d + j] = draw[j * d + i];
        for (int i = 0; i < d; i++)
        {
            var qi = q.AsSpan(i * d, d);
            for (int pass = 0; pass < 2; pass++)
            {
                var dots = new double[i];
                var snapshot = q;
                int row = i;
                Parallel.For(0, i, k => dots[k] = Dot(snapshot.AsSpan(k * d, d), snapshot.AsSpan(row * d, d)));
                for (int k = 0; k < i; k++)
                {
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(q.AsSpan(k * d, d), -dots[k], qi, qi);
                }
            }
            double norm = Math.Sqrt(Dot(qi, qi));
            for (int j = 0; j < d; j++) qi[j] /= norm;
        }
        // Q's columns are the q_i; the rotation applied to a row vector y is Q·y, whose row j is Σ_i Q[j, i] y_i.
        var result = new float[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) result[j * d + i] = (float)q[i * d + j];
        return result;
    }

    static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}
