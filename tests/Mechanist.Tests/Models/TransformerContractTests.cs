using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Tests.Models;

/// <summary>
/// The forward pass's contract beyond its logits: LayerNorm's hook_scale is σ = √(var + ε), freezing it at a given σ
/// divides x − μ by that σ (RMSNorm: x by it), the hook points fire only where hooked, a cached pass records no
/// gradient, RunWithCache keeps the caller's hooks, and each bad call is refused with its message.
/// </summary>
public class TransformerContractTests
{
    static Transformer<float> Model(NormKind norm = NormKind.LayerNorm)
    {
        var c = new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 13 };
        if (norm == NormKind.RmsNorm) c = c with { Norm = NormKind.RmsNorm, LearnedPositions = false };
        var m = Transformer<float>.Create(c, 5);
        var rng = new Random(5);
        foreach (var (_, w) in m.Weights) for (int i = 0; i < w.Value.Length; i++) w.Value[i] += (float)(rng.NextDouble() - 0.5);
        return m;
    }

    static readonly int[] Tokens = [3, 1, 4, 1, 5, 9];

    [Fact]
    public void Ln1_scale_is_the_standard_deviation_of_the_residual_stream()
    {
        var m = Model();
        Tensor? x = null, scale = null;
        var hooks = new Hooks<float>().Read(HookPoint.ResidPre(0), t => x = t.Clone()).Read(HookPoint.Scale(0, 1), t => scale = t.Clone());
        m.Forward(Tokens, 2, 3, hooks);
        Assert.Equal([2, 3, 1], scale!.Shape);
        for (int row = 0; row < 6; row++)
        {
            var v = x!.Span.Slice(row * 8, 8).ToArray().Select(f => (double)f).ToArray();
            double mean = v.Average(), variance = v.Select(a => (a - mean) * (a - mean)).Average();
            Assert.Equal(Math.Sqrt(variance + 1e-5), scale[row], 4);
        }
    }

    [Theory]
    [InlineData(NormKind.LayerNorm)]
    [InlineData(NormKind.RmsNorm)]
    public void Freezing_the_scale_at_twice_sigma_halves_what_the_sublayer_normalises(NormKind norm)
    {
        var m = Model(norm);
        Tensor? scale = null, plain = null, frozen = null;
        m.Forward(Tokens, 2, 3, new Hooks<float>().Read(HookPoint.Scale(0, 2), t => scale = t.Clone()).Read(HookPoint.Normalized(0, 2), t => plain = t.Clone()));
        var doubled = scale!.Clone();
        for (int i = 0; i < doubled.Length; i++) doubled[i] *= 2;
        m.Forward(Tokens, 2, 3, new Hooks<float>().Replace(HookPoint.Scale(0, 2), _ => doubled).Read(HookPoint.Normalized(0, 2), t => frozen = t.Clone()));
        // LayerNorm's hook_normalized is x̂ = (x − μ)/σ before the gain; RMSNorm's is x/rms · gain: both scale with 1/σ.
        for (int i = 0; i < plain!.Length; i++) Assert.Equal(plain[i] / 2, frozen![i], 4);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Either_layer_norm_point_alone_fires_its_hook(bool scale, bool normalized)
    {
        var m = Model();
        int fired = 0;
        var hooks = new Hooks<float>();
        if (scale) hooks.Read(HookPoint.Scale(0, 1), _ => fired++);
        if (normalized) hooks.Read(HookPoint.Normalized(0, 1), _ => fired++);
        var logits = m.Forward(Tokens, 2, 3, hooks).Value;
        Assert.Equal(1, fired);
        var plain = m.Forward(Tokens, 2, 3).Value; // the hooked route normalises, then scales: equal up to rounding
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], logits[i], 4);
    }

    [Fact]
    public void The_attention_pattern_can_be_read_but_not_replaced()
    {
        var m = Model();
        var hooks = new Hooks<float>().Replace(HookPoint.Pattern(0), p => p.Clone());
        Assert.Equal("hook point blocks.0.attn.hook_pattern can be read but not replaced",
            Assert.Throws<UserError>(() => m.Forward(Tokens, 2, 3, hooks)).Message);
    }

    [Fact]
    public void A_cached_pass_records_no_gradient_and_an_uncached_one_does()
    {
        var m = Model();
        using var tape = Tape.Start();
        Assert.False(m.Forward(Tokens[..3], 1, 3, cache: new KvCache<float>(m.Config)).RequiresGrad);
        Assert.True(m.Forward(Tokens[..3], 1, 3).RequiresGrad);
    }

    [Fact]
    public void Run_with_cache_keeps_the_callers_hooks()
    {
        var m = Model();
        var delta = new Tensor(8);
        delta.Span.Fill(0.7f);
        var steered = m.Forward(Tokens, 2, 3, new Hooks<float>().Add(HookPoint.ResidMid(0), delta)).Value.ToArray();
        var (logits, cache) = m.RunWithCache(Tokens, 2, 3, [HookPoint.MlpPost(0), HookPoint.MlpPost(0)], new Hooks<float>().Add(HookPoint.ResidMid(0), delta));
        Assert.Equal(steered, logits.Value.ToArray());
        Assert.Equal([HookPoint.MlpPost(0)], cache.Keys);
    }

    [Fact]
    public void Clearing_a_sparse_form_returns_the_weight_to_the_dense_kernels()
    {
        var m = Model();
        var w = m.Weights.First(p => p.Name.EndsWith("mlp.c_fc.weight")).Weight;
        m.UseSparseForm(w, SparsePattern.FromNonZeros<float>(w.Value.Span, w.Value.Shape[0], w.Value.Shape[1]));
        Assert.True(m.HasSparseForm(w));
        m.UseSparseForm(w, null);
        Assert.False(m.HasSparseForm(w));
    }

    [Fact]
    public void Bad_calls_are_refused_with_their_sizes()
    {
        var m = Model();
        Assert.Equal("7 tokens do not split into 2 windows", Assert.Throws<ArgumentException>(() => m.Loss(new int[7], 2)).Message);
        Assert.Equal("4 tokens do not split into 0 windows", Assert.Throws<ArgumentException>(() => m.Loss(new int[4], 0)).Message);
        Assert.Equal("5 tokens do not form 2 sequences of 3", Assert.Throws<ArgumentException>(() => m.Forward(new int[5], 2, 3)).Message);
        Assert.Equal("sequence of 9 tokens is longer than the model's context of 8", Assert.Throws<UserError>(() => m.Forward(new int[9], 1, 9)).Message);
        var cache = new KvCache<float>(m.Config);
        m.Forward(new int[6], 1, 6, cache: cache);
        Assert.Equal("6 cached and 3 new positions exceed the model's context of 8", Assert.Throws<UserError>(() => m.Forward(new int[3], 1, 3, cache: cache)).Message);
        Assert.Equal("the cache holds 1 sequences, the pass 2", Assert.Throws<ArgumentException>(() => m.Forward(new int[2], 2, 1, cache: cache)).Message);
    }
}
