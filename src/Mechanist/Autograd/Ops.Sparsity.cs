using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Autograd;

public static unsafe partial class Ops
{
    /// <summary>
    /// AbsTopK (docs/METHODS.md §6.1): each row of x keeps its k entries of largest |x| and zeroes the rest; the
    /// gradient flows only to the kept entries (exactly k per row, ties to the lower column).
    /// </summary>
    public static Var<T> AbsTopK<T>(Var<T> x, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(x.Shape);
        var kept = new byte[x.Value.Length];
        Numerics.Kernels.AbsTopK.Forward(x.Value, k, y, kept);
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation().Span;
                var g = dy.Span;
                for (int i = 0; i < kept.Length; i++) if (kept[i] != 0) dx[i] += g[i];
            });
        return result;
    }
}
