namespace Mechanist.Tests.Autograd;

/// <summary>
/// Adam and AdamW computed independently in doubles, written from the formula (Kingma and Ba) with torch's
/// conventions: AdamW shrinks w by lr·wd before the moments, Adam adds wd·w to g; the bias corrections divide the
/// step size by 1−β1^t and √v by √(1−β2^t), and ε is added after that division.
/// </summary>
static class AdamReference
{
    /// <param name="gradient">The gradient of entry i at step t (from 1), given that entry's weight before the step.</param>
    public static double[] Run(double[] w0, int steps, Func<int, int, double, double> gradient,
        double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        var w = (double[])w0.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= steps; t++)
            for (int i = 0; i < w.Length; i++)
            {
                double g = gradient(t, i, w[i]);
                if (decoupled) w[i] *= 1 - lr * wd;
                else g += wd * w[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                w[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
        return w;
    }
}
