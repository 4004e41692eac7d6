using System.Numerics;
using System.Runtime.Intrinsics;

namespace Mechanist.Sae;

/// <summary>Whether latent q fires given its pre-activation z, sixteen (or eight) lanes at a time or one by one (see <see cref="LatentSelection"/>).</summary>
internal interface ILatentTest<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes of z (latents q, q+1, …) that pass: all bits set where they do.</summary>
    Vector512<T> Passes(Vector512<T> z, int q);
    bool Passes(T z, int q);
}
