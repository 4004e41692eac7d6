using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// The unit-norm decoder under Adam (METHODS §2.1): before the step, each decoder row's gradient loses its
/// component along the row, g ← g − (g·d)d, so the step moves the row tangentially and the renormalisation after
/// it only corrects second-order drift. The sparse and the dense paths both call this, on every latent that fired.
/// </summary>
internal static class DecoderGradientProjection
{
    /// <summary>g ← g − (g·d)d for a unit decoder row d and its gradient g.</summary>
    public static void Project<T>(ReadOnlySpan<T> decoderRow, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T> =>
        VectorMath.Axpy(-VectorMath.Dot<T>(gradient, decoderRow), decoderRow, gradient);
}
