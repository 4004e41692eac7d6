namespace Mechanist.Sae;

/// <summary>
/// The geometric median of a set of points (the point minimising the sum of Euclidean distances), by
/// Weiszfeld's iteration from the mean. Used to initialise the SAE's decoder bias (Towards Monosemanticity):
/// unlike the mean it is not dragged by the rare huge-norm activations.
/// </summary>
public static class GeometricMedian
{
    /// <param name="points">Rows of a [n, d] tensor.</param>
    public static float[] Compute(Tensor points, int maxIterations = 100, double tolerance = 1e-5)
    {
        int n = points.RowCount, d = points.Columns;
        var y = new double[d];
        if (n == 0) return new float[d];
        for (int t = 0; t < n; t++) { var row = points.Row(t); for (int j = 0; j < d; j++) y[j] += row[j]; }
        for (int j = 0; j < d; j++) y[j] /= n;
        var next = new double[d];
        for (int iter = 0; iter < maxIterations; iter++)
        {
            Array.Clear(next);
            double totalWeight = 0;
            for (int t = 0; t < n; t++)
            {
                var row = points.Row(t);
                double dist = 0;
                for (int j = 0; j < d; j++) { double diff = row[j] - y[j]; dist += diff * diff; }
                double w = 1 / Math.Max(Math.Sqrt(dist), 1e-8);
                totalWeight += w;
                for (int j = 0; j < d; j++) next[j] += w * row[j];
            }
            double change = 0, size = 0;
            for (int j = 0; j < d; j++)
            {
                next[j] /= totalWeight;
                change += (next[j] - y[j]) * (next[j] - y[j]);
                size += next[j] * next[j];
                y[j] = next[j];
            }
            if (Math.Sqrt(change) <= tolerance * Math.Max(1, Math.Sqrt(size))) break;
        }
        return y.Select(v => (float)v).ToArray();
    }
}
