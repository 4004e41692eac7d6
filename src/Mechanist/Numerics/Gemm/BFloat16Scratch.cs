using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// One thread's bf16 copies of a GEMM's two inputs: 64-byte aligned native buffers, grown when a larger
/// GEMM needs more and never shrunk, freed when the thread and its scratch die.
/// </summary>
sealed unsafe class BFloat16Scratch
{
    [ThreadStatic] static BFloat16Scratch? _current;

    public static BFloat16Scratch Current => _current ??= new BFloat16Scratch();

    BFloat16* _a, _b;
    nint _aLength, _bLength;

    public BFloat16* A(nint length) => Grow(ref _a, ref _aLength, length);

    public BFloat16* B(nint length) => Grow(ref _b, ref _bLength, length);

    static BFloat16* Grow(ref BFloat16* buffer, ref nint capacity, nint length)
    {
        if (length > capacity)
        {
            NativeMemory.AlignedFree(buffer);
            buffer = null;
            buffer = (BFloat16*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(BFloat16)), 64);
            capacity = length;
        }
        return buffer;
    }

    ~BFloat16Scratch()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
    }
}
