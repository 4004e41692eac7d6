using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

[Collection("threads-alone")]
public class GemmTests
{
    /// <summary>Runs Sgemm and the double-precision reference on the same operands with padded leading dimensions.</summary>
    static unsafe void CheckAgainstReference(bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        int pad = 0, int threads = 2, ulong seed = 1)
    {
        var rng = new Rng(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = new float[Math.Max(1, aRows * lda)];
        var b = new float[Math.Max(1, bRows * ldb)];
        var c = new float[Math.Max(1, m * ldc)];
        rng.FillUniform(a, -1, 1);
        rng.FillUniform(b, -1, 1);
        if (beta == 0) c.AsSpan().Fill(float.NaN); else rng.FillUniform(c, -1, 1);
        var expected = new double[c.Length];
        for (int i = 0; i < c.Length; i++) expected[i] = c[i];
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
        {
            using var _ = TestThreads.Set(threads);
            Gemm.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
        double[] da = Array.ConvertAll(a, x => (double)x), db = Array.ConvertAll(b, x => (double)x);
        fixed (double* pa = da) fixed (double* pb = db) fixed (double* pc = expected)
            Gemm.Reference(transA, transB, m, n, k, (double)alpha, pa, lda, pb, ldb, (double)beta, pc, ldc);
        double tolerance = 1e-5 * (k + 2);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int at = i * ldc + j;
                // Messages are built only on failure: formatting one per element was most of this class's time.
                if (j >= n)
                {
                    // Padding beyond the row must be untouched (NaN stays NaN, values stay as written).
                    if (!c[at].Equals((float)expected[at])) Assert.Fail($"padding C[{i},{j}] was written");
                    continue;
                }
                if (float.IsNaN(c[at])) Assert.Fail($"NaN at C[{i},{j}] for {m}×{n}×{k} tA={transA} tB={transB}");
                if (!(Math.Abs(c[at] - expected[at]) <= tolerance))
                    Assert.Fail($"C[{i},{j}] = {c[at]}, expected {expected[at]} for {m}×{n}×{k} tA={transA} tB={transB} α={alpha} β={beta}");
            }
    }

    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 6, 64, 8 }, { 5, 63, 17 }, { 13, 65, 33 },
        { 129, 257, 65 }, { 131, 70, 520 }, { 250, 130, 40 }, { 1, 300, 200 }, { 300, 1, 200 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Matches_reference_in_all_transpose_forms(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                CheckAgainstReference(transA, transB, m, n, k, 1f, 0f);
                CheckAgainstReference(transA, transB, m, n, k, -0.5f, 0.75f, pad: 3);
            }
    }

    [Fact]
    public void Crosses_every_block_edge_with_padded_leading_dimensions()
    {
        // M past the 240-row block, K past the 512 K block, N past a 64-column panel; odd padding everywhere.
        CheckAgainstReference(false, false, 247, 70, 515, 1.5f, 1f, pad: 5);
        CheckAgainstReference(true, true, 247, 70, 515, 1f, 0f, pad: 1);
        CheckAgainstReference(false, true, 12, 2050, 30, 1f, 0.5f, pad: 2);
        // A 4-thread row split past the 2048-column N block: op(B) is packed once, in shares, read by all threads.
        CheckAgainstReference(true, false, 2060, 2050, 9, 1f, 0.5f, pad: 1, threads: 4);
    }

    [Fact]
    public void Beta_zero_ignores_NaN_in_C_and_alpha_zero_only_scales()
    {
        CheckAgainstReference(false, false, 40, 70, 30, 2f, 0f);
        var c = new float[] { 1, 2, 3, 4 };
        var a = new float[] { float.NaN, 1 };
        var b = new float[] { 1, 1, 1, 1 };
        Gemm.Multiply(false, false, 2, 2, 1, 0f, a, 1, b, 2, 3f, c, 2);
        Assert.Equal([3f, 6, 9, 12], c);
        Gemm.Multiply(false, false, 2, 2, 0, 1f, a, 1, b, 2, 0f, c, 2);
        Assert.Equal([0f, 0, 0, 0], c);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public unsafe void Results_are_bit_identical_on_one_and_two_threads(bool transA, bool transB)
    {
        // Shapes that split by rows (tall) and by columns (wide), with K over two blocks.
        foreach (var (m, n, k) in new[] { (301, 130, 700), (20, 1000, 600) })
        {
            var rng = new Rng(7);
            var a = new float[m * k];
            var b = new float[k * n];
            rng.FillNormal(a, 0, 1);
            rng.FillNormal(b, 0, 1);
            float[] one = Run(1), two = Run(2);
            Assert.True(one.AsSpan().SequenceEqual(two), $"{m}×{n}×{k} differs between 1 and 2 threads");

            float[] Run(int threads)
            {
                var c = new float[m * n];
                using (TestThreads.Set(threads))
                    Gemm.Multiply(transA, transB, m, n, k, 1f, a, transA ? m : k, b, transB ? k : n, 0f, c, n);
                return c;
            }
        }
    }
}
