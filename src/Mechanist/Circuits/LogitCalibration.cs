namespace Mechanist.Circuits;

/// <summary>
/// The fit the paper applies to a discretised circuit, whose logits are miscalibrated (docs/METHODS.md §6.5): a scale a
/// and shift b of the logit difference d = logit(target) − logit(alternative), minimising the mean contrast loss
/// softplus(−y(a·d + b)) (y = +1 when the target is right). The loss is convex in (a, b): 16 Newton steps (the paper uses
/// 16 L-BFGS steps) reach its minimum.
/// </summary>
public static class LogitCalibration
{
    public static (double Scale, double Shift, double Loss) Fit(IReadOnlyList<float> targetMinusAlternative, IReadOnlyList<bool> positive)
    {
        int n = targetMinusAlternative.Count;
        double a = 1, b = 0;
        for (int iteration = 0; iteration < 16; iteration++)
        {
            double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
            for (int i = 0; i < n; i++)
            {
                double d = targetMinusAlternative[i], y = positive[i] ? 1 : -1;
                double s = 1 / (1 + Math.Exp(y * (a * d + b))); // σ(−y·z): the loss's slope in z, times −y
                ga -= y * s * d; gb -= y * s;
                double w = s * (1 - s);
                haa += w * d * d; hab += w * d; hbb += w;
            }
            double det = haa * hbb - hab * hab;
            if (!(Math.Abs(det) > 1e-12)) break;
            a -= (hbb * ga - hab * gb) / det;
            b -= (haa * gb - hab * ga) / det;
        }
        return (a, b, Loss(targetMinusAlternative, positive, a, b));
    }

    public static double Loss(IReadOnlyList<float> targetMinusAlternative, IReadOnlyList<bool> positive, double scale, double shift)
    {
        double total = 0;
        for (int i = 0; i < targetMinusAlternative.Count; i++)
        {
            double z = (positive[i] ? 1 : -1) * (scale * targetMinusAlternative[i] + shift);
            total += z > 0 ? Math.Log(1 + Math.Exp(-z)) : -z + Math.Log(1 + Math.Exp(z));
        }
        return total / Math.Max(1, targetMinusAlternative.Count);
    }
}
