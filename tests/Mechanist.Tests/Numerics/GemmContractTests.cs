using System.Runtime.Intrinsics.X86;
using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// GEMM's entry points as a caller meets them: the tensor overload's shapes in every transpose form, each refusal of
/// bad sizes, leading dimensions and short spans (with the exact minimum accepted), the double path, and the AVX2
/// register block run directly (this machine dispatches to the AVX-512 one, so the driver never reaches it here).
/// Operands are small multiples of 1/8, so every product is exact in float32 and compared bit for bit.
/// </summary>
public class GemmContractTests
{
    static float[] Dyadic(int length, int seed)
    {
        var x = new float[length];
        uint s = (uint)seed * 2654435761u + 1;
        for (int i = 0; i < length; i++) { s = s * 1664525u + 1013904223u; x[i] = ((int)(s >> 27) - 16) / 8f; }
        return x;
    }

    static float[] Expected(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var result = (float[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                result[i * ldc + j] = (float)(alpha * sum + (beta == 0 ? 0 : beta * (double)c[i * ldc + j]));
            }
        return result;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void The_tensor_overload_reads_each_operands_shape_in_its_transpose_form(bool transA, bool transB)
    {
        const int m = 5, n = 7, k = 3;
        var a = transA ? Tensor.FromArray(Dyadic(k * m, 1), k, m) : Tensor.FromArray(Dyadic(m * k, 1), m, k);
        var b = transB ? Tensor.FromArray(Dyadic(n * k, 2), n, k) : Tensor.FromArray(Dyadic(k * n, 2), k, n);
        var c = Tensor.FromArray(Dyadic(m * n, 3), m, n);
        var expected = Expected(transA, transB, m, n, k, 0.5f, a.ToArray(), a.Columns, b.ToArray(), b.Columns, 2, c.ToArray(), n);
        Gemm.Multiply(a, transA, b, transB, c, 0.5f, 2f);
        Assert.Equal(expected, c.ToArray());

        var wrongK = transB ? Tensor.FromArray(new float[n * (k + 1)], n, k + 1) : Tensor.FromArray(new float[(k + 1) * n], k + 1, n);
        Assert.Equal($"GEMM shapes do not agree: op(A) {m}×{k}, op(B) {k + 1}×{n}, C {m}×{n}",
            Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, transA, wrongK, transB, c, 1f, 0f)).Message);
        Assert.Equal($"GEMM shapes do not agree: op(A) {m}×{k}, op(B) {k}×{n}, C {m + 1}×{n}",
            Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, transA, b, transB, new Tensor(m + 1, n), 1f, 0f)).Message);
        Assert.Equal($"GEMM shapes do not agree: op(A) {m}×{k}, op(B) {k}×{n}, C {m}×{n + 1}",
            Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, transA, b, transB, new Tensor(m, n + 1), 1f, 0f)).Message);
    }

    static void Multiply(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc) =>
        Gemm.Multiply(transA, transB, m, n, k, 1f, new float[aLength], lda, new float[bLength], ldb, 0f, new float[cLength], ldc);

    static string Refusal(Action multiply) => Assert.Throws<ArgumentException>(multiply).Message;

    [Fact]
    public void Negative_sizes_are_refused_naming_all_three()
    {
        Assert.Equal("negative GEMM size m=-1 n=2 k=3", Refusal(() => Multiply(false, false, -1, 2, 3, 9, 3, 6, 2, 2, 2)));
        Assert.Equal("negative GEMM size m=1 n=-2 k=3", Refusal(() => Multiply(false, false, 1, -2, 3, 3, 3, 6, 2, 2, 2)));
        Assert.Equal("negative GEMM size m=1 n=2 k=-3", Refusal(() => Multiply(false, false, 1, 2, -3, 3, 3, 6, 2, 2, 2)));
    }

    /// <summary>A leading dimension must be at least the stored row's length, and at least 1 even for empty rows.</summary>
    [Fact]
    public void Each_leading_dimension_below_its_row_length_is_refused()
    {
        // m = 2, n = 3, k = 4, no transposes: A 2×4 (lda ≥ 4), B 4×3 (ldb ≥ 3), C 2×3 (ldc ≥ 3).
        Multiply(false, false, 2, 3, 4, 8, 4, 12, 3, 6, 3);
        Assert.Equal("GEMM leading dimension too small: lda=3 ldb=3 ldc=3", Refusal(() => Multiply(false, false, 2, 3, 4, 100, 3, 100, 3, 100, 3)));
        Assert.Equal("GEMM leading dimension too small: lda=4 ldb=2 ldc=3", Refusal(() => Multiply(false, false, 2, 3, 4, 100, 4, 100, 2, 100, 3)));
        Assert.Equal("GEMM leading dimension too small: lda=4 ldb=3 ldc=2", Refusal(() => Multiply(false, false, 2, 3, 4, 100, 4, 100, 3, 100, 2)));
        // Transposed, A is stored 4×2 and B 3×4.
        Multiply(true, true, 2, 3, 4, 8, 2, 12, 4, 6, 3);
        Assert.Contains("lda=1", Refusal(() => Multiply(true, true, 2, 3, 4, 100, 1, 100, 4, 100, 3)));
        Assert.Contains("ldb=3", Refusal(() => Multiply(true, true, 2, 3, 4, 100, 2, 100, 3, 100, 3)));
        // k = 0: rows of A and B have no length, but a leading dimension of 0 is still refused.
        Multiply(false, false, 2, 3, 0, 0, 1, 0, 3, 6, 3);
        Assert.Contains("lda=0", Refusal(() => Multiply(false, false, 2, 3, 0, 0, 0, 0, 3, 6, 3)));
        Assert.Contains("ldc=0", Refusal(() => Multiply(false, false, 0, 0, 0, 0, 1, 0, 1, 0, 0)));
    }

    /// <summary>A span needs (rows − 1)·ld + cols elements: the last row need not be padded; an empty matrix needs none.</summary>
    [Fact]
    public void Spans_need_exactly_the_last_rows_end_and_no_more()
    {
        const string tooShort = "GEMM operand span shorter than its shape and leading dimension require";
        // A 2×4 with lda 6: 6 + 4 = 10; B 4×3 with ldb 5: 15 + 3 = 18; C 2×3 with ldc 7: 7 + 3 = 10.
        Multiply(false, false, 2, 3, 4, 10, 6, 18, 5, 10, 7);
        Assert.Equal(tooShort, Refusal(() => Multiply(false, false, 2, 3, 4, 9, 6, 18, 5, 10, 7)));
        Assert.Equal(tooShort, Refusal(() => Multiply(false, false, 2, 3, 4, 10, 6, 17, 5, 10, 7)));
        Assert.Equal(tooShort, Refusal(() => Multiply(false, false, 2, 3, 4, 10, 6, 18, 5, 9, 7)));
        // Empty operands need no storage whatever their leading dimension.
        Multiply(false, false, 0, 3, 4, 0, 4, 12, 3, 0, 3);
        Multiply(false, false, 2, 0, 4, 8, 4, 0, 1, 0, 1);
        Multiply(false, false, 2, 3, 0, 0, 1, 0, 3, 6, 3);
    }

    /// <summary>Only C's m rows are written, by every small-product path: the row after them (outside the span) is left alone.</summary>
    [Theory]
    [InlineData(0, 0f)]
    [InlineData(0, 2f)]
    [InlineData(3, 0f)]
    [InlineData(3, 2f)]
    public void Small_products_write_only_the_rows_of_C(int k, float beta)
    {
        const int m = 2, n = 3, ldc = 4;
        float[] a = Dyadic(m * Math.Max(k, 1), 1), b = Dyadic(Math.Max(k, 1) * n, 2);
        var c = Dyadic((m + 1) * ldc, 3);
        float[] after = c[(m * ldc)..];
        Gemm.Multiply(false, false, m, n, k, 1f, a, Math.Max(k, 1), b, n, beta, c.AsSpan(0, m * ldc), ldc);
        Assert.Equal(after, c[(m * ldc)..]);
        var d = c.Select(v => (double)v).ToArray();
        Gemm.Multiply(false, false, m, n, k, 1.0, a.Select(v => (double)v).ToArray(), Math.Max(k, 1), b.Select(v => (double)v).ToArray(), n, beta, d.AsSpan(0, m * ldc), ldc);
        Assert.Equal(after.Select(v => (double)v), d[(m * ldc)..]);
    }

    [Fact]
    public void Doubles_multiply_by_the_reference_loop()
    {
        const int m = 3, n = 4, k = 5;
        double[] a = Dyadic(m * k, 4).Select(v => (double)v).ToArray(), b = Dyadic(k * n, 5).Select(v => (double)v).ToArray();
        var c = Dyadic(m * n, 6).Select(v => (double)v).ToArray();
        var expected = Expected(false, false, m, n, k, 2, a.Select(v => (float)v).ToArray(), k, b.Select(v => (float)v).ToArray(), n, 0.5f, c.Select(v => (float)v).ToArray(), n);
        Gemm.Multiply(false, false, m, n, k, 2.0, a, k, b, n, 0.5, c, n);
        Assert.Equal(expected.Select(v => (double)v), c);
    }

    /// <summary>
    /// The fp32 thread split (results are the same bits for any split, so only the plan shows it): rows when C is at
    /// least as tall as wide and has a row tile per thread (or too few column tiles), else columns; parts of whole
    /// tiles (6 rows or 64 columns); op(B) packed once for all when a row split leaves at most 1,024 rows per part
    /// and op(B) fits 16 MiB (4 Mi floats: n = k = 2,048 exactly fits).
    /// </summary>
    [Theory]
    [InlineData(600, 100, 50, 2, true, 2, 300, true)]      // tall
    [InlineData(3000, 100, 50, 2, true, 2, 1500, false)]   // tall, over 1,024 rows a part
    [InlineData(2048, 100, 50, 2, true, 2, 1026, true)]    // ⌈2048 / 2⌉ = 1,024 rows a part: shared
    [InlineData(2050, 100, 50, 2, true, 2, 1026, false)]   // 1,025: not
    [InlineData(100, 600, 50, 2, false, 2, 320, false)]    // wide
    [InlineData(128, 128, 10, 2, true, 2, 66, true)]       // square: rows
    [InlineData(60, 65, 50, 3, true, 3, 24, true)]         // wider, but 2 column tiles for 3 threads: rows
    [InlineData(60, 65, 50, 2, false, 2, 64, false)]       // 2 column tiles for 2 threads: columns
    [InlineData(12, 5, 50, 2, true, 2, 6, true)]           // exactly a row tile per thread
    [InlineData(6, 5, 50, 2, false, 1, 64, false)]         // one row tile: columns, one part
    [InlineData(2100, 2048, 2048, 4, true, 4, 528, true)]  // op(B) 2,048 × 2,048: exactly the limit
    [InlineData(2100, 2048, 2100, 4, true, 4, 528, false)] // a little more: each thread packs its own
    public void The_fp32_split_takes_the_smaller_duplicate_in_whole_tiles(int m, int n, int k, int threads, bool byRows, int parts, int extent, bool shareB) =>
        Assert.Equal(new GemmThreads.SplitPlan(byRows, parts, extent, shareB), GemmThreads.Plan(m, n, k, threads, GemmKernel512.NR));

    /// <summary>
    /// The bf16 split: products under 128³ multiply-adds run whole; larger ones by rows (C at least as tall as wide) or
    /// columns, one part per thread but at most one per 64-row (or column) block, each part whole blocks.
    /// </summary>
    [Theory]
    [InlineData(100, 100, 100, 2, true, 1, 128)]   // 10⁶ < 128³: whole
    [InlineData(128, 128, 127, 2, true, 1, 128)]   // just under
    [InlineData(128, 128, 128, 2, true, 2, 64)]    // exactly 128³: split, m = n by rows
    [InlineData(300, 100, 100, 2, true, 2, 192)]   // tall
    [InlineData(100, 300, 100, 2, false, 2, 192)]  // wide
    [InlineData(100, 100, 300, 2, true, 1, 128)]   // one 64-row block's worth: whole
    [InlineData(200, 100, 200, 3, true, 3, 128)]   // three threads, parts of two blocks
    public void The_bf16_split_runs_whole_blocks_per_thread(int m, int n, int k, int threads, bool byRows, int parts, int extent) =>
        Assert.Equal((byRows, parts, extent), BFloat16Gemm.Plan(m, n, k, threads));

    /// <summary>Every export the oneDNN wrapper calls is found in this machine's libdnnl (where it has one).</summary>
    [Fact]
    public void The_oneDNN_wrapper_finds_every_export_it_calls()
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(OneDnn.LibraryName, out nint lib)) return;
        Assert.Null(OneDnn.BindExports(lib));
    }

    /// <summary>
    /// The AVX2 register block (6 × 16) on packed panels, with C wider than the block: α·A·B overwrites C (β unused)
    /// or adds to β·C, and columns past the block are never touched.
    /// </summary>
    [Theory]
    [InlineData(true, 7)]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    public unsafe void The_AVX2_register_block_multiplies_packed_panels(bool readC, int kc)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return;
        const int MR = GemmKernel256.MR, NR = GemmKernel256.NR, ldc = NR + 3;
        float[] a = Dyadic(kc * MR, 7), b = Dyadic(kc * NR, 8), c = Dyadic(MR * ldc, 9);
        var expected = (float[])c.Clone();
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++)
            {
                double sum = 0;
                for (int p = 0; p < kc; p++) sum += (double)a[p * MR + r] * b[p * NR + j];
                expected[r * ldc + j] = (float)(0.5 * sum + (readC ? 1.5 * c[r * ldc + j] : 0));
            }
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            GemmKernel256.Run(kc, pa, pb, pc, ldc, 0.5f, 1.5f, readC);
        Assert.Equal(expected, c);
    }
}
