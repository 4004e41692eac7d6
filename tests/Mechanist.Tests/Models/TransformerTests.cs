using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using Var = Mechanist.Autograd.Var<float>;

namespace Mechanist.Tests.Models;

public class TransformerTests
{
    static TransformerConfig Small(Activation act = Activation.GeluNew, bool tied = true, bool crfm = false, bool attnOnly = false) => new()
    {
        Layers = 2, DModel = 8, Heads = 2, DMlp = 12, Context = 6, Vocab = 11,
        Activation = act, TiedEmbeddings = tied, ScaleAttnByInverseLayerIdx = crfm, AttentionOnly = attnOnly,
    };

    /// <summary>Init at 0.02 makes every logit ≈ 0; larger random weights exercise the arithmetic.</summary>
    static Transformer<float> Randomised(TransformerConfig c, int seed)
    {
        var m = Transformer<float>.Create(c, (ulong)seed);
        var rng = new Random(seed);
        foreach (var (_, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] = (float)(rng.NextDouble() * 1.2 - 0.6) + (w.Value[i] == 1 ? 1 : 0);
        return m;
    }

    [Theory]
    [InlineData(Activation.GeluNew, true, false, false)]
    [InlineData(Activation.Relu, false, true, false)]
    [InlineData(Activation.Gelu, true, false, true)]
    public void Forward_matches_a_hand_computed_reference(Activation act, bool tied, bool crfm, bool attnOnly)
    {
        var m = Randomised(Small(act, tied, crfm, attnOnly), 3);
        int[] tokens = [1, 5, 0, 10, 3, 3];
        Var logits;
        using (Tape.NoGrad()) logits = m.Forward(tokens, 1, 6);
        var expected = ReferenceGpt2.Logits(m, tokens);
        for (int t = 0; t < 6; t++)
            for (int v = 0; v < 11; v++)
            {
                double e = expected[t, v], a = logits.Value[t * 11 + v];
                Assert.True(Math.Abs(a - e) <= 1e-4 * Math.Max(1, Math.Abs(e)), $"logit[{t},{v}] {a} vs {e}");
            }
    }

    [Fact]
    public void Batched_forward_equals_one_sequence_at_a_time()
    {
        var m = Randomised(Small(), 4);
        int[] a = [1, 2, 3, 4], b = [9, 8, 7, 6];
        var both = m.Forward([.. a, .. b], 2, 4).Value.ToArray();
        var one = m.Forward(a, 1, 4).Value.ToArray().Concat(m.Forward(b, 1, 4).Value.ToArray()).ToArray();
        for (int i = 0; i < one.Length; i++) Assert.True(Math.Abs(one[i] - both[i]) < 1e-5, $"logit {i}");
    }

    [Theory]
    [InlineData(Activation.GeluNew, true, false)]
    [InlineData(Activation.Relu, false, true)]
    public void Whole_model_backward_matches_finite_differences_in_float64(Activation act, bool tied, bool crfm)
    {
        var c = Small(act, tied, crfm) with { Context = 4, Vocab = 7 };
        var m = Transformer<double>.Create(c, 5);
        var rng = new Random(5);
        foreach (var (_, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] += rng.NextDouble() * 0.6 - 0.3;
        int[] windows = [1, 2, 3, 4, 5, 6, 0, 2, 2, 1];  // 2 windows of context 4 + 1
        using (var tape = Tape.Start()) tape.Backward(m.Loss(windows, 2));
        double worst = 0;
        const double h = 1e-5;
        foreach (var (name, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++)
            {
                double old = w.Value[i], plus, minus;
                using (Tape.NoGrad())
                {
                    w.Value[i] = old + h; plus = m.Loss(windows, 2).Value[0];
                    w.Value[i] = old - h; minus = m.Loss(windows, 2).Value[0];
                }
                w.Value[i] = old;
                double numeric = (plus - minus) / (2 * h), analytic = w.Grad?[i] ?? 0;
                double error = Math.Abs(analytic - numeric) / Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), 1e-3);
                Assert.True(error <= 1e-6, $"{name}[{i}]: analytic {analytic} numeric {numeric}");
                worst = Math.Max(worst, error);
            }
        Assert.True(worst < 1e-6);
    }

    [Fact]
    public void Hooks_read_replace_and_stop_early()
    {
        var m = Randomised(Small(Activation.Relu), 6);
        int[] tokens = [1, 2, 3, 4, 5, 6];
        var points = m.Config.HookPoints();
        var (logits, cache) = m.RunWithCache(tokens, 1, 6, points);
        Assert.Equal(points.Count, cache.Count);
        Assert.Equal([1, 6, 12], cache[HookPoint.MlpPost(0)].Shape);
        Assert.Equal([1, 6, 2, 4], cache[HookPoint.Q(1)].Shape);
        Assert.Equal([1, 2, 6, 6], cache[HookPoint.Pattern(0)].Shape);
        Assert.Equal([1, 6, 1], cache[HookPoint.FinalScale].Shape);
        Assert.All(cache[HookPoint.MlpPost(0)].ToArray(), v => Assert.True(v >= 0));
        foreach (var p in points.Where(p => p.Site != HookSite.Pattern)) Assert.Equal(p.Width(m.Config), cache[p].Length / 6); // values per position

        // Hooks that leave values as they are do not change the logits, even where LayerNorm is split.
        var plain = m.Forward(tokens, 1, 6).Value.ToArray();
        for (int i = 0; i < plain.Length; i++) Assert.True(Math.Abs(plain[i] - logits.Value[i]) < 1e-5, $"logit {i}");

        // Replacing an activation with itself changes nothing; ablating every neuron removes the MLP's effect
        // except its output bias.
        var same = m.Forward(tokens, 1, 6, new Hooks<float>().Replace(HookPoint.MlpPost(0), t => t.Clone())).Value.ToArray();
        Assert.Equal(plain, same);
        var ablated = m.Forward(tokens, 1, 6, new Hooks<float>().Ablate(HookPoint.MlpPost(0), Enumerable.Range(0, 12).ToArray()));
        Assert.NotEqual(plain, ablated.Value.ToArray());

        // RunToHook stops at the point and returns what the cache saw.
        var post = m.RunToHook(tokens, 1, 6, HookPoint.ResidMid(1));
        // (Compared with a cache that hooks nothing else: hooking ln*.hook_normalized splits the fused
        // LayerNorm into normalise, scale and shift, which rounds differently in the last bit.)
        var (_, only) = m.RunWithCache(tokens, 1, 6, [HookPoint.ResidMid(1)]);
        Assert.Equal(only[HookPoint.ResidMid(1)].ToArray(), post.ToArray());
        // Stopping means stopping: hooks after the point do not run.
        bool later = false;
        m.RunToHook(tokens, 1, 6, HookPoint.ResidMid(1), new Hooks<float>().Read(HookPoint.MlpPre(1), _ => later = true));
        Assert.False(later);
        var q = m.RunToHook(tokens, 1, 6, HookPoint.Q(1));
        Assert.Equal(m.RunWithCache(tokens, 1, 6, [HookPoint.Q(1)]).Cache[HookPoint.Q(1)].ToArray(), q.ToArray());
        Assert.Equal([1, 6, 2, 4], q.Shape);

        // Steering adds a vector at every position.
        var delta = new Tensor(8); delta[3] = 2f;
        var resid = m.RunToHook(tokens, 1, 6, HookPoint.ResidPost(0), new Hooks<float>().Add(HookPoint.ResidPost(0), delta));
        for (int t = 0; t < 6; t++) Assert.True(Math.Abs(cache[HookPoint.ResidPost(0)][t * 8 + 3] + 2f - resid[t * 8 + 3]) < 1e-5);

        Assert.Throws<UserError>(() => m.Forward(tokens, 1, 6, new Hooks<float>().Replace(HookPoint.Pattern(0), t => t.Clone())));
    }

    [Fact]
    public void Spliced_replacement_changes_per_token_loss()
    {
        var m = Randomised(Small(Activation.Relu), 8);
        int[] windows = [1, 2, 3, 4, 5, 6, 7];
        var clean = new float[6];
        var spliced = new float[6];
        using (Tape.NoGrad())
        {
            m.Loss(windows, 1, null, clean);
            m.Loss(windows, 1, new Hooks<float>().Replace(HookPoint.MlpPost(0), t => new Tensor(t.Shape)), spliced);
        }
        Assert.NotEqual(clean, spliced);
        Assert.All(clean, l => Assert.True(l > 0));
    }
}
