using System.Runtime.CompilerServices;
using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The GEMM's branch points, each reached by the smallest product that reaches it, so that the whole class runs in a
/// fraction of a second and a mutation run (where every mutated expression in the packing loops and kernels becomes a
/// switch) can afford it per mutant. The blocks are KC = 512 (K), MC = 240 (M), NC = 2048 (N); the register tile is
/// 6×64 (AVX-512); products under 16³ multiply-adds take the plain loop, from 64³ a bf16 scope rounds, from 128³ two
/// threads split C. Operands are multiples of 1/8 in [-1, 1] (α, β dyadic too), so every sum is exact in float32 in
/// any order and each result must equal the float64 loop written out here bit for bit: a wrong offset, a dropped
/// remainder or a misplaced zero shows as a changed bit, not as a drift inside a tolerance. The float64 loop is this
/// class's own (not <see cref="Gemm.Reference{T}"/>, which is itself under test). GemmTests keeps the larger shapes.
/// </summary>
[Collection("threads-alone")]
public class GemmPathTests
{
    sealed class Operands
    {
        public readonly bool TransA, TransB;
        public readonly int M, N, K, Lda, Ldb, Ldc;
        public readonly float[] A, B, C;

        /// <summary>
        /// op(A) m×k and op(B) k×n stored with <paramref name="pad"/> extra columns; C m×(n + pad), NaN in its first n
        /// columns when <paramref name="nanC"/> (β = 0 must not read it), its padding always finite (it must stay as is).
        /// Dyadic: multiples of 1/8 in [-1, 1]; else 23-bit uniforms in [-1, 1), which bf16 does not represent.
        /// </summary>
        public Operands(bool transA, bool transB, int m, int n, int k, int pad = 3, bool nanC = false, bool dyadic = true, uint seed = 1)
        {
            (TransA, TransB, M, N, K) = (transA, transB, m, n, k);
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            (Lda, Ldb, Ldc) = (aCols + pad, bCols + pad, n + pad);
            A = new float[aRows * Lda];
            B = new float[bRows * Ldb];
            C = new float[m * Ldc];
            uint state = seed * 2654435761u;
            Fill(A, dyadic, ref state);
            Fill(B, dyadic, ref state);
            Fill(C, dyadic, ref state);
            if (nanC)
                for (int i = 0; i < m; i++) C.AsSpan(i * Ldc, n).Fill(float.NaN);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void Fill(float[] x, bool dyadic, ref uint state)
        {
            for (int i = 0; i < x.Length; i++)
            {
                state = state * 1664525u + 1013904223u;
                int bits = (int)(state >> 8);
                x[i] = dyadic ? (bits % 17 - 8) / 8f : bits / (float)(1 << 23) - 1f;
            }
        }

        public float OpA(int i, int p) => TransA ? A[p * Lda + i] : A[i * Lda + p];
        public float OpB(int p, int j) => TransB ? B[j * Ldb + p] : B[p * Ldb + j];

        double[]? _a, _b, _a16, _b16;

        /// <summary>op(A) (m×k) and op(B) (k×n) as dense float64, inputs rounded to bf16 first when asked.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        (double[] A, double[] B) Dense(bool bf16Inputs)
        {
            ref double[]? a = ref bf16Inputs ? ref _a16 : ref _a, b = ref bf16Inputs ? ref _b16 : ref _b;
            if (a is null || b is null)
            {
                a = new double[M * K];
                b = new double[K * N];
                for (int i = 0; i < M; i++)
                    for (int p = 0; p < K; p++) a[i * K + p] = bf16Inputs ? RoundToBf16(OpA(i, p)) : OpA(i, p);
                for (int p = 0; p < K; p++)
                    for (int j = 0; j < N; j++) b[p * N + j] = bf16Inputs ? RoundToBf16(OpB(p, j)) : OpB(p, j);
            }
            return (a, b);
        }

        /// <summary>
        /// Row i of α·op(A)·op(B) + β·C in float64 (β = 0: C not read) into <paramref name="value"/> (n long), inputs
        /// rounded to bf16 first when asked; α·|op(A)|·|op(B)| + |β·C| into <paramref name="abs"/>, for a tolerance.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void ExpectedRow(int i, float alpha, float beta, Span<double> value, Span<double> abs, bool bf16Inputs = false)
        {
            var (a, b) = Dense(bf16Inputs);
            value.Clear();
            abs.Clear();
            for (int p = 0; p < K; p++)
            {
                double x = a[i * K + p];
                var bRow = b.AsSpan(p * N, N);
                for (int j = 0; j < bRow.Length; j++)
                {
                    value[j] += x * bRow[j];
                    abs[j] += Math.Abs(x * bRow[j]);
                }
            }
            for (int j = 0; j < N; j++)
            {
                double old = beta == 0 ? 0 : (double)beta * C[i * Ldc + j];
                value[j] = alpha * value[j] + old;
                abs[j] = Math.Abs(alpha) * abs[j] + Math.Abs(old);
            }
        }

        public float[] Run(float alpha, float beta)
        {
            var c = (float[])C.Clone();
            Gemm.Multiply(TransA, TransB, M, N, K, alpha, A, Lda, B, Ldb, beta, c, Ldc);
            return c;
        }

        public string Form => $"{M}×{N}×{K} tA={TransA} tB={TransB}";
    }

    /// <summary>Nearest-even bf16 rounding written out on the bits (finite inputs), independent of the code under test.</summary>
    static float RoundToBf16(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        u += 0x7FFF + ((u >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(u & 0xFFFF0000);
    }

    static readonly (bool, bool)[] Forms = [(false, false), (false, true), (true, false), (true, true)];

    /// <summary>Every element equals the float64 result (exact for dyadic operands) and the padding past each row is untouched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AssertExact(Operands o, float[] c, float alpha, float beta, string what = "")
    {
        double[] expected = new double[o.N], abs = new double[o.N];
        for (int i = 0; i < o.M; i++)
        {
            o.ExpectedRow(i, alpha, beta, expected, abs);
            for (int j = 0; j < o.Ldc; j++)
            {
                int at = i * o.Ldc + j;
                float want = j >= o.N ? o.C[at] : (float)expected[j];
                if (!c[at].Equals(want))
                    Assert.Fail($"C[{i},{j}] = {c[at]}, expected {want}{(j >= o.N ? " (padding)" : "")}, {o.Form} α={alpha} β={beta} {what}");
            }
        }
    }

    /// <summary>Runs every transpose form of one shape at (α, β) = (1.5, 0) over NaN, (-0.5, 0.75) and (1, 1) (that last one left out when not <paramref name="betaOne"/>), each checked exactly.</summary>
    static void CheckAllForms(int m, int n, int k, string what = "", bool betaOne = true)
    {
        foreach (var (transA, transB) in Forms)
            foreach (var (alpha, beta) in betaOne ? [(1.5f, 0f), (-0.5f, 0.75f), (1f, 1f)] : new[] { (1.5f, 0f), (-0.5f, 0.75f) })
            {
                var o = new Operands(transA, transB, m, n, k, nanC: beta == 0, seed: (uint)(m + 7 * n + 31 * k));
                AssertExact(o, o.Run(alpha, beta), alpha, beta, what);
            }
    }

    /// <summary>
    /// One M×N×K block with every tail of the register tile and the packers: M = 13 is two full 6-row panels and a
    /// 1-row remainder (transposed A: two 6-row panels through the 8-step column packer, the second one with a masked
    /// load, then the scalar row); M = 17 leaves 5 rows. N = 85 is one full 64-column tile and a 21-column edge tile
    /// (one 16-wide copy, 5 scalar columns and zero fill; transposed B: two 8×8 transposes, 5 scalar columns, zeros);
    /// N = 40 has only an edge tile. K = 11 and 9 run the 8-step packers and transposes with a 3- and 1-step tail.
    /// </summary>
    [Fact]
    public void Register_tile_and_packing_tails_in_every_transpose_form()
    {
        CheckAllForms(13, 85, 11);
        CheckAllForms(17, 40, 9);
    }

    /// <summary>
    /// Past each cache block, separately and in every form: M = 247 (a second 240-row block of 7 rows, A packed from
    /// row 240), K = 523 (a second 512-step block of 11 steps that must add to C: β = 0 and C full of NaN shows a block
    /// that reads or scales C again), N = 2133 (a second 2048-column block of 85 columns, B packed from column 2048).
    /// </summary>
    [Fact]
    public void Crosses_the_M_K_and_N_blocks_in_every_transpose_form()
    {
        CheckAllForms(247, 70, 9, "(M block)", betaOne: false);
        CheckAllForms(13, 70, 523, "(K block)", betaOne: false);
        CheckAllForms(7, 2133, 9, "(N block)", betaOne: false);
    }

    /// <summary>
    /// Products under 16³ multiply-adds take the plain loop (15×16×17 = 4,080 is the largest shape tried; 16³ the
    /// first packed one), exact in every form with padding. m = 0 or n = 0 leaves C alone; k = 0 or α = 0 only
    /// scales C by β: β = 0 clears NaN, β = 1 leaves C bit for bit, β = 2 doubles it; the padding is never written.
    /// </summary>
    [Fact]
    public void Small_products_use_the_plain_loop_and_empty_ones_only_scale()
    {
        CheckAllForms(1, 1, 1);
        CheckAllForms(7, 13, 5);
        CheckAllForms(15, 16, 17);
        CheckAllForms(16, 16, 16);
        foreach (var (m, n, k, alpha) in new[] { (0, 5, 3, 1f), (4, 0, 3, 1f), (4, 5, 0, 1f), (4, 5, 3, 0f), (40, 70, 30, 0f) })
            foreach (float beta in new[] { 0f, 1f, 2f })
            {
                var o = new Operands(false, true, m, n, k, nanC: beta == 0 && k * alpha == 0, seed: 5);
                var c = o.Run(alpha, beta);
                for (int at = 0; at < c.Length; at++)
                {
                    bool inRow = at % o.Ldc < n;
                    float want = !inRow ? o.C[at] : beta == 0 ? 0f : beta * o.C[at];
                    if (!c[at].Equals(want))
                        Assert.Fail($"C[{at / o.Ldc},{at % o.Ldc}] = {c[at]}, expected {want}, {o.Form} α={alpha} β={beta}");
                }
            }
    }

    /// <summary>
    /// From 128³ multiply-adds C is split over the threads. Rows: 72×70×515 (each thread gets 36 rows, op(B) is packed
    /// once, a share of its panels by each thread, over two K blocks that the threads must walk in the packing's
    /// order); 2050×70×15 (1,025 rows a thread, over the 1,024 that share a packed B: each packs its own). Columns:
    /// 20×1000×110 (wider than tall). Each in the forms that move a thread's start (op(A) transposed or not for rows,
    /// op(B) for columns), at (α, β) = (1.5, 0) over NaN untransposed and (-0.5, 0.75) transposed, exact on two threads.
    /// </summary>
    [Fact]
    public void Two_threads_split_rows_with_shared_or_own_packed_B_and_columns_exactly()
    {
        using var _ = TestThreads.Set(2);
        foreach (var (m, n, k) in new[] { (72, 70, 515), (2050, 70, 15), (20, 1000, 110) })
            foreach (var (transA, transB, alpha, beta) in new[] { (false, false, 1.5f, 0f), (true, true, -0.5f, 0.75f) })
            {
                var o = new Operands(transA, transB, m, n, k, pad: 1, nanC: beta == 0, seed: 3);
                AssertExact(o, o.Run(alpha, beta), alpha, beta, "(2 threads)");
            }
    }

    /// <summary>
    /// A row split over three threads with N = 2,061 past the 2048-column block: op(B), packed once in shares, holds
    /// two N blocks one after the other, which each thread must find at the offsets of its own walk (K = 1: the
    /// cheapest product that is taller than wide past N's block, 2,062 × 2,061 × 1).
    /// </summary>
    [Fact]
    public void Shared_packed_B_holds_both_N_blocks_for_a_three_thread_row_split()
    {
        using var _ = TestThreads.Set(3);
        var o = new Operands(true, false, 2062, 2061, 1, pad: 1, nanC: false, seed: 9);
        AssertExact(o, o.Run(1f, 0.5f), 1f, 0.5f, "(3 threads)");
    }

    /// <summary>
    /// The split never changes an element's K order, so one and two threads agree bit for bit on operands whose sums
    /// do round (23-bit uniforms), by rows and by columns, K over two blocks.
    /// </summary>
    [Fact]
    public void One_and_two_threads_agree_bit_for_bit_on_rounding_operands()
    {
        foreach (var (m, n, k) in new[] { (72, 70, 515), (20, 1000, 110) })
        {
            var o = new Operands(true, false, m, n, k, pad: 2, dyadic: false, seed: 4);
            float[] one, two;
            using (TestThreads.Set(1)) one = o.Run(1f, 0.5f);
            using (TestThreads.Set(2)) two = o.Run(1f, 0.5f);
            Assert.True(one.AsSpan().SequenceEqual(two), $"{o.Form} differs between 1 and 2 threads");
            double[] expected = new double[n], abs = new double[n];
            for (int r = 0; r < m; r++)
            {
                o.ExpectedRow(r, 1f, 0.5f, expected, abs);
                for (int col = 0; col < n; col++)
                    if (!(Math.Abs(one[r * o.Ldc + col] - expected[col]) <= 1e-5 * (k + 2)))
                        Assert.Fail($"C[{r},{col}] = {one[r * o.Ldc + col]}, expected {expected[col]}, {o.Form}");
            }
        }
    }

    /// <summary>
    /// Inside a bf16 scope only products of 64³ multiply-adds or more with α = 1 round their inputs: 64×64×63 and
    /// 64³ with α = 2 are the fp32 result bit for bit, 64³ with α = 1 is the product of the bf16-rounded inputs (and
    /// not the fp32 one), in every transpose form, with padded leading dimensions (the row-by-row rounding).
    /// </summary>
    [BFloat16Fact]
    public void Bf16_scope_rounds_only_large_unit_alpha_products()
    {
        foreach (var (transA, transB) in Forms)
            foreach (var (k, alpha, rounds) in new[] { (63, 1f, false), (64, 2f, false), (64, 1f, true) })
            {
                var o = new Operands(transA, transB, 64, 64, k, pad: 2, dyadic: false, seed: 6);
                float[] fp32 = o.Run(alpha, 1f), scoped;
                using (new GemmPrecisionScope(GemmPrecision.BFloat16, null)) scoped = o.Run(alpha, 1f);
                if (!rounds)
                {
                    Assert.True(fp32.AsSpan().SequenceEqual(scoped), $"{o.Form} α={alpha}: rounded inside the scope");
                    continue;
                }
                Assert.False(fp32.AsSpan().SequenceEqual(scoped), $"{o.Form}: the bf16 route did not run");
                CheckBf16(o, scoped, 1f);
            }
    }

    /// <summary>Non-square bf16 products (each of m, n and k the largest once) in every form: each operand is rounded with its own shape.</summary>
    [BFloat16Fact]
    public void Bf16_rounds_each_operand_with_its_own_shape()
    {
        foreach (var (transA, transB) in Forms)
            foreach (var (m, n, k) in new[] { (96, 64, 48), (48, 96, 64), (64, 48, 96) })
            {
                var o = new Operands(transA, transB, m, n, k, pad: 2, dyadic: false, seed: 7);
                float[] scoped;
                using (new GemmPrecisionScope(GemmPrecision.BFloat16, null)) scoped = o.Run(1f, 1f);
                CheckBf16(o, scoped, 1f);
            }
    }

    /// <summary>
    /// bf16 products of 128³ or more are split in parts of whole 64-row (or column) blocks: 130×70×240 by rows
    /// (parts of 128 and 2 rows), 70×130×240 by columns, each in the forms that move a part's start, padded, β = 0
    /// over NaN and β = 0.5, against the float64 product of the rounded inputs.
    /// </summary>
    [BFloat16Fact]
    public void Bf16_products_split_over_two_threads_by_rows_and_columns()
    {
        using var _ = TestThreads.Set(2);
        foreach (var (m, n) in new[] { (130, 70), (70, 130) })
            foreach (var (transA, transB) in new[] { (false, false), (true, true) })
                foreach (float beta in new[] { 0f, 0.5f })
                {
                    var o = new Operands(transA, transB, m, n, 240, pad: 1, nanC: beta == 0, dyadic: false, seed: 8);
                    float[] c;
                    using (new GemmPrecisionScope(GemmPrecision.BFloat16, null)) c = o.Run(1f, beta);
                    CheckBf16(o, c, beta);
                }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void CheckBf16(Operands o, float[] c, float beta)
    {
        double[] expected = new double[o.N], abs = new double[o.N];
        for (int i = 0; i < o.M; i++)
        {
            o.ExpectedRow(i, 1f, beta, expected, abs, bf16Inputs: true);
            for (int j = 0; j < o.Ldc; j++)
            {
                int at = i * o.Ldc + j;
                if (j >= o.N)
                {
                    if (!c[at].Equals(o.C[at])) Assert.Fail($"padding C[{i},{j}] was written, {o.Form}");
                    continue;
                }
                if (!(Math.Abs(c[at] - expected[j]) <= 1e-6 * (o.K + 2) * (abs[j] + 1)))
                    Assert.Fail($"C[{i},{j}] = {c[at]}, product of bf16 inputs {expected[j]}, {o.Form} β={beta}");
            }
        }
    }

    /// <summary>
    /// Rounding an fp32 matrix into a contiguous bf16 one: nearest even, bit for bit, for a padded matrix (row by row),
    /// a contiguous one and a single padded row, on one thread and, from 2¹⁶ elements, split by rows over two (each
    /// part's rows at its own offsets); 300×220 splits, 300×218 (65,400 elements) does not.
    /// </summary>
    [Fact]
    public unsafe void Bf16_rounding_copies_every_row_in_nearest_even()
    {
        using var _ = TestThreads.Set(2);
        foreach (var (rows, cols, ld) in new[] { (300, 220, 223), (300, 220, 220), (300, 218, 221), (1, 50, 60), (7, 9, 9) })
        {
            var o = new Operands(false, false, rows, 1, ld, pad: 0, dyadic: false, seed: (uint)(rows + cols));
            float[] source = o.A; // rows × ld uniforms
            var rounded = new BFloat16[rows * cols + 1];
            rounded[^1] = new BFloat16(0x1234);
            fixed (float* s = source) fixed (BFloat16* d = rounded)
                BFloat16Gemm.Round(s, ld, rows, cols, d);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++)
                {
                    float got = BitConverter.UInt32BitsToSingle((uint)rounded[r * cols + j].Bits << 16);
                    if (!got.Equals(RoundToBf16(source[r * ld + j])))
                        Assert.Fail($"[{r},{j}] of {rows}×{cols} (ld {ld}) rounded to {got}, expected {RoundToBf16(source[r * ld + j])}");
                }
            Assert.Equal(0x1234, rounded[^1].Bits);
        }
    }

    /// <summary>
    /// The 8×8 register transpose the packer of a transposed B and the sparse kernels' token tiles use: stored and
    /// added into a padded destination, and eight columns over 19 K steps (two blocks and a 3-step scalar tail).
    /// </summary>
    [Fact]
    public unsafe void Eight_by_eight_transposes_store_add_and_finish_the_k_tail()
    {
        const int lds = 11, ldd = 13;
        var s = new float[8 * lds];
        for (int i = 0; i < s.Length; i++) s[i] = i;
        var d = new float[8 * ldd];
        for (int i = 0; i < d.Length; i++) d[i] = 1000 + i;
        var added = (float[])d.Clone();
        fixed (float* ps = s) fixed (float* pd = d) fixed (float* pa = added)
        {
            GemmTranspose8.Block(ps, lds, pd, ldd, add: false);
            GemmTranspose8.Block(ps, lds, pa, ldd, add: true);
        }
        for (int c = 0; c < 8; c++)
            for (int j = 0; j < ldd; j++)
            {
                float old = 1000 + c * ldd + j;
                Assert.Equal(j < 8 ? s[j * lds + c] : old, d[c * ldd + j]);
                Assert.Equal(j < 8 ? s[j * lds + c] + old : old, added[c * ldd + j]);
            }

        const int kc = 19, ldb = 23, nr = 10;
        var b = new float[8 * ldb];
        for (int i = 0; i < b.Length; i++) b[i] = i + 0.5f;
        var dst = new float[kc * nr];
        dst.AsSpan().Fill(-1);
        fixed (float* pb = b) fixed (float* pd = dst)
            GemmTranspose8.EightColumns(pb, ldb, kc, pd, nr);
        for (int p = 0; p < kc; p++)
            for (int c = 0; c < nr; c++)
                Assert.Equal(c < 8 ? b[c * ldb + p] : -1, dst[p * nr + c]);
    }
}
