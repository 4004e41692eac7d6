using System.Numerics;
using Mechanist.Autograd;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Models;

/// <summary>
/// A GPT-2-architecture language model (docs/METHODS.md §1.2): token + learned position embeddings, pre-LN
/// blocks (causal multi-head attention, MLP), final LayerNorm, unembedding (tied to W_E unless configured
/// otherwise). Weights are named exactly as in Hugging Face <c>GPT2LMHeadModel</c>. Float32 for all real
/// work; <c>Transformer&lt;double&gt;</c> exists so whole-model gradients can be checked by finite differences.
/// Every forward pass can be hooked at TransformerLens's hook points (<see cref="Hooks{T}"/>).
/// <para>
/// The same class runs the weight-sparse family (WS25, docs/METHODS.md §6.1) when its config turns those switches on:
/// RMSNorm, a bigram table added to the logits, an attention sink per head, no learned positions, and AbsTopK
/// activation sparsity at the configured sites (each site's hook point sees the sparsified values; see
/// docs/ARCHITECTURE.md, "the weight-sparse family").
/// </para>
/// </summary>
public sealed class Transformer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly List<(string Name, Var<T> Weight)> _weights = [];
    readonly Dictionary<Var<T>, SparsePattern> _sparseForms = new(ReferenceEqualityComparer.Instance);
    readonly Tensor<T> _ones;

    Transformer(TransformerConfig config)
    {
        Config = config.Validate();
        int d = config.DModel;
        TokenEmbedding = NewWeight("transformer.wte.weight", [config.Vocab, d], true);
        if (config.LearnedPositions) PositionEmbedding = NewWeight("transformer.wpe.weight", [config.Context, d], true);
        Blocks = new TransformerBlock<T>[config.Layers];
        for (int i = 0; i < config.Layers; i++) Blocks[i] = new TransformerBlock<T>(config, i, NewWeight);
        FinalNormGain = NewWeight("transformer.ln_f.weight", [d], false);
        if (config.Norm == NormKind.LayerNorm) FinalNormBias = NewWeight("transformer.ln_f.bias", [d], false);
        if (!config.TiedEmbeddings) LmHead = NewWeight("lm_head.weight", [config.Vocab, d], true);
        if (config.Bigram) Bigram = NewWeight(BigramName, [config.Vocab, config.Vocab], false);
        _ones = new Tensor<T>(d);
        _ones.Fill(T.One);
    }

    public TransformerConfig Config { get; }

    /// <summary>W_E: [vocab, d_model].</summary>
    public Var<T> TokenEmbedding { get; }
    /// <summary>Weight name of the bigram table.</summary>
    public const string BigramName = "bigram.weight";

    /// <summary>W_pos: [context, d_model], or null in a model without learned positions.</summary>
    public Var<T>? PositionEmbedding { get; }
    public TransformerBlock<T>[] Blocks { get; }
    public Var<T> FinalNormGain { get; }
    /// <summary>The final LayerNorm's bias; null for RMSNorm.</summary>
    public Var<T>? FinalNormBias { get; }
    /// <summary>The bigram table [vocab, vocab]: row t is added to the logits after token t; or null.</summary>
    public Var<T>? Bigram { get; }
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
        // The weight-sparse recipe decays every tensor but the bigram table (METHODS.md §6.2).
        if (!Config.IsGpt2) decay = name != BigramName;
        Var<T> v;
        if (typeof(T) == typeof(float))
            v = (Var<T>)(object)Var<float>.Of(new Parameter(name, new Tensor(shape), decay));
        else
            v = new Var<T>(new Tensor<T>(shape), requiresGrad: true);
        _weights.Add((name, v));
        return v;
    }

    /// <summary>
    /// Runs the linear map of <paramref name="weight"/> (a Conv1D [in, out] hidden matrix) on its kept entries with the
    /// sparse kernels (<see cref="Ops.SparseLinear{T}"/>, the dense weight gradient), or densely again when
    /// <paramref name="pattern"/> is null. Weight-sparse training sets it after each projection for the matrices sparse
    /// enough to gain (docs/METHODS.md §6.2); the pattern must hold every nonzero of the weight until it is replaced.
    /// </summary>
    public void UseSparseForm(Var<T> weight, SparsePattern? pattern)
    {
        if (pattern == null) _sparseForms.Remove(weight);
        else _sparseForms[weight] = pattern;
    }

    /// <summary>Whether <paramref name="weight"/> runs on the sparse kernels (<see cref="UseSparseForm"/>).</summary>
    public bool HasSparseForm(Var<T> weight) => _sparseForms.ContainsKey(weight);

    /// <summary>A model with every weight zero (to be filled by a loader).</summary>
    public static Transformer<T> Empty(TransformerConfig config) => new(config);

    /// <summary>
    /// GPT-2 initialisation from a seed: weights N(0, 0.02), the two residual projections (attn.c_proj,
    /// mlp.c_proj) N(0, 0.02/√(2·layers)), biases 0, LayerNorm gains 1; sinks and the bigram table 0.
    /// </summary>
    public static Transformer<T> Create(TransformerConfig config, ulong seed)
    {
        var model = new Transformer<T>(config);
        var rng = new Rng(seed).Stream(1);
        float residualStd = 0.02f / MathF.Sqrt(2f * config.Layers);
        foreach (var (name, w) in model._weights)
        {
            var value = w.Value;
            if (name.EndsWith(".bias") || name.EndsWith(".sink") || name == BigramName) continue; // zero
            if (name.Contains("ln_")) { value.Fill(T.One); continue; }
            float std = name.EndsWith("c_proj.weight") ? residualStd : 0.02f;
            var draw = new float[value.Length];
            rng.FillNormal(draw, 0, std);
            for (int i = 0; i < draw.Length; i++) value[i] = T.CreateTruncating(draw[i]);
        }
        return model;
    }

    /// <summary>
    /// Logits [batch, seq, vocab] for tokens [batch·seq] (row-major by batch), or [batch, 1, vocab] for the last
    /// position only (what sampling needs; the unembedding is the largest matrix of a small model). With a
    /// <paramref name="cache"/> the tokens are the next positions after those the cache holds (generation: see
    /// <see cref="KvCache{T}"/>; the pass then runs without gradients); hooks act as in any pass, on the new positions.
    /// </summary>
    public Var<T> Forward(int[] tokens, int batch, int seq, Hooks<T>? hooks = null, KvCache<T>? cache = null, bool lastPositionOnly = false)
    {
        using var noGrad = cache != null ? Tape.NoGrad() : null;
        return new Pass(this, hooks, null, cache, lastPositionOnly).Run(tokens, batch, seq);
    }

    /// <summary>
    /// Mean next-token cross-entropy over windows [batch, seq+1] (inputs are the first seq tokens of each
    /// window, targets the last seq). perToken, when given ([batch·seq]), receives each position's loss.
    /// </summary>
    public Var<T> Loss(int[] windows, int batch, Hooks<T>? hooks = null, Span<T> perToken = default)
    {
        if (batch < 1 || windows.Length % batch != 0) throw new ArgumentException($"{windows.Length} tokens do not split into {batch} windows");
        int seq = windows.Length / batch - 1;
        var (inputs, targets) = SplitWindows(windows, batch, seq);
        // The pass stops before the unembedding: the fused op makes the logits block by block and never keeps them.
        var final = new Pass(this, hooks, null, null, false, unembed: false).Run(inputs, batch, seq);
        using var part = StepProfiler.Enter(StepPart.UnembeddingLoss);
        return Ops.UnembedCrossEntropy(Ops.Reshape(final, batch * seq, Config.DModel), UnembeddingRows, targets, -1, perToken,
            Bigram, Bigram != null ? inputs : null);
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
    /// Runs the model only as far as hook point <paramref name="point"/> and returns that activation (after
    /// any hooks on it): harvesting activations skips the rest of the model, the unembedding included.
    /// </summary>
    public Tensor<T> RunToHook(int[] tokens, int batch, int seq, HookPoint point, Hooks<T>? hooks = null)
        => new Pass(this, hooks, Config.Check(point), null, false).Run(tokens, batch, seq).Value;

    /// <summary>Logits plus the activations at the given hook points (in their hook shapes).</summary>
    public (Var<T> Logits, Dictionary<HookPoint, Tensor<T>> Cache) RunWithCache(int[] tokens, int batch, int seq,
        IEnumerable<HookPoint> points, Hooks<T>? hooks = null)
    {
        hooks ??= new Hooks<T>();
        var cache = new Dictionary<HookPoint, Tensor<T>>();
        foreach (var point in points.Distinct()) hooks.Read(point, t => cache[point] = t);
        var logits = Forward(tokens, batch, seq, hooks);
        return (logits, cache);
    }

    /// <summary>
    /// One forward pass: the hooks to run, optionally the point to stop after, optionally a key/value cache the
    /// new positions extend. A stopped pass returns the activation there instead of the logits; the steps after
    /// it are skipped (each sublayer returns null once the pass has stopped).
    /// </summary>
    sealed class Pass
    {
        readonly Transformer<T> _model;
        readonly TransformerConfig _c;
        readonly Hooks<T>? _hooks;
        readonly HookPoint? _stopAt;
        readonly KvCache<T>? _cache;
        readonly bool _lastOnly, _unembed;
        Var<T>? _reached;
        int _batch, _seq, _start;

        /// <param name="unembed">false: return the final layer norm's output [batch, seq, d_model] instead of the logits.</param>
        public Pass(Transformer<T> model, Hooks<T>? hooks, HookPoint? stopAt, KvCache<T>? cache, bool lastPositionOnly, bool unembed = true)
        {
            (_model, _c, _hooks, _stopAt, _cache, _lastOnly, _unembed) = (model, model.Config, hooks, stopAt, cache, lastPositionOnly, unembed);
            if (hooks != null) foreach (var point in hooks.Points) _c.Check(point);
        }

        bool Stopped => _reached != null;

        bool Hooked(HookPoint point) => (_hooks?.Has(point) ?? false) || _stopAt == point;

        /// <summary>Runs the hooks at <paramref name="point"/>; per-head points see [b, p, h, d_head] and give back [b, p, d].</summary>
        Var<T> Hook(HookPoint point, Var<T> x)
        {
            if (Stopped || !Hooked(point)) return x;
            bool perHead = point.IsPerHead;
            if (perHead) x = Ops.Reshape(x, _batch, _seq, _c.Heads, _c.DHead);
            if (_hooks != null) x = _hooks.Run(point, x);
            if (_stopAt == point) _reached = x;
            return perHead ? Ops.Reshape(x, _batch, _seq, _c.DModel) : x;
        }

        /// <summary>Read-only hook points (computed for inspection; the pass does not read them back).</summary>
        void ReadOnlyHook(HookPoint point, Func<Tensor<T>> make)
        {
            if (Stopped || !Hooked(point)) return;
            var value = Ops.Constant(make());
            if (!ReferenceEquals(Hook(point, value), value))
                throw new UserError($"hook point {point} can be read but not replaced");
        }

        /// <summary>
        /// The norm before a sublayer (or the unembedding). LayerNorm: hook_normalized is x̂ before the gain and bias
        /// (TransformerLens). RMSNorm: hook_normalized is what the sublayer reads, x/rms·gain after the AbsTopK of
        /// <paramref name="site"/> (circuit_sparsity's act_in); hook_scale is the RMS either way.
        /// </summary>
        Var<T> Norm(Var<T> x, Var<T> gain, Var<T>? bias, HookPoint normalizedPoint, HookPoint scalePoint, SparsitySites site)
        {
            T eps = T.CreateTruncating(_c.LayerNormEps);
            using var part = StepProfiler.Enter(StepPart.LayerNorm);
            if (_c.Norm == NormKind.RmsNorm)
            {
                var y = Ops.RmsNorm(x, gain, eps);
                if (FrozenScale(x, y, scalePoint, centre: false) is { } frozen) y = Ops.Mul(frozen, gain);
                return Hook(normalizedPoint, Sparsify(site, y));
            }
            if (!Hooked(normalizedPoint) && !Hooked(scalePoint)) return Ops.LayerNorm(x, gain, bias, eps);
            // Hooked: normalise, expose x̂ as hook_normalized (TransformerLens's point, before the affine), then scale and shift.
            var normalized = Ops.LayerNorm(x, Ops.Constant(_model._ones), null, eps);
            normalized = FrozenScale(x, normalized, scalePoint, centre: true) ?? normalized;
            normalized = Hook(normalizedPoint, normalized);
            return Ops.Add(Ops.Mul(normalized, gain), bias!);
        }

        /// <summary>
        /// Runs the hooks at a norm's hook_scale. They may read σ, or replace it by a given σ [b, p, 1]: the norm is then
        /// frozen (circuit pruning's frozen normalisation, METHODS.md §6.5), and this returns x̂ = (x − centre·μ)/σ_given
        /// (no gain; no gradient through σ). Null when σ was not replaced.
        /// </summary>
        Var<T>? FrozenScale(Var<T> x, Var<T> normalized, HookPoint scalePoint, bool centre)
        {
            if (Stopped || !Hooked(scalePoint)) return null;
            var scale = ScaleOf(normalized);
            var computed = Ops.Constant(scale);
            var hooked = Hook(scalePoint, computed);
            if (ReferenceEquals(hooked, computed)) return null;
            if (!hooked.Value.SameShape(scale)) throw new ArgumentException($"hook {scalePoint}: replacement {hooked.Value.ShapeString} does not match {scale.ShapeString}");
            return Ops.FrozenScaleNorm(x, hooked.Value, centre);
        }

        /// <summary>A norm op's σ (or RMS) per position [b, p, 1], for hook_scale.</summary>
        Tensor<T> ScaleOf(Var<T> normalized)
        {
            var rstd = normalized.NormStatistics!.Value.Rstd;
            var scale = new Tensor<T>(_batch, _seq, 1);
            for (int i = 0; i < rstd.Length; i++) scale[i] = T.One / rstd[i];
            return scale;
        }

        /// <summary>x·W + b, on W's kept entries when training has given W a sparse form.</summary>
        Var<T> Linear(Var<T> x, Var<T> weight, Var<T>? bias) => _model._sparseForms.TryGetValue(weight, out var pattern)
            ? Ops.SparseLinear(x, weight, pattern, bias, SparseWeightGradient.Dense, inputMajor: true) : Ops.Linear(x, weight, bias);

        /// <summary>AbsTopK at <paramref name="site"/> when the model sparsifies it (over the whole row: heads side by side for q/k/v).</summary>
        Var<T> Sparsify(SparsitySites site, Var<T> x) =>
            site != SparsitySites.None && _c.KeptAt(site, x.Value.Columns) is int k && k < x.Value.Columns ? Ops.AbsTopK(x, k) : x;

        /// <summary>The logits [batch, seq, vocab], or the activation at the stop point.</summary>
        public Var<T> Run(int[] tokens, int batch, int seq)
        {
            if (batch < 1 || seq < 1 || tokens.Length != batch * seq)
                throw new ArgumentException($"{tokens.Length} tokens do not form {batch} sequences of {seq}");
            _start = _cache?.Length ?? 0;
            if (_start + seq > _c.Context)
                throw new UserError(_start == 0 ? $"sequence of {seq} tokens is longer than the model's context of {_c.Context}"
                    : $"{_start} cached and {seq} new positions exceed the model's context of {_c.Context}");
            if (_cache != null && _cache.Batch != batch) throw new ArgumentException($"the cache holds {_cache.Batch} sequences, the pass {batch}");
            _batch = batch; _seq = seq;
            var positions = new int[batch * seq];
            for (int i = 0; i < positions.Length; i++) positions[i] = _start + i % seq;
            Var<T>? resid;
            using (StepProfiler.Enter(StepPart.Embedding))
            {
                resid = Hook(HookPoint.Embed, Ops.Embedding(_model.TokenEmbedding, tokens, batch, seq));
                if (_model.PositionEmbedding is { } wpe)
                    resid = Ops.Add(resid, Hook(HookPoint.PosEmbed, Ops.Embedding(wpe, positions, batch, seq)));
            }
            for (int i = 0; i < _c.Layers && resid != null; i++) resid = Block(i, resid);
            if (resid == null || Stopped) return _reached!;
            var final = Norm(resid, _model.FinalNormGain, _model.FinalNormBias, HookPoint.FinalNormalized, HookPoint.FinalScale, SparsitySites.None);
            if (Stopped) return _reached!;
            _cache?.Advance(seq);
            if (!_unembed) return final;
            if (_lastOnly) final = LastPositions(final);
            using var part = StepProfiler.Enter(StepPart.UnembeddingLoss);
            var logits = Ops.MatMul(final, _model.UnembeddingRows, transB: true);
            if (_model.Bigram is not { } bigram) return logits;
            int[] current = _lastOnly ? Enumerable.Range(1, batch).Select(b => tokens[b * seq - 1]).ToArray() : tokens;
            return Ops.Add(logits, Ops.Embedding(bigram, current, batch, _lastOnly ? 1 : seq));
        }

        /// <summary>[b, p, d] → [b, 1, d]: each sequence's last position (a row gather, differentiable).</summary>
        Var<T> LastPositions(Var<T> x)
        {
            var last = Enumerable.Range(1, _batch).Select(b => b * _seq - 1).ToArray();
            return Ops.Embedding(Ops.Reshape(x, _batch * _seq, _c.DModel), last, _batch, 1);
        }

        Var<T>? Block(int i, Var<T> resid)
        {
            var w = _model.Blocks[i];
            resid = Hook(HookPoint.ResidPre(i), resid);
            var attnOut = Attention(i, w, resid);
            if (attnOut == null) return null;
            var afterAttn = Sparsify(SparsitySites.ResidPostAttn, Ops.Add(resid, attnOut));
            if (_c.AttentionOnly) return Hook(HookPoint.ResidPost(i), afterAttn);
            var mid = Hook(HookPoint.ResidMid(i), afterAttn);
            var mlpOut = Mlp(i, w, mid);
            if (mlpOut == null) return null;
            return Hook(HookPoint.ResidPost(i), Sparsify(SparsitySites.ResidPostMlp, Ops.Add(mid, mlpOut)));
        }

        /// <summary>The attention sublayer's output (hook_attn_out), or null once the pass has stopped.</summary>
        Var<T>? Attention(int i, TransformerBlock<T> w, Var<T> resid)
        {
            if (Stopped) return null;
            int d = _c.DModel;
            using var part = StepProfiler.Enter(StepPart.Attention);
            var x = Norm(resid, w.Ln1Gain, w.Ln1Bias, HookPoint.Normalized(i, 1), HookPoint.Scale(i, 1), SparsitySites.AttnIn);
            if (Stopped) return null;
            var qkv = Linear(x, w.AttnWeight, w.AttnBias);
            var q = Hook(HookPoint.Q(i), Sparsify(SparsitySites.AttnQ, Ops.Columns(qkv, 0, d)));
            var k = Hook(HookPoint.K(i), Sparsify(SparsitySites.AttnK, Ops.Columns(qkv, d, d)));
            var v = Hook(HookPoint.V(i), Sparsify(SparsitySites.AttnV, Ops.Columns(qkv, 2 * d, d)));
            if (Stopped) return null;
            T scale = T.One / T.Sqrt(T.CreateTruncating(_c.DHead));
            if (_c.ScaleAttnByInverseLayerIdx) scale /= T.CreateTruncating(i + 1);
            Var<T> z;
            if (_cache == null)
                using (StepProfiler.Enter(StepPart.AttentionKernel)) z = Ops.Attention(q, k, v, _c.Heads, causal: true, scale, w.Sink);
            else
            {
                _cache.Write(i, k.Value, v.Value); // after hook_k and hook_v: their edits are what later steps see
                z = Ops.Attention(q, _cache.Keys(i), _cache.Values(i), _start + _seq, _c.Heads, scale, w.Sink?.Value);
            }
            ReadOnlyHook(HookPoint.Pattern(i), () => Ops.PatternOf(z));
            z = Hook(HookPoint.Z(i), z);
            if (Stopped) return null;
            return Hook(HookPoint.AttnOut(i), Sparsify(SparsitySites.AttnOut, Linear(z, w.AttnOutWeight, w.AttnOutBias)));
        }

        /// <summary>The MLP sublayer's output (hook_mlp_out), or null once the pass has stopped.</summary>
        Var<T>? Mlp(int i, TransformerBlock<T> w, Var<T> mid)
        {
            if (Stopped) return null;
            using var part = StepProfiler.Enter(StepPart.Mlp);
            var x = Norm(mid, w.Ln2Gain!, w.Ln2Bias, HookPoint.Normalized(i, 2), HookPoint.Scale(i, 2), SparsitySites.MlpIn);
            if (Stopped) return null;
            var pre = Hook(HookPoint.MlpPre(i), Linear(x, w.MlpInWeight!, w.MlpInBias));
            if (Stopped) return null;
            var post = Hook(HookPoint.MlpPost(i), Sparsify(SparsitySites.MlpNeuron, Ops.Activate(pre, _c.Activation)));
            if (Stopped) return null;
            return Hook(HookPoint.MlpOut(i), Sparsify(SparsitySites.MlpOut, Linear(post, w.MlpOutWeight!, w.MlpOutBias)));
        }
    }
}
