using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using Var = Mechanist.Autograd.Var<float>;

namespace Mechanist.Tests.Autograd;

public class TapeTests
{
    static Tensor RandomFloat(Random rng, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    static Var Loss(Var w, Var x) => Ops.Mean(Ops.Relu(Ops.MatMul(x, w)));

    [Fact]
    public void Two_backward_passes_accumulate_the_sum_of_their_gradients()
    {
        var rng = new Random(3);
        var p = new Parameter("w", RandomFloat(rng, 4, 3));
        var x1 = Ops.Constant(RandomFloat(rng, 5, 4));
        var x2 = Ops.Constant(RandomFloat(rng, 5, 4));
        var w = Var.Of(p);

        float[] Grad(Var x)
        {
            p.ZeroGrad();
            using var tape = Tape.Start();
            tape.Backward(Loss(w, x));
            return p.Grad.ToArray();
        }
        float[] g1 = Grad(x1), g2 = Grad(x2);

        p.ZeroGrad();
        using (var tape = Tape.Start()) tape.Backward(Loss(w, x1));
        using (var tape = Tape.Start()) tape.Backward(Loss(w, x2));
        for (int i = 0; i < g1.Length; i++) Assert.Equal(g1[i] + g2[i], p.Grad[i], 6);
        Assert.Contains(p.Grad.ToArray(), g => g != 0);
    }

    [Fact]
    public void NoGrad_records_nothing_and_allocates_no_gradients()
    {
        var rng = new Random(4);
        var p = new Parameter("w", RandomFloat(rng, 4, 3));
        var w = Var.Of(p);
        using var tape = Tape.Start();
        Var y;
        using (Tape.NoGrad())
        {
            y = Loss(w, Ops.Constant(RandomFloat(rng, 5, 4)));
            Assert.Null(Tape.Active);
        }
        Assert.Equal(0, tape.Count);
        Assert.False(y.RequiresGrad);
        Assert.Same(tape, Tape.Active);
        Loss(w, Ops.Constant(RandomFloat(rng, 5, 4)));
        Assert.True(tape.Count > 0);
    }

    [Fact]
    public void Without_a_tape_ops_only_compute()
    {
        var w = Var.Of(new Parameter("w", new Tensor(2, 2)));
        var y = Ops.MatMul(Ops.Constant(new Tensor(3, 2)), w);
        Assert.False(y.RequiresGrad);
        Assert.Null(Tape.Active);
    }

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluNew)]
    [InlineData(Activation.Sigmoid)]
    public void Float_activation_kernels_agree_with_the_float64_ones(Activation kind)
    {
        // The float GELU uses a fast erf; check it against the double path the gradient tests verify.
        int n = 1003;
        var xf = new float[n]; var xd = new double[n];
        for (int i = 0; i < n; i++) { xd[i] = -6 + 12.0 * i / (n - 1); xf[i] = (float)xd[i]; }
        float[] yf = new float[n], dxf = new float[n], dyf = Enumerable.Repeat(1f, n).ToArray();
        double[] yd = new double[n], dxd = new double[n], dyd = Enumerable.Repeat(1.0, n).ToArray();
        Mechanist.Numerics.Kernels.Activations.Forward<float>(kind, xf, yf); Mechanist.Numerics.Kernels.Activations.Backward<float>(kind, xf, yf, dyf, dxf);
        Mechanist.Numerics.Kernels.Activations.Forward<double>(kind, xd, yd); Mechanist.Numerics.Kernels.Activations.Backward<double>(kind, xd, yd, dyd, dxd);
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(yf[i] - yd[i]) < 2e-6 * Math.Max(1, Math.Abs(yd[i])), $"f({xd[i]}) {yf[i]} vs {yd[i]}");
            Assert.True(Math.Abs(dxf[i] - dxd[i]) < 2e-6 * Math.Max(1, Math.Abs(dxd[i])), $"f'({xd[i]}) {dxf[i]} vs {dxd[i]}");
        }
    }

    [Fact]
    public void Float_attention_agrees_with_float64()
    {
        var rng = new Random(5);
        int b = 2, s = 33, h = 4, dh = 32;
        var qf = RandomFloat(rng, b, s, h * dh); var kf = RandomFloat(rng, b, s, h * dh); var vf = RandomFloat(rng, b, s, h * dh);
        Tensor<double> D(Tensor t) { var d = new Tensor<double>(t.Shape); for (int i = 0; i < t.Length; i++) d[i] = t[i]; return d; }
        var zf = Ops.Attention(Ops.Constant(qf), Ops.Constant(kf), Ops.Constant(vf), h);
        var zd = Ops.Attention(Ops.Constant(D(qf)), Ops.Constant(D(kf)), Ops.Constant(D(vf)), h);
        for (int i = 0; i < zf.Value.Length; i++) Assert.True(Math.Abs(zd.Value[i] - zf.Value[i]) < 1e-5, $"z[{i}] {zf.Value[i]} vs {zd.Value[i]}");
    }
}
