using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

[Collection("threads-alone")]
public class BFloat16GemmTests
{
    /// <summary>Operands of one product with padded leading dimensions, C prefilled (NaN when β = 0, to catch reads of C).</summary>
    sealed class Case
    {
        public readonly bool TransA, TransB;
        public readonly int M, N, K, Lda, Ldb, Ldc;
        public readonly float Beta;
        public readonly float[] A, B, C0;

        public Case(bool transA, bool transB, int m, int n, int k, float beta, int pad, ulong seed = 7)
        {
            (TransA, TransB, M, N, K, Beta) = (transA, transB, m, n, k, beta);
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            (Lda, Ldb, Ldc) = (aCols + pad, bCols + pad, n + pad);
            var rng = new Rng(seed);
            A = new float[aRows * Lda];
            B = new float[bRows * Ldb];
            C0 = new float[m * Ldc];
            rng.FillUniform(A, -1, 1);
            rng.FillUniform(B, -1, 1);
            if (beta == 0) C0.AsSpan().Fill(float.NaN); else rng.FillUniform(C0, -1, 1);
        }

        public float At(float[] x, int ld, bool trans, int row, int col) => trans ? x[col * ld + row] : x[row * ld + col];

        /// <summary>
        /// Σ_p op(A)[i,p]·op(B)[p,j] in double on the inputs rounded to bf16 first and on the inputs as given, in one
        /// pass; also Σ|products| of the rounded inputs.
        /// </summary>
        public (double Rounded, double Exact, double AbsSum) Dot(int i, int j)
        {
            double rounded = 0, exact = 0, abs = 0;
            for (int p = 0; p < K; p++)
            {
                float a = At(A, Lda, TransA, i, p), b = At(B, Ldb, TransB, p, j);
                exact += (double)a * b;
                (a, b) = ((float)(BFloat16)a, (float)(BFloat16)b);
                rounded += (double)a * b;
                abs += Math.Abs((double)a * b);
            }
            return (rounded, exact, abs);
        }

        public unsafe float[] RunSgemm()
        {
            var c = (float[])C0.Clone();
            fixed (float* pa = A) fixed (float* pb = B) fixed (float* pc = c)
                Gemm.Sgemm(TransA, TransB, M, N, K, 1f, pa, Lda, pb, Ldb, Beta, pc, Ldc);
            return c;
        }
    }

    /// <summary>
    /// In a bf16 scope every transpose form the autograd ops use (A·B, A·Bᵀ, Aᵀ·B, Aᵀ·Bᵀ; β = 0 forward, β = 1 for
    /// gradient accumulation) computes the exact product of the bf16-rounded inputs up to fp32 accumulation, and
    /// stays within bf16's rounding of the fp32 product: |error| ≤ 2⁻⁸·Σ|a·b| per element (two roundings of
    /// relative size ≤ 2⁻⁹), RMS relative error ≈ 2⁻⁹ for random signs. Padding past each row is untouched.
    /// </summary>
    [BFloat16Fact]
    public void Bf16_scope_matches_the_rounded_product_in_every_transpose_form()
    {
        foreach (var (m, n, k) in new[] { (70, 90, 130), (128, 64, 300), (33, 257, 520) })
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    foreach (float beta in new[] { 0f, 1f })
                    {
                        var t = new Case(transA, transB, m, n, k, beta, pad: 3);
                        float[] c;
                        using (var scope = GemmPrecisionScope.Enter(GemmPrecision.BFloat16))
                        {
                            Assert.Equal(GemmPrecision.BFloat16, scope.Effective);
                            c = t.RunSgemm();
                        }
                        double errorSquares = 0, valueSquares = 0;
                        string form = $"{m}×{n}×{k} tA={transA} tB={transB} β={beta}";
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < t.Ldc; j++)
                            {
                                int at = i * t.Ldc + j;
                                // Messages are built only on failure (formatting one per element was most of the time).
                                if (j >= n)
                                {
                                    if (!c[at].Equals(t.C0[at])) Assert.Fail($"padding C[{i},{j}] was written, {form}");
                                    continue;
                                }
                                double old = beta == 0 ? 0 : beta * t.C0[at];
                                var (rounded, exact, abs) = t.Dot(i, j);
                                if (!(Math.Abs(c[at] - (rounded + old)) <= 1e-6 * (k + 2) * (abs + Math.Abs(old) + 1)))
                                    Assert.Fail($"C[{i},{j}] = {c[at]}, product of bf16 inputs {rounded + old}, {form}");
                                if (!(Math.Abs(c[at] - (exact + old)) <= Math.Pow(2, -8) * abs + 1e-6 * (k + 2) * (abs + 1)))
                                    Assert.Fail($"C[{i},{j}] = {c[at]}, fp32 product {exact + old}, beyond bf16 rounding, {form}");
                                errorSquares += (c[at] - old - exact) * (c[at] - old - exact);
                                valueSquares += exact * exact;
                            }
                        double rms = Math.Sqrt(errorSquares / valueSquares);
                        Assert.True(rms < Math.Pow(2, -8), $"RMS relative error {rms:G3} ≥ 2⁻⁸, {form}");
                        Assert.True(rms > 0, $"bit-exact fp32 result: the bf16 route did not run, {form}");
                    }
    }

    [BFloat16Fact]
    public unsafe void Bf16_inputs_multiply_exactly_with_strides_and_zero_k_scales_c()
    {
        // Small integers are exact in bf16 and their sums exact in fp32: the result must equal the reference bit for bit.
        const int m = 9, n = 70, k = 40, lda = 45, ldb = 75, ldc = 72;
        var a = new BFloat16[m * lda];
        var b = new BFloat16[k * ldb];
        for (int i = 0; i < a.Length; i++) a[i] = (BFloat16)(float)(i % 7 - 3);
        for (int i = 0; i < b.Length; i++) b[i] = (BFloat16)(float)(i % 5 - 2);
        var c = new float[m * ldc];
        c.AsSpan().Fill(2f);
        fixed (BFloat16* pa = a) fixed (BFloat16* pb = b) fixed (float* pc = c)
        {
            BFloat16Gemm.Multiply(false, false, m, n, k, pa, lda, pb, ldb, 0.5f, pc, ldc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float sum = 1f;
                    for (int p = 0; p < k; p++) sum += (float)a[i * lda + p] * (float)b[p * ldb + j];
                    Assert.Equal(sum, c[i * ldc + j]);
                }
            Assert.Equal(2f, c[n]); // padding
            BFloat16Gemm.Multiply(false, false, m, n, 0, pa, lda, pb, ldb, 0f, pc, ldc);
            Assert.Equal(0f, c[0]);
        }
    }

    [Fact]
    public void Unavailable_bf16_falls_back_to_fp32_bit_for_bit_with_one_line()
    {
        var t = new Case(false, true, 96, 80, 200, 1f, pad: 1);
        float[] expected = t.RunSgemm();
        float[] actual;
        using (var scope = new GemmPrecisionScope(GemmPrecision.BFloat16, "this CPU lacks avx512_bf16"))
        {
            Assert.Equal(GemmPrecision.Float32, scope.Effective);
            Assert.Equal("bf16 unavailable: this CPU lacks avx512_bf16; using fp32", scope.FallbackMessage);
            Assert.False(GemmPrecisionScope.BFloat16Active);
            actual = t.RunSgemm();
        }
        Assert.Equal(expected, actual);
        using (var fp32 = GemmPrecisionScope.Enter(GemmPrecision.Float32))
            Assert.Null(fp32.FallbackMessage);
    }

    [Fact]
    public void Scopes_nest_and_restore()
    {
        Assert.False(GemmPrecisionScope.BFloat16Active);
        using (new GemmPrecisionScope(GemmPrecision.BFloat16, null))
        {
            Assert.True(GemmPrecisionScope.BFloat16Active);
            using (new GemmPrecisionScope(GemmPrecision.Float32, null))
                Assert.False(GemmPrecisionScope.BFloat16Active);
            Assert.True(GemmPrecisionScope.BFloat16Active);
            bool inWorker = false;
            Parallel.For(0, 1, _ => inWorker = GemmPrecisionScope.BFloat16Active);
            Assert.True(inWorker, "a Parallel.For worker started inside the scope must see it");
        }
        Assert.False(GemmPrecisionScope.BFloat16Active);
    }

    [Fact]
    public void Detection_names_the_missing_piece()
    {
        Assert.Equal("CPU flags unknown (needs Linux on x86-64)", BFloat16Gemm.Detect(null, () => null));
        Assert.Equal("this CPU lacks avx512_bf16", BFloat16Gemm.Detect("fpu avx512f avx512bw avx512_vnni", () => null));
        Assert.Equal("libdnnl.so.2 not found (apt-get install libdnnl2)",
            BFloat16Gemm.Detect("fpu avx512f avx512_bf16 avx512_vnni", () => "libdnnl.so.2 not found (apt-get install libdnnl2)"));
    }

    /// <summary>
    /// Where the CPU has avx512_bf16 (read here from /proc/cpuinfo) and oneDNN loads, bf16 must be available: a silent
    /// fp32 fallback on a capable machine would halve the SAE training speed without a word. (Elsewhere: nothing to check.)
    /// </summary>
    [Fact]
    public void A_machine_with_avx512_bf16_and_oneDNN_runs_bf16()
    {
        if (Environment.GetEnvironmentVariable("MECHANIST_BF16") is "off" or "0" || !File.Exists("/proc/cpuinfo")) return;
        string? flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (flags == null || !flags.Split(' ', ':', '\t').Contains("avx512_bf16") || OneDnn.Load() != null) return;
        // oneDNN's kernel and the probe product. OneDnn.Load has run twice by now (here and for UnavailableReason):
        // the second call must not replace the engine the cached primitives were made on (it did: status 2 at execute).
        string? reason = BFloat16Gemm.Detect(flags[(flags.IndexOf(':') + 1)..], () => null);
        if (reason != null && reason.EndsWith("not a native bf16 kernel", StringComparison.Ordinal)) return; // this oneDNN's choice on this CPU
        Assert.Null(reason);
        Assert.Null(BFloat16Gemm.UnavailableReason);
        Assert.True(BFloat16Gemm.IsAvailable);
        Assert.Contains("bf16", BFloat16Gemm.Implementation);
    }

    [Theory]
    [InlineData("f32", GemmPrecision.Float32)]
    [InlineData("float32", GemmPrecision.Float32)]
    [InlineData("bf16", GemmPrecision.BFloat16)]
    [InlineData("BFloat16", GemmPrecision.BFloat16)]
    [InlineData("fp32", GemmPrecision.Float32)]
    public void Parses_precision_names(string text, GemmPrecision expected) =>
        Assert.Equal(expected, GemmPrecisionScope.Parse(text));

    [Fact]
    public void Rejects_unknown_precision_naming_the_option() =>
        Assert.Contains("--precision fp8", Assert.Throws<UserError>(() => GemmPrecisionScope.Parse("fp8")).Message);
}
