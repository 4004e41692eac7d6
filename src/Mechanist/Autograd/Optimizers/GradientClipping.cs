using System.Runtime.Intrinsics;

namespace Mechanist.Autograd.Optimizers;

/// <summary>Global-norm gradient clipping with torch.nn.utils.clip_grad_norm_ semantics.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all gradients taken together and, when it exceeds <paramref name="maxNorm"/>,
    /// scales every gradient by maxNorm / (norm + 1e-6), as torch does. Returns the norm before clipping.
    /// A non-finite norm (a NaN or ∞ gradient) is returned with the gradients left as they are, so the
    /// caller can skip the step instead of spreading NaN through every parameter.
    /// </summary>
    public static float ClipGlobalNorm(IEnumerable<Parameter> parameters, float maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), "max norm must be > 0");
        var list = parameters as IReadOnlyList<Parameter> ?? parameters.ToList();
        double sumSquares = 0;
        foreach (var p in list) sumSquares += SumOfSquares(p.Grad.Span);
        double norm = Math.Sqrt(sumSquares);
        if (!double.IsFinite(norm)) return (float)norm;
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1)
        {
            float c = (float)coefficient;
            foreach (var p in list) Scale(p.Grad.Span, c);
        }
        return (float)norm;
    }

    /// <summary>
    /// Divides every gradient by the root mean square of all gradient entries taken together, every step (the
    /// weight-sparse recipe, docs/METHODS.md §6.2: the gradient always has RMS 1, so Adam's large ε 0.1 means the
    /// same at every step). Returns the L2 norm before the division; a non-finite or zero norm leaves the gradients as
    /// they are.
    /// </summary>
    public static float NormalizeRms(IEnumerable<Parameter> parameters)
    {
        var list = parameters as IReadOnlyList<Parameter> ?? parameters.ToList();
        double sumSquares = 0;
        long count = 0;
        foreach (var p in list) { sumSquares += SumOfSquares(p.Grad.Span); count += p.Grad.Length; }
        double norm = Math.Sqrt(sumSquares);
        if (!double.IsFinite(norm) || norm == 0 || count == 0) return (float)norm;
        float c = (float)(Math.Sqrt(count) / norm);
        foreach (var p in list) Scale(p.Grad.Span, c);
        return (float)norm;
    }

    static void Scale(Span<float> x, float c)
    {
        int i = 0;
        var vc = Vector512.Create(c);
        for (; i <= x.Length - 16; i += 16) (Vector512.Create(x.Slice(i, 16)) * vc).CopyTo(x.Slice(i, 16));
        for (; i < x.Length; i++) x[i] *= c;
    }

    /// <summary>Σ x²: float lanes within each 1,024-element block (short enough to keep float error small), double across blocks.</summary>
    static double SumOfSquares(ReadOnlySpan<float> x)
    {
        double total = 0;
        int i = 0;
        const int Block = 1024;
        while (i < x.Length)
        {
            int n = Math.Min(Block, x.Length - i);
            var chunk = x.Slice(i, n);
            var acc = Vector512<float>.Zero;
            int j = 0;
            for (; j <= n - 16; j += 16)
            {
                var v = Vector512.Create(chunk.Slice(j, 16));
                acc += v * v;
            }
            double part = Vector512.Sum(acc);
            for (; j < n; j++) part += (double)chunk[j] * chunk[j];
            total += part;
            i += n;
        }
        return total;
    }
}
