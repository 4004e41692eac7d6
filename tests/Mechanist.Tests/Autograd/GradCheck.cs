using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Compares an op's hand-written backward with central finite differences, all in float64.
/// The scalar checked is Σ f(inputs)∘R for a fixed random R, so every output element carries a distinct
/// upstream gradient. Error per element: |analytic − numeric| / max(|analytic|, |numeric|, 1e-3).
/// </summary>
static class GradCheck
{
    public static Tensor<double> Random(Random rng, params int[] shape)
    {
        var t = new Tensor<double>(shape);
        for (int i = 0; i < t.Length; i++) t[i] = rng.NextDouble() * 2 - 1;
        return t;
    }

    /// <summary>Returns the largest relative error over every element of every input.</summary>
    public static double MaxError(Func<Var<double>[], Var<double>> f, params Tensor<double>[] inputs)
        => MaxError(f, inputs.Select(_ => true).ToArray(), inputs);

    /// <summary>
    /// As above with only the inputs marked in <paramref name="trainable"/> as leaves, the others constants: the
    /// ops' branches that skip a gradient nobody asked for run, and a constant must get no gradient at all.
    /// </summary>
    public static double MaxError(Func<Var<double>[], Var<double>> f, bool[] trainable, params Tensor<double>[] inputs)
    {
        var rng = new Random(12345);
        Tensor<double>? weights = null;
        Var<double> Scalar(Var<double>[] vars)
        {
            var y = f(vars);
            if (y.Value.Length == 1) return y;
            weights ??= Random(rng, y.Shape);
            return Ops.Sum(Ops.Mul(y, Ops.Constant(weights)));
        }

        var leaves = inputs.Select((x, i) => trainable[i] ? Ops.Leaf(x) : Ops.Constant(x)).ToArray();
        using (var tape = Tape.Start())
        {
            var loss = Scalar(leaves);
            tape.Backward(loss);
        }

        double worst = 0;
        const double h = 1e-5;
        for (int v = 0; v < inputs.Length; v++)
        {
            var x = inputs[v];
            if (!trainable[v])
            {
                if (leaves[v].Grad != null) throw new InvalidOperationException($"input {v} is a constant but got a gradient");
                continue;
            }
            var analytic = leaves[v].Grad?.ToArray() ?? new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                double old = x[i];
                double plus, minus;
                using (Tape.NoGrad())
                {
                    x[i] = old + h; plus = Scalar(inputs.Select(Ops.Constant).ToArray()).Value[0];
                    x[i] = old - h; minus = Scalar(inputs.Select(Ops.Constant).ToArray()).Value[0];
                }
                x[i] = old;
                double numeric = (plus - minus) / (2 * h);
                double error = Math.Abs(analytic[i] - numeric) / Math.Max(Math.Max(Math.Abs(analytic[i]), Math.Abs(numeric)), 1e-3);
                worst = Math.Max(worst, error);
            }
        }
        return worst;
    }
}
