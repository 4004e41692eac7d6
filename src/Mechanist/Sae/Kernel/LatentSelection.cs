using System.Numerics;
using Mechanist.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Sae;

/// <summary>
/// Picking the latents a test passes, 64 at a time as bit masks (SIMD compares; most lanes fail), for the
/// architectures whose firing is a per-latent test (relu, batchtopk, jumprelu, and gated's gate).
/// </summary>
internal static class LatentSelection
{
    /// <summary>
    /// Two passes over each token's pre-activations: count the latents <paramref name="test"/> passes, then, with the
    /// offsets known, fill the token's entries with them and their values, in latent order. With
    /// <paramref name="bias"/>, the first pass adds it to the encoder product first.
    /// </summary>
    public static void Select<T, TTest>(SaeBatch<T> b, TTest test, Mechanist.Numerics.Tensor<T>? bias, int workers)
        where T : unmanaged, IFloatingPointIeee754<T> where TTest : struct, ILatentTest<T>
    {
        int m = b.M;
        var pre = b.Pre; var count = b.Count;
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var z = pre.AsSpan(t * m, m);
                if (bias != null) VectorMath.Axpy(T.One, bias.Span, z);
                count[t] = Count<T, TTest>(z, test);
            }
        });
        b.SetOffsets();
        var offset = b.Offset; var index = b.Index; var value = b.Value;
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++) Fill(pre.AsSpan(t * m, m), test, index.AsSpan(offset[t]), value.AsSpan(offset[t]));
        });
    }

    /// <summary>How many latents of z pass.</summary>
    public static int Count<T, TTest>(ReadOnlySpan<T> z, in TTest test)
        where T : unmanaged, IFloatingPointIeee754<T> where TTest : struct, ILatentTest<T>
    {
        int n = 0;
        for (int i = 0; i < z.Length; i += 64) n += BitOperations.PopCount(Mask(z, i, test));
        return n;
    }

    /// <summary>The latents of z that pass into <paramref name="index"/> and, unless it is empty, their z into <paramref name="value"/>; returns how many.</summary>
    public static int Fill<T, TTest>(ReadOnlySpan<T> z, in TTest test, Span<int> index, Span<T> value)
        where T : unmanaged, IFloatingPointIeee754<T> where TTest : struct, ILatentTest<T>
    {
        int e = 0;
        bool values = !value.IsEmpty;
        for (int i = 0; i < z.Length; i += 64)
        {
            ulong on = Mask(z, i, test);
            while (on != 0)
            {
                int j = i + BitOperations.TrailingZeroCount(on);
                index[e] = j;
                if (values) value[e] = z[j];
                e++;
                on &= on - 1;
            }
        }
        return e;
    }

    /// <summary>Bit b of the result: whether latent i+b (of up to 64 from i) passes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mask<T, TTest>(ReadOnlySpan<T> z, int i, in TTest test)
        where T : unmanaged, IFloatingPointIeee754<T> where TTest : struct, ILatentTest<T>
    {
        ulong mask = 0;
        int end = Math.Min(z.Length, i + 64), q = i;
        ref T rz = ref MemoryMarshal.GetReference(z);
        if (Vector512.IsHardwareAccelerated)
        {
            int lanes = Vector512<T>.Count;
            for (; q <= end - lanes; q += lanes)
                mask |= test.Passes(Vector512.LoadUnsafe(ref rz, (nuint)q), q).ExtractMostSignificantBits() << (q - i);
        }
        for (; q < end; q++)
            if (test.Passes(Unsafe.Add(ref rz, q), q)) mask |= 1UL << (q - i);
        return mask;
    }
}
