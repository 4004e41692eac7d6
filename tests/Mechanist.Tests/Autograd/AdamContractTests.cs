using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Adam's update against the float64 AdamReference, at lengths on both sides of the 16-float vector width (vector
/// body, scalar tail, both); the moment flush at exactly its threshold; and that the update touches nothing outside
/// its parameter.
/// </summary>
public class AdamContractTests
{
    static double[] Reference(float[] w0, float[][] grads, double lr, double b1, double b2, double eps, double wd, bool decoupled)
        => AdamReference.Run(w0.Select(x => (double)x).ToArray(), grads.Length, (t, i, _) => grads[t - 1][i], lr, b1, b2, eps, wd, decoupled);

    static float[] RandomValues(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(100)]
    public void Every_entry_follows_the_reference_update_with_a_large_epsilon(int length)
    {
        // ε = 0.1 as in the weight-sparse recipe: large enough that its place in the denominator shows in every entry.
        const float lr = 0.05f, b1 = 0.8f, b2 = 0.95f, eps = 0.1f, wd = 0.2f;
        var rng = new Random(length);
        var w0 = RandomValues(rng, length);
        var grads = Enumerable.Range(0, 4).Select(_ => RandomValues(rng, length)).ToArray();
        foreach (bool decoupled in new[] { false, true })
        {
            var p = new Parameter("w", Tensor.FromArray(w0, length));
            Adam opt = decoupled ? new AdamW([p], lr, b1, b2, eps, wd) : new Adam([p], lr, b1, b2, eps, wd);
            foreach (var g in grads) { g.CopyTo(p.Grad.Span); opt.Step(); }
            var expected = Reference(w0, grads, lr, b1, b2, eps, wd, decoupled);
            for (int i = 0; i < length; i++)
                Assert.True(Math.Abs(expected[i] - p.Value[i]) <= 1e-5, $"{(decoupled ? "AdamW" : "Adam")} w[{i}] = {p.Value[i]}, expected {expected[i]}");
        }
    }

    [Fact]
    public void A_parameter_that_is_a_view_leaves_the_rest_of_its_storage_alone()
    {
        // Row 0 of a [2, 17] tensor: the entry just past the parameter is row 1's first, and must not move.
        var storage = Tensor.FromArray(Enumerable.Range(1, 34).Select(i => (float)i).ToArray(), 2, 17);
        var p = new Parameter("row", storage.Rows(0, 1));
        p.Grad.Fill(0.5f);
        var opt = new AdamW([p], lr: 0.1f, weightDecay: 0.5f);
        for (int t = 0; t < 3; t++) opt.Step();
        Assert.NotEqual(1f, storage[0]);
        for (int i = 17; i < 34; i++) Assert.Equal(i + 1f, storage[i]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    public void Moments_at_exactly_the_flush_threshold_are_kept_and_just_below_it_are_zeroed(int length)
    {
        // β1 = β2 = ½ and a zero gradient halve each moment exactly, so the next values are chosen bit for bit.
        float below = MathF.BitDecrement(Adam.FlushBelow);
        foreach (var (start, expected) in new[] { (2 * Adam.FlushBelow, Adam.FlushBelow), (2 * below, 0f) })
        {
            var p = new Parameter("w", new Tensor(length));
            var opt = new Adam([p], beta1: 0.5f, beta2: 0.5f);
            var s = opt.StateOf(p);
            s.M.Fill(start);
            s.V.Fill(start);
            opt.Step();
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(expected, s.M[i]);
                Assert.Equal(expected, s.V[i]);
            }
        }
    }

    [Fact]
    public void Zero_learning_rate_and_the_edges_of_each_range_are_accepted()
    {
        var p = new Parameter("w", Tensor.FromArray([1f, -2f], 2));
        p.Grad.Fill(3);
        var opt = new AdamW([p], lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0.5f);
        opt.Step();
        Assert.Equal([1f, -2f], p.Value.ToArray()); // lr 0: neither the decay nor the step moves w
        Assert.Equal([3f, 3f], opt.StateOf("w").M.ToArray()); // β1 = 0: m is the gradient
        Assert.Equal([9f, 9f], opt.StateOf("w").V.ToArray());
        _ = new Adam([p], weightDecay: 0);
    }

    [Theory]
    [InlineData("lr", -1e-3f, 0.9f, 0.999f, 1e-8f, 0f, "learning rate must be ≥ 0")]
    [InlineData("lr", float.NaN, 0.9f, 0.999f, 1e-8f, 0f, "learning rate must be ≥ 0")]
    [InlineData("beta1", 1e-3f, -0.1f, 0.999f, 1e-8f, 0f, "β1 must be in [0, 1)")]
    [InlineData("beta1", 1e-3f, 1f, 0.999f, 1e-8f, 0f, "β1 must be in [0, 1)")]
    [InlineData("beta1", 1e-3f, float.NaN, 0.999f, 1e-8f, 0f, "β1 must be in [0, 1)")]
    [InlineData("beta2", 1e-3f, 0.9f, -0.1f, 1e-8f, 0f, "β2 must be in [0, 1)")]
    [InlineData("beta2", 1e-3f, 0.9f, 1f, 1e-8f, 0f, "β2 must be in [0, 1)")]
    [InlineData("eps", 1e-3f, 0.9f, 0.999f, -1e-8f, 0f, "ε must be ≥ 0")]
    [InlineData("weightDecay", 1e-3f, 0.9f, 0.999f, 1e-8f, -0.01f, "weight decay must be ≥ 0")]
    public void Out_of_range_settings_are_refused_by_name(string parameter, float lr, float beta1, float beta2, float eps, float wd, string words)
    {
        var p = new Parameter("w", new Tensor(3));
        foreach (Func<Adam> make in new Func<Adam>[] { () => new Adam([p], lr, beta1, beta2, eps, wd), () => new AdamW([p], lr, beta1, beta2, eps, wd) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(make);
            Assert.Equal(parameter, e.ParamName);
            Assert.Contains(words, e.Message);
        }
    }

    [Fact]
    public void Names_key_the_state_so_they_must_be_unique_and_known()
    {
        var a = new Parameter("w", new Tensor(2));
        var b = new Parameter("w", new Tensor(3));
        var dup = Assert.Throws<ArgumentException>(() => new Adam([a, b]));
        Assert.Contains("two parameters are named 'w'", dup.Message);
        var unknown = Assert.Throws<ArgumentException>(() => new Adam([a]).StateOf("bias"));
        Assert.Contains("no parameter named 'bias' in this optimizer", unknown.Message);
    }

    [Fact]
    public void ZeroGrad_clears_every_parameters_gradient()
    {
        var a = new Parameter("a", new Tensor(3));
        var b = new Parameter("b", new Tensor(20));
        a.Grad.Fill(1); b.Grad.Fill(-2);
        new Adam([a, b]).ZeroGrad();
        Assert.All(a.Grad.ToArray(), g => Assert.Equal(0f, g));
        Assert.All(b.Grad.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Resets_refuse_a_column_or_entry_outside_the_parameter()
    {
        var p = new Parameter("W", new Tensor(4, 5));
        var s = new Adam([p]).StateOf(p);
        s.ResetColumns([4]);
        s.ResetEntries([19]);
        var column = Assert.Throws<ArgumentOutOfRangeException>(() => s.ResetColumns([5]));
        Assert.Equal("columns", column.ParamName);
        Assert.Contains("column 5 outside [0, 5)", column.Message);
        Assert.Contains("column -1 outside", Assert.Throws<ArgumentOutOfRangeException>(() => s.ResetColumns([-1])).Message);
        var entry = Assert.Throws<ArgumentOutOfRangeException>(() => s.ResetEntries([20]));
        Assert.Equal("flatIndices", entry.ParamName);
        Assert.Contains("entry 20 outside [0, 20)", entry.Message);
    }
}
