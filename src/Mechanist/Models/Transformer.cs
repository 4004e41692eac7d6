using System.Numerics;
using Mechanist.Autograd;
using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>
/// A GPT-2-architecture language model (METHODS.md §1.2): token + learned position embeddings, pre-LN
/// blocks (causal multi-head attention, MLP), final LayerNorm, unembedding (tied to W_E unless configured
/// otherwise). Weights are named exactly as in Hugging Face <c>GPT2LMHeadModel</c>. Float32 for all real
/// work; <c>Transformer&lt;double&gt;</c> exists so whole-model gradients can be checked by finite differences.
/// Every forward pass can be hooked at TransformerLens's hook points (<see cref="Hooks{T}"/>).
/// </summary>
public sealed class Transformer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly List<(string Name, Var<T> Weight)> _weights = [];
    readonly Tensor<T> _ones;

    Transformer(TransformerConfig config)
    {
        Config = config.Validate();
        int d = config.DModel;
        TokenEmbedding = NewWeight("transformer.wte.weight", [config.Vocab, d], true);
        PositionEmbedding = NewWeight("transformer.wpe.weight", [config.Context, d], true);
        Blocks = new TransformerBlock<T>[config.Layers];
        for (int i = 0; i < config.Layers; i++) Blocks[i] = new TransformerBlock<T>(config, i, NewWeight);
        FinalNormGain = NewWeight("transformer.ln_f.weight", [d], false);
        FinalNormBias = NewWeight("transformer.ln_f.bias", [d], false);
        if (!config.TiedEmbeddings) LmHead = NewWeight("lm_head.weight", [config.Vocab, d], true);
        _ones = new Tensor<T>(d);
        _ones.Fill(T.One);
    }

    public TransformerConfig Config { get; }

    /// <summary>W_E: [vocab, d_model].</summary>
    public Var<T> TokenEmbedding { get; }
    /// <summary>W_pos: [context, d_model].</summary>
    public Var<T> PositionEmbedding { get; }
    public TransformerBlock<T>[] Blocks { get; }
    public Var<T> FinalNormGain { get; }
    public Var<T> FinalNormBias { get; }
    /// <summary>Untied lm_head [vocab, d_model], or null when the unembedding is tied to W_E.</summary>
    public Var<T>? LmHead { get; }

    /// <summary>The unembedding as rows [vocab, d_model] (W_U transposed): row v is token v's logit direction.</summary>
    public Var<T> UnembeddingRows => LmHead ?? TokenEmbedding;

    /// <summary>Every weight with its Hugging Face name, in a fixed order (the tied lm_head is not listed).</summary>
    public IReadOnlyList<(string Name, Var<T> Weight)> Weights => _weights;

    /// <summary>The trainable parameters (float32 models), for optimizers and checkpoints.</summary>
    public IReadOnlyList<Parameter> Parameters => _weights.Select(w => w.Weight.Parameter!).ToList();

    Var<T> NewWeight(string name, int[] shape, bool decay)
    {
        Var<T> v;
        if (typeof(T) == typeof(float))
            v = (Var<T>)(object)Var<float>.Of(new Parameter(name, new Tensor(shape), decay));
        else
            v = new Var<T>(new Tensor<T>(shape), requiresGrad: true);
        _weights.Add((name, v));
        return v;
    }

    /// <summary>A model with every weight zero (to be filled by a loader).</summary>
    public static Transformer<T> Empty(TransformerConfig config) => new(config);

    /// <summary>
    /// GPT-2 initialisation from a seed: weights N(0, 0.02), the two residual projections (attn.c_proj,
    /// mlp.c_proj) N(0, 0.02/√(2·layers)), biases 0, LayerNorm gains 1.
    /// </summary>
    public static Transformer<T> Create(TransformerConfig config, ulong seed)
    {
        var model = new Transformer<T>(config);
        var rng = new Rng(seed).Stream(1);
        float residualStd = 0.02f / MathF.Sqrt(2f * config.Layers);
        foreach (var (name, w) in model._weights)
        {
            var value = w.Value;
            if (name.EndsWith(".bias")) continue;
            if (name.Contains("ln_")) { value.Fill(T.One); continue; }
            float std = name.EndsWith("c_proj.weight") ? residualStd : 0.02f;
            var draw = new float[value.Length];
            rng.FillNormal(draw, 0, std);
            for (int i = 0; i < draw.Length; i++) value[i] = T.CreateTruncating(draw[i]);
        }
        return model;
    }

    /// <summary>Logits [batch, seq, vocab] for tokens [batch·seq] (row-major by batch).</summary>
    public Var<T> Forward(int[] tokens, int batch, int seq, Hooks<T>? hooks = null)
        => new Pass(this, hooks, null).Run(tokens, batch, seq);

    /// <summary>
    /// Mean next-token cross-entropy over windows [batch, seq+1] (inputs are the first seq tokens of each
    /// window, targets the last seq). perToken, when given ([batch·seq]), receives each position's loss.
    /// </summary>
    public Var<T> Loss(int[] windows, int batch, Hooks<T>? hooks = null, Span<T> perToken = default)
    {
        if (batch < 1 || windows.Length % batch != 0) throw new ArgumentException($"{windows.Length} tokens do not split into {batch} windows");
        int seq = windows.Length / batch - 1;
        var (inputs, targets) = SplitWindows(windows, batch, seq);
        var logits = Forward(inputs, batch, seq, hooks);
        return Ops.CrossEntropy(Ops.Reshape(logits, batch * seq, Config.Vocab), targets, -1, perToken);
    }

    public static (int[] Inputs, int[] Targets) SplitWindows(int[] windows, int batch, int seq)
    {
        var inputs = new int[batch * seq];
        var targets = new int[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(windows, b * (seq + 1), inputs, b * seq, seq);
            Array.Copy(windows, b * (seq + 1) + 1, targets, b * seq, seq);
        }
        return (inputs, targets);
    }

    /// <summary>
    /// Runs the model only as far as hook point <paramref name="name"/> and returns that activation (after
    /// any hooks on it): harvesting activations skips the rest of the model, the unembedding included.
    /// </summary>
    public Tensor<T> RunToHook(int[] tokens, int batch, int seq, string name, Hooks<T>? hooks = null)
    {
        HookNames.Check(name);
        try
        {
            new Pass(this, hooks, name).Run(tokens, batch, seq);
        }
        catch (StopAtHook stop)
        {
            return ((Var<T>)stop.Activation).Value;
        }
        throw new UserError($"hook point '{name}' does not exist in this model ({Config.Layers} layers{(Config.AttentionOnly ? ", attention-only" : "")})");
    }

    /// <summary>Logits plus the activations at the named hook points (in their hook shapes).</summary>
    public (Var<T> Logits, Dictionary<string, Tensor<T>> Cache) RunWithCache(int[] tokens, int batch, int seq,
        IEnumerable<string> names, Hooks<T>? hooks = null)
    {
        hooks ??= new Hooks<T>();
        var cache = new Dictionary<string, Tensor<T>>(StringComparer.Ordinal);
        foreach (string name in names.Distinct()) hooks.Read(name, t => cache[name] = t);
        var logits = Forward(tokens, batch, seq, hooks);
        return (logits, cache);
    }

    sealed class StopAtHook(object activation) : Exception
    {
        public object Activation { get; } = activation;
    }

    /// <summary>One forward pass: the hooks to run and where to stop.</summary>
    sealed class Pass(Transformer<T> model, Hooks<T>? hooks, string? stopAt)
    {
        readonly TransformerConfig _c = model.Config;
        int _batch, _seq;

        Var<T> Hook(string name, Var<T> x)
        {
            if (hooks != null) x = hooks.Run(name, x);
            if (stopAt != null && stopAt == name) throw new StopAtHook(x);
            return x;
        }

        bool Hooked(string name) => (hooks?.Has(name) ?? false) || stopAt == name;

        /// <summary>Hook on a [b, p, d] tensor viewed per head as [b, p, h, d_head].</summary>
        Var<T> HeadHook(string name, Var<T> x)
        {
            if (!Hooked(name)) return x;
            var y = Hook(name, Ops.Reshape(x, _batch, _seq, _c.Heads, _c.DHead));
            return Ops.Reshape(y, _batch, _seq, _c.DModel);
        }

        /// <summary>Read-only hook points (computed for inspection; the pass does not read them back).</summary>
        void ReadOnlyHook(string name, Func<Tensor<T>> make)
        {
            if (!Hooked(name)) return;
            var value = Ops.Constant(make());
            if (!ReferenceEquals(Hook(name, value), value))
                throw new UserError($"hook point {name} can be read but not replaced");
        }

        Var<T> LayerNorm(Var<T> x, Var<T> gain, Var<T> bias, string normalizedName, string scaleName)
        {
            T eps = T.CreateTruncating(_c.LayerNormEps);
            if (!Hooked(normalizedName) && !Hooked(scaleName)) return Ops.LayerNorm(x, gain, bias, eps);
            // Hooked: normalise, expose x̂ as hook_normalized (TransformerLens's point, before the affine), then scale and shift.
            var normalized = Ops.LayerNorm(x, Ops.Constant(model._ones), null, eps);
            ReadOnlyHook(scaleName, () =>
            {
                var rstd = normalized.NormStatistics!.Value.Rstd;
                var scale = new Tensor<T>(_batch, _seq, 1);
                for (int i = 0; i < rstd.Length; i++) scale[i] = T.One / rstd[i];
                return scale;
            });
            normalized = Hook(normalizedName, normalized);
            return Ops.Add(Ops.Mul(normalized, gain), bias);
        }

        public Var<T> Run(int[] tokens, int batch, int seq)
        {
            if (batch < 1 || seq < 1 || tokens.Length != batch * seq)
                throw new ArgumentException($"{tokens.Length} tokens do not form {batch} sequences of {seq}");
            if (seq > _c.Context) throw new UserError($"sequence of {seq} tokens is longer than the model's context of {_c.Context}");
            _batch = batch; _seq = seq;
            var positions = new int[batch * seq];
            for (int i = 0; i < positions.Length; i++) positions[i] = i % seq;
            var embed = Hook(HookNames.Embed, Ops.Embedding(model.TokenEmbedding, tokens, batch, seq));
            var pos = Hook(HookNames.PosEmbed, Ops.Embedding(model.PositionEmbedding, positions, batch, seq));
            var resid = Ops.Add(embed, pos);
            for (int i = 0; i < _c.Layers; i++) resid = Block(i, resid);
            var final = LayerNorm(resid, model.FinalNormGain, model.FinalNormBias, HookNames.FinalNormalized, HookNames.FinalScale);
            return Ops.MatMul(final, model.UnembeddingRows, transB: true);
        }

        Var<T> Block(int i, Var<T> resid)
        {
            var w = model.Blocks[i];
            int d = _c.DModel;
            resid = Hook(HookNames.ResidPre(i), resid);
            var x = LayerNorm(resid, w.Ln1Gain, w.Ln1Bias, HookNames.Normalized(i, 1), HookNames.Scale(i, 1));
            var qkv = Ops.Linear(x, w.AttnWeight, w.AttnBias);
            var q = HeadHook(HookNames.Q(i), Ops.Columns(qkv, 0, d));
            var k = HeadHook(HookNames.K(i), Ops.Columns(qkv, d, d));
            var v = HeadHook(HookNames.V(i), Ops.Columns(qkv, 2 * d, d));
            T scale = T.One / T.Sqrt(T.CreateTruncating(_c.DHead));
            if (_c.ScaleAttnByInverseLayerIdx) scale /= T.CreateTruncating(i + 1);
            var z = Ops.Attention(q, k, v, _c.Heads, causal: true, scale);
            ReadOnlyHook(HookNames.Pattern(i), () => Ops.PatternOf(z));
            z = HeadHook(HookNames.Z(i), z);
            var attnOut = Hook(HookNames.AttnOut(i), Ops.Linear(z, w.AttnOutWeight, w.AttnOutBias));
            if (_c.AttentionOnly) return Hook(HookNames.ResidPost(i), Ops.Add(resid, attnOut));
            var mid = Hook(HookNames.ResidMid(i), Ops.Add(resid, attnOut));
            x = LayerNorm(mid, w.Ln2Gain!, w.Ln2Bias!, HookNames.Normalized(i, 2), HookNames.Scale(i, 2));
            var pre = Hook(HookNames.MlpPre(i), Ops.Linear(x, w.MlpInWeight!, w.MlpInBias));
            var post = Hook(HookNames.MlpPost(i), Ops.Activate(pre, _c.Activation));
            var mlpOut = Hook(HookNames.MlpOut(i), Ops.Linear(post, w.MlpOutWeight!, w.MlpOutBias));
            return Hook(HookNames.ResidPost(i), Ops.Add(mid, mlpOut));
        }
    }
}
