using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Sparse;

/// <summary>
/// The float32 inner loops of <see cref="SparseGemm"/> on tiles of <see cref="Tile"/> tokens turned on their side:
/// a tile of a dense operand [tokens, width] is transposed into [width, Tile] so that one sparse entry (r, j)
/// becomes a broadcast weight times the contiguous row j (4 Vector512 FMAs for 64 tokens), instead of a gather
/// per token. The transposes use 8×8 register blocks (<see cref="GemmTranspose8"/>).
/// </summary>
static unsafe class SparseTiles
{
    /// <summary>Tokens per tile: 4 Vector512 (8 Vector256) accumulators per sparse row.</summary>
    public const int Tile = 64;

    /// <summary>dst[j·Tile + l] = src[l·ld + j] for l &lt; tokens, j &lt; width; lanes tokens..Tile-1 are zeroed.</summary>
    public static void TransposeIn(float* src, nint ld, int tokens, int width, float* dst)
    {
        int l = 0;
        if (GemmTranspose8.Supported)
            for (; l + 8 <= tokens; l += 8)
            {
                int j = 0;
                for (; j + 8 <= width; j += 8) GemmTranspose8.Block(src + l * ld + j, ld, dst + (nint)j * Tile + l, Tile, add: false);
                for (; j < width; j++)
                    for (int c = 0; c < 8; c++) dst[(nint)j * Tile + l + c] = src[(l + c) * ld + j];
            }
        for (; l < tokens; l++)
            for (int j = 0; j < width; j++) dst[(nint)j * Tile + l] = src[l * ld + j];
        if (tokens < Tile)
            for (int j = 0; j < width; j++) new Span<float>(dst + (nint)j * Tile + tokens, Tile - tokens).Clear();
    }

    /// <summary>dst[l·ld + r] = src[r·Tile + l] (or +=) for l &lt; tokens, r &lt; rows: a result tile back into token rows.</summary>
    public static void TransposeOut(float* src, int rows, int tokens, float* dst, nint ld, bool add)
    {
        int l = 0;
        if (GemmTranspose8.Supported)
            for (; l + 8 <= tokens; l += 8)
            {
                int r = 0;
                for (; r + 8 <= rows; r += 8) GemmTranspose8.Block(src + (nint)r * Tile + l, Tile, dst + l * ld + r, ld, add);
                for (; r < rows; r++)
                    for (int c = 0; c < 8; c++) Put(ref dst[(l + c) * ld + r], src[(nint)r * Tile + l + c], add);
            }
        for (; l < tokens; l++)
            for (int r = 0; r < rows; r++) Put(ref dst[l * ld + r], src[(nint)r * Tile + l], add);
    }

    static void Put(ref float d, float v, bool add) => d = add ? d + v : v;

    /// <summary>
    /// out[(r − r0)·Tile + l] = Σ_e values[e]·at[Indices[e]·Tile + l] for rows r in [r0, r1): each row of the
    /// sparse matrix times the transposed tile, two entries per step into separate accumulators (8 FMA chains).
    /// </summary>
    public static void RowsTimesTile(int r0, int r1, int* offsets, int* indices, float* values, float* at, float* output)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            RowsTimesTile256(r0, r1, offsets, indices, values, at, output);
            return;
        }
        for (int r = r0; r < r1; r++)
        {
            int e = offsets[r], end = offsets[r + 1];
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; e + 2 <= end; e += 2)
            {
                float* p = at + (nint)indices[e] * Tile;
                var v = Vector512.Create(values[e]);
                a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p), a0);
                a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 48), a3);
                float* q = at + (nint)indices[e + 1] * Tile;
                var u = Vector512.Create(values[e + 1]);
                b0 = Vector512.FusedMultiplyAdd(u, Vector512.Load(q), b0);
                b1 = Vector512.FusedMultiplyAdd(u, Vector512.Load(q + 16), b1);
                b2 = Vector512.FusedMultiplyAdd(u, Vector512.Load(q + 32), b2);
                b3 = Vector512.FusedMultiplyAdd(u, Vector512.Load(q + 48), b3);
            }
            if (e < end)
            {
                float* p = at + (nint)indices[e] * Tile;
                var v = Vector512.Create(values[e]);
                a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p), a0);
                a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(p + 48), a3);
            }
            float* o = output + (nint)(r - r0) * Tile;
            (a0 + b0).Store(o);
            (a1 + b1).Store(o + 16);
            (a2 + b2).Store(o + 32);
            (a3 + b3).Store(o + 48);
        }
    }

    static void RowsTimesTile256(int r0, int r1, int* offsets, int* indices, float* values, float* at, float* output)
    {
        for (int r = r0; r < r1; r++)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int e = offsets[r]; e < offsets[r + 1]; e++)
            {
                float* p = at + (nint)indices[e] * Tile;
                var v = Vector256.Create(values[e]);
                a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p), a0);
                a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 24), a3);
                a4 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 32), a4);
                a5 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 40), a5);
                a6 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 48), a6);
                a7 = Vector256.FusedMultiplyAdd(v, Vector256.Load(p + 56), a7);
            }
            float* o = output + (nint)(r - r0) * Tile;
            a0.Store(o); a1.Store(o + 8); a2.Store(o + 16); a3.Store(o + 24);
            a4.Store(o + 32); a5.Store(o + 40); a6.Store(o + 48); a7.Store(o + 56);
        }
    }

    /// <summary>
    /// sums[e] += Σ_l bt[(r − r0)·Tile + l]·at[Indices[e]·Tile + l] for the entries e of rows r in [r0, r1): the
    /// sampled product of two transposed tiles at the pattern's entries (row r's tile stays in registers).
    /// </summary>
    public static void SampledTile(int r0, int r1, int* offsets, int* indices, float* bt, float* at, float* sums)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int r = r0; r < r1; r++)
            {
                float* br = bt + (nint)(r - r0) * Tile;
                for (int e = offsets[r]; e < offsets[r + 1]; e++) sums[e] += VectorMath.Dot(br, at + (nint)indices[e] * Tile, Tile);
            }
            return;
        }
        for (int r = r0; r < r1; r++)
        {
            float* br = bt + (nint)(r - r0) * Tile;
            var d0 = Vector512.Load(br); var d1 = Vector512.Load(br + 16);
            var d2 = Vector512.Load(br + 32); var d3 = Vector512.Load(br + 48);
            for (int e = offsets[r]; e < offsets[r + 1]; e++)
            {
                float* p = at + (nint)indices[e] * Tile;
                var s0 = Vector512.FusedMultiplyAdd(d0, Vector512.Load(p), d1 * Vector512.Load(p + 16));
                var s1 = Vector512.FusedMultiplyAdd(d2, Vector512.Load(p + 32), d3 * Vector512.Load(p + 48));
                sums[e] += Vector512.Sum(s0 + s1);
            }
        }
    }

    /// <summary>One thread's tile buffers (64-byte aligned, grown on demand, never shrunk).</summary>
    public sealed class Scratch
    {
        [ThreadStatic] static Scratch? _current;
        public static Scratch Current => _current ??= new Scratch();

        float* _first, _second;
        nint _firstFloats, _secondFloats;

        public float* First(nint floats) => Grow(ref _first, ref _firstFloats, floats);
        public float* Second(nint floats) => Grow(ref _second, ref _secondFloats, floats);

        static float* Grow(ref float* buffer, ref nint capacity, nint floats)
        {
            if (floats <= capacity) return buffer;
            NativeMemory.AlignedFree(buffer);
            buffer = null;
            buffer = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(floats, 16) * sizeof(float)), 64);
            capacity = floats;
            return buffer;
        }

        ~Scratch()
        {
            NativeMemory.AlignedFree(_first);
            NativeMemory.AlignedFree(_second);
        }
    }
}
