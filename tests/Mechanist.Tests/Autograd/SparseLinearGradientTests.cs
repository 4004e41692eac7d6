using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// <see cref="Ops.SparseLinear{T}"/> against finite differences in float64, in both weight layouts and both
/// weight-gradient modes, and its float32 path (the SIMD kernels) against the dense ops on the masked weight.
/// </summary>
public class SparseLinearGradientTests
{
    const double Tolerance = 1e-6;
    readonly Random _rng = new(17);

    /// <summary>A random [rows, columns] weight with about 60 % of its entries exactly zero (pruned).</summary>
    Tensor<double> PrunedWeight(int rows, int columns)
    {
        var w = GradCheck.Random(_rng, rows, columns);
        for (int i = 0; i < w.Length; i++) if (_rng.NextDouble() < 0.6) w[i] = 0;
        return w;
    }

    static void CheckEverySubset(Func<Var<double>[], Var<double>> f, params Tensor<double>[] inputs)
    {
        for (int mask = 1; mask < 1 << inputs.Length; mask++)
        {
            var trainable = Enumerable.Range(0, inputs.Length).Select(i => (mask >> i & 1) == 1).ToArray();
            double error = GradCheck.MaxError(f, trainable, inputs);
            Assert.True(error <= Tolerance, $"trainable [{string.Join(", ", trainable)}]: max relative error {error:E2} > {Tolerance:E0}");
        }
    }

    /// <summary>
    /// Dense mode: dW is the gradient for every weight, pruned or kept, so it matches finite differences of a layer
    /// whose mask follows the weights (the pattern rebuilt from the nonzeros at each evaluation, as top-k training does).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Dense_weight_gradient_matches_finite_differences_with_the_mask_following_the_weights(bool inputMajor)
    {
        var w = inputMajor ? PrunedWeight(5, 4) : PrunedWeight(4, 5);
        CheckEverySubset(v => Ops.SparseLinear(v[0], v[1], SparsePattern.FromNonZeros<double>(v[1].Value.Span, v[1].Value.Dim(0), v[1].Value.Dim(1)),
            v[2], SparseWeightGradient.Dense, inputMajor), GradCheck.Random(_rng, 2, 3, 5), w, GradCheck.Random(_rng, 4));
    }

    /// <summary>KeptOnly mode: the exact gradient of x·(W∘M)ᵀ + b with M fixed; pruned weights get zero.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Kept_only_weight_gradient_matches_finite_differences_with_a_fixed_mask(bool inputMajor)
    {
        var w = inputMajor ? PrunedWeight(5, 4) : PrunedWeight(4, 5);
        var pattern = SparsePattern.FromNonZeros<double>(w.Span, w.Dim(0), w.Dim(1));
        for (int i = 0; i < w.Length; i++) if (w[i] == 0) w[i] = 0.5; // pruned entries hold values the layer must ignore
        CheckEverySubset(v => Ops.SparseLinear(v[0], v[1], pattern, v[2], SparseWeightGradient.KeptOnly, inputMajor),
            GradCheck.Random(_rng, 2, 3, 5), w, GradCheck.Random(_rng, 4));
        CheckEverySubset(v => Ops.SparseLinear(v[0], v[1], pattern, null, SparseWeightGradient.KeptOnly, inputMajor),
            GradCheck.Random(_rng, 7, 5), w);
    }

    /// <summary>
    /// The float32 path (tiled SIMD kernels, 150 tokens: two full tiles and a ragged one) gives what Ops.MatMul gives on
    /// the weight with its pruned entries zeroed: y, dx and the dense dW; KeptOnly's dW is that dW at the kept entries.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float32_path_matches_the_dense_ops_on_the_masked_weight(bool inputMajor)
    {
        int n = 150, inputs = 72, outputs = 40;
        var rng = new Rng(5);
        var x = new Tensor(n, inputs);
        rng.FillUniform(x.Span, -1, 1);
        var w = inputMajor ? new Tensor(inputs, outputs) : new Tensor(outputs, inputs);
        rng.FillUniform(w.Span, -1, 1);
        for (int i = 0; i < w.Length; i++) if (i % 7 != 0) w[i] = 0;
        var pattern = SparsePattern.FromNonZeros<float>(w.Span, w.Dim(0), w.Dim(1));
        var upstream = new Tensor(n, outputs);
        rng.FillUniform(upstream.Span, -1, 1);

        (float[] Y, float[] Dx, float[] Dw) Run(Func<Var<float>, Var<float>, Var<float>> layer)
        {
            var xv = Ops.Leaf(x.Clone());
            var wv = Ops.Leaf(w.Clone());
            using var tape = Tape.Start();
            var y = layer(xv, wv);
            tape.Backward(Ops.Sum(Ops.Mul(y, Ops.Constant(upstream))));
            return (y.Value.ToArray(), xv.Grad!.ToArray(), wv.Grad!.ToArray());
        }

        var dense = Run((xv, wv) => Ops.MatMul(xv, wv, transB: !inputMajor));
        var sparse = Run((xv, wv) => Ops.SparseLinear(xv, wv, pattern, null, SparseWeightGradient.Dense, inputMajor));
        var kept = Run((xv, wv) => Ops.SparseLinear(xv, wv, pattern, null, SparseWeightGradient.KeptOnly, inputMajor));
        AssertClose(dense.Y, sparse.Y, "y");
        AssertClose(dense.Dx, sparse.Dx, "dx");
        AssertClose(dense.Dw, sparse.Dw, "dW (dense mode)");
        AssertClose(dense.Dx, kept.Dx, "dx (kept-only mode)");
        AssertClose(dense.Dw.Select((g, i) => w[i] != 0 ? g : 0).ToArray(), kept.Dw, "dW (kept-only mode)");
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"{what}[{i}] = {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void A_pattern_that_does_not_fit_the_weight_or_input_is_refused()
    {
        var x = Ops.Constant(new Tensor(3, 5));
        var w = Ops.Leaf(new Tensor(4, 5));
        Assert.Throws<ArgumentException>(() => Ops.SparseLinear(x, w, new SparsePattern(5, 4, new int[6], []), null));
        Assert.Throws<ArgumentException>(() => Ops.SparseLinear(x, w, new SparsePattern(4, 5, new int[5], []), null, inputMajor: true));
        Assert.Throws<ArgumentException>(() => Ops.SparseLinear(x, w, new SparsePattern(4, 5, new int[5], []), Ops.Constant(new Tensor(5))));
    }
}
