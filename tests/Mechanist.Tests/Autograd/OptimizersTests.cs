using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;

namespace Mechanist.Tests.Autograd;

public class OptimizersTests
{
    // A tiny problem: loss = Σ (w_i − target_i)² / 2 + the gradients are w − target. 37 entries so the SIMD body
    // and the scalar tail both run.
    static (Parameter p, double[] target) Problem(bool weightDecay = true)
    {
        var rng = new Random(5);
        int n = 37;
        var w = new Tensor(n);
        var target = new double[n];
        for (int i = 0; i < n; i++) { w[i] = (float)(rng.NextDouble() * 2 - 1); target[i] = rng.NextDouble() * 2 - 1; }
        return (new Parameter("w", w, weightDecay), target);
    }

    static void SetGrad(Parameter p, double[] target)
    {
        for (int i = 0; i < target.Length; i++) p.Grad[i] = (float)(p.Value[i] - target[i]);
    }

    /// <summary>The reference update with the gradient of ½‖w − target‖², taken at the reference's own weights.</summary>
    static double[] Reference(double[] w0, double[] target, int steps, double lr, double b1, double b2, double eps, double wd, bool decoupled)
        => AdamReference.Run(w0, steps, (_, i, w) => w - target[i], lr, b1, b2, eps, wd, decoupled);

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.1)]
    [InlineData(true, 0.01)]
    [InlineData(true, 0.5)]
    public void Adam_matches_the_closed_form_torch_update(bool decoupled, double wd)
    {
        var (p, target) = Problem();
        var w0 = p.Value.ToArray().Select(x => (double)x).ToArray();
        Adam opt = decoupled ? new AdamW([p], lr: 0.05f, weightDecay: (float)wd) : new Adam([p], lr: 0.05f, weightDecay: (float)wd);
        for (int t = 0; t < 5; t++) { SetGrad(p, target); opt.Step(); }
        var expected = Reference(w0, target, 5, 0.05, 0.9, 0.999, 1e-8, wd, decoupled);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], p.Value[i], 1e-6);
        Assert.Equal(5, opt.StateOf(p).Step);
    }

    [Fact]
    public void Golden_values_from_torch()
    {
        // Printed by torch 1.13 (Debian python3-torch): w = [0.5, -1.5, 2.0], the three gradients below,
        // torch.optim.Adam(lr=0.1) and torch.optim.AdamW(lr=0.1, weight_decay=0.1), float32.
        float[][] grads = [[0.3f, -0.2f, 1.0f], [0.1f, 0.4f, -2.0f], [-0.5f, 0.0f, 0.25f]];
        foreach (bool decoupled in new[] { false, true })
        {
            var p = new Parameter("w", Tensor.FromArray([0.5f, -1.5f, 2.0f], 3));
            Adam opt = decoupled ? new AdamW([p], lr: 0.1f, weightDecay: 0.1f) : new Adam([p], lr: 0.1f);
            foreach (var g in grads) { g.CopyTo(p.Grad.Span); opt.Step(); }
            float[] expected = decoupled ? GoldenAdamW : GoldenAdam;
            for (int i = 0; i < 3; i++) Assert.Equal(expected[i], p.Value[i], 1e-6);
        }
    }

    static readonly float[] GoldenAdam = [0.33093104f, -1.46491027f, 1.95763266f];
    static readonly float[] GoldenAdamW = [0.31894162f, -1.42198277f, 1.89985454f];

    [Fact]
    public void Weight_decay_skips_parameters_that_opt_out()
    {
        var (p, target) = Problem(weightDecay: false);
        var w0 = p.Value.ToArray().Select(x => (double)x).ToArray();
        var opt = new AdamW([p], lr: 0.05f, weightDecay: 0.5f);
        for (int t = 0; t < 3; t++) { SetGrad(p, target); opt.Step(); }
        var expected = Reference(w0, target, 3, 0.05, 0.9, 0.999, 1e-8, 0, true);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], p.Value[i], 1e-6);
    }

    [Fact]
    public void Exported_state_resumes_exactly()
    {
        var (a, target) = Problem();
        var (b, _) = Problem();
        var optA = new AdamW([a], lr: 0.05f);
        for (int t = 0; t < 3; t++) { SetGrad(a, target); optA.Step(); }
        a.Value.Span.CopyTo(b.Value.Span);
        var (tensors, steps) = optA.ExportState();
        var saved = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var optB = new AdamW([b], lr: 0.05f);
        optB.ImportState(saved, steps, "test");
        for (int t = 0; t < 3; t++) { SetGrad(a, target); optA.Step(); SetGrad(b, target); optB.Step(); }
        Assert.Equal(a.Value.ToArray(), b.Value.ToArray());
        Assert.Throws<DataFormatError>(() => optB.ImportState(new Dictionary<string, Tensor>(), steps, "x.safetensors"));
    }

    [Fact]
    public void Resetting_rows_columns_and_entries_zeroes_exactly_those_moments()
    {
        var p = new Parameter("W", new Tensor(4, 5));
        p.Grad.Fill(1);
        var opt = new Adam([p]);
        opt.Step();
        var s = opt.StateOf(p);
        s.ResetRows([1]);
        s.ResetColumns([3]);
        s.ResetEntries([0]);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 5; c++)
            {
                bool reset = r == 1 || c == 3 || (r == 0 && c == 0);
                Assert.Equal(reset, s.M[r * 5 + c] == 0);
                Assert.Equal(reset, s.V[r * 5 + c] == 0);
            }
        Assert.Equal(1, s.Step);
    }

    [Fact]
    public void Tiny_moments_are_flushed_instead_of_going_subnormal()
    {
        var p = new Parameter("w", new Tensor(20));
        p.Grad.Fill(1e-16f);
        var opt = new Adam([p], beta1: 0.5f, beta2: 0.5f);
        opt.Step();
        p.Grad.Clear();
        for (int t = 0; t < 200; t++) opt.Step();
        var s = opt.StateOf(p);
        foreach (float x in s.M.Span) Assert.True(x == 0 || float.IsNormal(x));
        foreach (float x in s.V.Span) Assert.True(x == 0 || float.IsNormal(x));
        Assert.Equal(0f, s.M[19]);
    }

    [Fact]
    public void Clipping_follows_clip_grad_norm()
    {
        var a = new Parameter("a", new Tensor(3)); var b = new Parameter("b", new Tensor(17));
        a.Grad.Fill(2); b.Grad.Fill(-1);
        double norm = Math.Sqrt(3 * 4 + 17);
        float returned = GradientClipping.ClipGlobalNorm([a, b], 1f);
        Assert.Equal(norm, returned, 1e-5);
        double c = 1 / (norm + 1e-6);
        Assert.Equal(2 * c, a.Grad[0], 1e-7);
        Assert.Equal(-c, b.Grad[16], 1e-7);
        // Below the limit nothing changes.
        a.Grad.Fill(0.1f); b.Grad.Clear();
        GradientClipping.ClipGlobalNorm([a, b], 1f);
        Assert.Equal(0.1f, a.Grad[2]);
    }

    [Fact]
    public void Schedules_warm_up_then_decay_to_the_final_fraction()
    {
        var cos = new LearningRateSchedule(10, 110, DecayShape.Cosine, 0.1);
        Assert.Equal(0.1, cos.Factor(0), 12);
        Assert.Equal(1.0, cos.Factor(9), 12);
        Assert.Equal(1.0, cos.Factor(10), 12);
        Assert.Equal(0.1 + 0.9 * 0.5, cos.Factor(60), 12);
        Assert.Equal(0.1, cos.Factor(110), 12);
        Assert.Equal(0.1, cos.Factor(10_000), 12);

        var lin = new LearningRateSchedule(0, 100, DecayShape.Linear, 0, decayStart: 80);
        Assert.Equal(1.0, lin.Factor(0), 12);
        Assert.Equal(1.0, lin.Factor(80), 12);
        Assert.Equal(0.5, lin.Factor(90), 12);
        Assert.Equal(0.0, lin.Factor(100), 12);
        Assert.Equal(3e-4f, lin.Rate(6e-4, 90), 9);
    }
}
