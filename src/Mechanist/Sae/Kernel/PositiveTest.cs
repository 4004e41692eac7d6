using System.Numerics;
using System.Runtime.Intrinsics;

namespace Mechanist.Sae;

/// <summary>z > 0: relu, and gated's gate.</summary>
internal readonly struct PositiveTest<T> : ILatentTest<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Passes(Vector512<T> z, int q) => Vector512.GreaterThan(z, Vector512<T>.Zero);
    public bool Passes(T z, int q) => z > T.Zero;
}
