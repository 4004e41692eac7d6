using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// One thread's packing buffers, 64-byte aligned native memory allocated once per thread and reused by
/// every GEMM that thread runs (no per-call allocation). Freed when the thread and its scratch die.
/// </summary>
sealed unsafe class GemmScratch
{
    [ThreadStatic] static GemmScratch? _current;

    public static GemmScratch Current => _current ??= new GemmScratch();

    public readonly float* A, B, Tile;
    float* _sharedB;
    nint _sharedBFloats;

    /// <summary>
    /// A buffer of at least <paramref name="floats"/> for an op(B) packed once and read by all the threads
    /// of one split GEMM (owned by the calling thread; grown, never shrunk).
    /// </summary>
    public float* SharedB(nint floats)
    {
        if (floats > _sharedBFloats)
        {
            NativeMemory.AlignedFree(_sharedB);
            _sharedB = null;
            _sharedB = Allocate(floats);
            _sharedBFloats = floats;
        }
        return _sharedB;
    }

    GemmScratch()
    {
        A = Allocate((nint)GemmDriver.MP * GemmDriver.KC + 16); // slack for 8-wide stores of 6-wide steps
        B = Allocate((nint)GemmDriver.KC * GemmDriver.NC);
        Tile = Allocate(GemmKernel512.MR * GemmKernel512.NR);
    }

    static float* Allocate(nint floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

    ~GemmScratch()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(Tile);
        NativeMemory.AlignedFree(_sharedB);
    }
}
