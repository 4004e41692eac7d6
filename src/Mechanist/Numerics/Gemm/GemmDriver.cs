using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics;

/// <summary>
/// The Goto/BLIS loop nest for one thread's rectangle of C. B is packed once per (N block, K block) and
/// shared by every M block; A is packed per (M block, K block) and stays in L2 while the kernel sweeps
/// the B micro-panels across it. Every element of C sees the same K blocking and the same FMA order
/// whatever rectangle it falls in, so results do not depend on how C was split across threads.
/// </summary>
static unsafe class GemmDriver
{
    /// <summary>K block: A and B panels hold this many steps (a 6×KC A micro-panel is 12 KiB at 512).</summary>
    public static readonly int KC = Tune(0, 512);
    /// <summary>M block, a multiple of 6: the packed MC×KC block of A (480 KiB) lives in L2.</summary>
    public static readonly int MC = Tune(1, 240);
    /// <summary>A is packed MP rows at a time, a multiple of MC (MC itself measured best; 8·MC was 2–6% slower).</summary>
    public static readonly int MP = Tune(3, 1) * MC;
    /// <summary>N block, a multiple of 64: the packed KC×NC block of B lives in L3.</summary>
    public static readonly int NC = Tune(2, 2048);

    static int Tune(int i, int fallback)
    {
        var s = Environment.GetEnvironmentVariable("MECHANIST_GEMM_BLOCKS");
        var parts = s?.Split(',');
        return parts is null || parts.Length <= i ? fallback : int.Parse(parts[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, GemmScratch scratch,
        float* packedB = null)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int mr = GemmKernel512.MR, nr = wide ? GemmKernel512.NR : GemmKernel256.NR;
        float* nextB = packedB;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                bool readC = pc > 0 || beta != 0;
                float betaNow = pc > 0 ? 1f : beta;
                float* bb = scratch.B;
                if (packedB == null) GemmPacking.PackB(b, ldb, transB, pc, kc, jc, nc, nr, bb);
                else { bb = nextB; nextB += PackedBSize(nc, kc, nr); }
                for (int ip = 0; ip < m; ip += MP)
                {
                    GemmPacking.PackA(a, lda, transA, ip, Math.Min(MP, m - ip), pc, kc, mr, scratch.A);
                    for (int ic = ip; ic < Math.Min(m, ip + MP); ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        float* ab = scratch.A + (nint)(ic - ip) * kc;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int cols = Math.Min(nr, nc - jr);
                            float* bp = bb + (nint)jr * kc;
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int rows = Math.Min(mr, mc - ir);
                                float* ap = ab + (nint)ir * kc;
                                float* ct = c + (nint)(ic + ir) * ldc + jc + jr;
                                if (rows == mr && cols == nr)
                                    Kernel(wide, kc, ap, bp, ct, ldc, alpha, betaNow, readC);
                                else
                                    EdgeTile(wide, kc, ap, bp, ct, ldc, rows, cols, nr, alpha, betaNow, readC, scratch.Tile);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Floats of one packed (N block, K block) of B: ⌈nc/nr⌉ panels of kc×nr.</summary>
    public static nint PackedBSize(int nc, int kc, int nr) => (nint)((nc + nr - 1) / nr) * nr * kc;

    /// <summary>
    /// Packs all of op(B) (k×n) as consecutive (N block, K block) blocks in the order <see cref="Run"/> visits
    /// them, for a caller that shares one packed B between threads. Part <paramref name="part"/> of
    /// <paramref name="parts"/> packs its share of every block's panels.
    /// </summary>
    public static void PackAllB(float* b, nint ldb, bool transB, int n, int k, int nr, float* dst, int part, int parts)
    {
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                int panels = (nc + nr - 1) / nr, per = (panels + parts - 1) / parts;
                int first = part * per * nr, end = Math.Min(nc, (part + 1) * per * nr);
                if (first < end)
                    GemmPacking.PackB(b, ldb, transB, pc, kc, jc + first, end - first, nr, dst + (nint)first * kc);
                dst += PackedBSize(nc, kc, nr);
            }
        }
    }

    /// <summary>Floats of all of op(B) packed by <see cref="PackAllB"/>.</summary>
    public static nint PackedAllBSize(int n, int k, int nr)
    {
        nint total = 0;
        for (int jc = 0; jc < n; jc += NC)
            for (int pc = 0; pc < k; pc += KC)
                total += PackedBSize(Math.Min(NC, n - jc), Math.Min(KC, k - pc), nr);
        return total;
    }

    static void Kernel(bool wide, int kc, float* ap, float* bp, float* c, nint ldc, float alpha, float beta, bool readC)
    {
        if (wide) GemmKernel512.Run(kc, ap, bp, c, ldc, alpha, beta, readC);
        else GemmKernel256.Run(kc, ap, bp, c, ldc, alpha, beta, readC);
    }

    /// <summary>
    /// A partial tile: the kernel writes the raw sums into a scratch tile, then the same epilogue as the
    /// kernel's (one fused multiply-add per element) writes only the rows and columns that exist.
    /// </summary>
    static void EdgeTile(bool wide, int kc, float* ap, float* bp, float* c, nint ldc, int rows, int cols, int nr,
        float alpha, float beta, bool readC, float* tile)
    {
        Kernel(wide, kc, ap, bp, tile, nr, 1f, 0f, false);
        for (int r = 0; r < rows; r++)
        {
            float* src = tile + (nint)r * nr;
            float* dst = c + (nint)r * ldc;
            for (int j = 0; j < cols; j++)
                dst[j] = readC ? MathF.FusedMultiplyAdd(src[j], alpha, dst[j] * beta) : src[j] * alpha;
        }
    }
}
