using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Autograd;

/// <summary>Ops that circuit pruning needs (docs/METHODS.md §6.5): hard gates, frozen norm scales and the two-sided contrast loss.</summary>
public static partial class Ops
{
    /// <summary>
    /// Hard gates with a surrogate gradient: forward H(τ) (1 where τ &gt; 0, else 0); backward as if it were
    /// sigmoid(τ), i.e. dτ = dy·σ(τ)(1 − σ(τ)) (temperature 1, the paper's straight-through estimator).
    /// </summary>
    public static Var<T> HardGate<T>(Var<T> tau) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = tau.Value;
        var y = new Tensor<T>(t.Shape);
        for (int i = 0; i < t.Length; i++) y[i] = t[i] > T.Zero ? T.One : T.Zero;
        bool record = Tape.ShouldRecord(tau);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dt = tau.GradForAccumulation();
                for (int i = 0; i < t.Length; i++)
                {
                    T s = T.One / (T.One + T.Exp(-t[i]));
                    dt[i] += dy[i] * s * (T.One - s);
                }
            });
        return result;
    }

    /// <summary>
    /// A norm whose scale is given rather than computed: y[r, :] = (x[r, :] − centre·mean(x[r, :])) / scale[r]
    /// (LayerNorm's x̂ with <paramref name="centre"/>, RMSNorm's without). No gradient flows through the scale: this
    /// is "frozen normalisation" (§6.6), the scales taken from another run (the unpruned model on the same prompts).
    /// </summary>
    public static Var<T> FrozenScaleNorm<T>(Var<T> x, Tensor<T> scale, bool centre) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var X = x.Value;
        int rows = X.RowCount, d = X.Columns;
        if (scale.Length != rows) throw new ArgumentException($"FrozenScaleNorm: {scale.Length} scales for {rows} rows");
        var y = new Tensor<T>(X.Shape);
        T n = T.CreateTruncating(d);
        for (int r = 0; r < rows; r++)
        {
            var xr = X.Row(r);
            var yr = y.Row(r);
            T mean = T.Zero;
            if (centre) { for (int j = 0; j < d; j++) mean += xr[j]; mean /= n; }
            T inv = T.One / scale[r];
            for (int j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv;
        }
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation();
                for (int r = 0; r < rows; r++)
                {
                    var dyr = dy.Row(r);
                    var dxr = dx.Row(r);
                    T mean = T.Zero;
                    if (centre) { for (int j = 0; j < d; j++) mean += dyr[j]; mean /= n; }
                    T inv = T.One / scale[r];
                    for (int j = 0; j < d; j++) dxr[j] += (dyr[j] - mean) * inv;
                }
            });
        return result;
    }

    /// <summary>
    /// The two-sided contrast loss of §6.4, per prompt: for row r of <paramref name="logits"/> [rows, vocab] (each
    /// prompt's last position), −log softmax over {right[r], wrong[r]} at right[r]. Returns the mean over rows (a pair of
    /// prompts, one whose answer is the task's target and one whose answer is its alternative, sums two rows: the mean is
    /// the pair sum halved, the per-prompt value the paper's viewer shows).
    /// </summary>
    public static Var<T> ContrastLoss<T>(Var<T> logits, int[] right, int[] wrong) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var L = logits.Value;
        int rows = L.RowCount, v = L.Columns;
        if (right.Length != rows || wrong.Length != rows) throw new ArgumentException($"ContrastLoss: {right.Length}/{wrong.Length} labels for {rows} rows");
        var miss = new T[rows]; // 1 − p(right) of each row: the gradient's size
        T total = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            T z = L[r * v + right[r]] - L[r * v + wrong[r]];
            // −log σ(z) = softplus(−z), written to stay finite for large |z|.
            total += z > T.Zero ? T.Log(T.One + T.Exp(-z)) : -z + T.Log(T.One + T.Exp(z));
            miss[r] = T.One / (T.One + T.Exp(z));
        }
        var y = new Tensor<T>(1);
        y[0] = total / T.CreateTruncating(rows);
        bool record = Tape.ShouldRecord(logits);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dl = logits.GradForAccumulation();
                T g = dy[0] / T.CreateTruncating(rows);
                for (int r = 0; r < rows; r++)
                {
                    dl[r * v + right[r]] -= g * miss[r];
                    dl[r * v + wrong[r]] += g * miss[r];
                }
            });
        return result;
    }
}
