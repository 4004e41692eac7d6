using Mechanist.Autograd;

namespace Mechanist.Models;

/// <summary>Loss of a model on fixed windows, without recording gradients.</summary>
public static class Evaluation
{
    /// <summary>Mean next-token loss (nats/token) over windows [n, context+1], evaluated <paramref name="batch"/> at a time.</summary>
    public static double MeanLoss(Transformer<float> model, int[] windows, int context, int batch, IProgressTask? progress = null)
    {
        int w = context + 1, n = windows.Length / w;
        if (n == 0) throw new UserError("no complete windows to evaluate on");
        double total = 0;
        using var _ = Tape.NoGrad();
        for (int start = 0; start < n; start += batch)
        {
            int b = Math.Min(batch, n - start);
            var chunk = windows.AsSpan(start * w, b * w).ToArray();
            total += (double)model.Loss(chunk, b).Value[0] * b;
            progress?.Advance((long)b * context);
        }
        return total / n;
    }
}
