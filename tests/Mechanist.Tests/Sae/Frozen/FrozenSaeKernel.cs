// FROZEN REFERENCE: SaeKernel.cs as it was before the split by concern (issue 13 item 4), copied verbatim
// except for its name and namespace. SaeKernelFrozenReferenceTests require the split code to give the same
// statistics and gradients. Delete this file once the split has landed.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Mechanist.Numerics;

using Mechanist.Sae;

namespace Mechanist.Tests.Dictionary;

/// <summary>
/// The fused SAE forward and backward pass. The encoder product is one GEMM; everything after it works on each
/// token's active latents: decoding, the gradients of the decoder, encoder and biases, and the input gradient
/// touch L0 rows per token instead of d_sae. Token passes run in parallel over tokens, weight-gradient passes in
/// parallel over latents (each latent's rows are owned by one worker, no atomics). When more than
/// <see cref="DenseAbove"/> of the (token, latent) pairs are active (a fresh relu/jumprelu SAE) and no AuxK term
/// runs, the steps after selection run as dense GEMMs instead (<see cref="RunDense"/>): the same quantities and
/// active sets, summed in another order.
///
/// Loss (B tokens):  L = (1/B) Σ_t ‖x̂_t − x_t‖² + sparsity + AuxK, where sparsity is λ(1/B)Σ f (relu) or
/// λ(1/B)Σ H(z − θ) (jumprelu), and AuxK = α Σ_t‖ê_t − r_t‖² / Σ_t‖r_t − r̄‖² with r = x − x̂ held constant.
/// Gated (METHODS §2.5): the GEMM gives W_gate·x̄; π_gate = that + b_gate, π_mag = exp(r_mag)·(π_gate − b_gate)
/// + b_mag, f = 1[π_gate > 0]·ReLU(π_mag); L = (1/B)Σ‖x̂ − x‖² + λ(1/B)Σ ReLU(π_gate) + (1/B)Σ‖x̂_gate − x‖²
/// with x̂_gate = sg(W_dec)ᵀReLU(π_gate) + sg(b_dec) (stop-gradient: the auxiliary term trains the gate path only;
/// it still reaches b_dec through x̄ = x − b_dec, as in the paper's code and SAELens).
/// Gradients are written (not accumulated) into the gradient tensors.
/// </summary>
public sealed class FrozenSaeKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly SaeArchitecture _arch;
    readonly int _d, _m;
    int _batchCapacity;

    T[] _xbar = [], _pre = [], _rows = []; // x − b_dec [B,d]; pre-activations [B,m]; x̂ or ∂L/∂x̂ rows [2B,d]
    int[] _offset = [], _count = [];       // main active entries of token t: [_offset[t], _offset[t] + _count[t])
    int[] _extra = [];                     // gated: gate-open entries with f = 0 follow them: [+_count[t], +_count[t] + _extra[t]); 0 otherwise
    T[] _gate = [], _gateGrad = [], _magGrad = []; // gated, per entry: π_gate, ∂L/∂π_gate, ∂L/∂π_mag
    int[] _index = [];
    T[] _value = [], _gradPre = [];
    int[] _auxCount = [], _auxIndex = [];  // AuxK entries: fixed capacity kAux per token
    T[] _auxValue = [], _auxGrad = [];
    int[] _nearOffset = [], _nearCount = [], _nearIndex = []; // JumpReLU entries inside the STE window
    T[] _nearCoef = [];
    readonly T[] _theta;
    readonly T[] _magScale;                // gated: exp(r_mag) per latent
    readonly int[] _latentCount;
    int[] _cscStart = [], _cscFill = [];
    CscEntry[] _csc = [];
    T[] _workerRows = [];
    double[] _workerSums = [];
    int[] _deadList = [];
    T[] _dense = [];                       // dense mode: the activations f as a [B,m] matrix (zeros off the active set)
    T[] _denseGate = [];                   // dense mode, gated: ReLU(π_gate) as a [B,m] matrix, then ∂L_aux/∂ReLU(π_gate)

    struct CscEntry { public int Token, Row; public T Dec, Enc; }

    public FrozenSaeKernel(SaeArchitecture architecture, int dIn, int dSae)
    {
        _arch = architecture; _d = dIn; _m = dSae;
        _theta = new T[dSae];
        _magScale = _arch == SaeArchitecture.Gated ? new T[dSae] : [];
        _latentCount = new int[dSae];
        _cscStart = new int[dSae + 1];
        _cscFill = new int[dSae];
    }

    /// <summary>
    /// Share of active (token, latent) pairs above which the pass after the encoder runs as dense GEMMs instead of
    /// per-entry loops. A freshly initialised relu or jumprelu SAE has half its latents on for its first steps,
    /// where the loops are slow (they stream a decoder and an encoder row per entry). Measured at 512 → 4,096,
    /// batch 4,096 (2 threads): L0 2,047 takes 1.9 s a step in loops and 0.6–1.0 s dense, L0 1,072 1.1 s vs 0.66 s,
    /// L0 416 0.47 s vs 0.55 s, L0 184 0.27 s vs 0.49 s: the crossover is near a fifth of the latents.
    /// Set to 0 (always dense) or above 1 (never) to compare the two paths.
    /// </summary>
    public double DenseAbove { get; set; } = 0.2;

    /// <summary>Whether the last pass ran dense (see <see cref="DenseAbove"/>).</summary>
    public bool LastPassDense { get; private set; }

    /// <summary>Tokens each latent fired on in the last batch.</summary>
    public ReadOnlySpan<int> LatentCounts => _latentCount;

    /// <summary>After a pass without gradients: the reconstruction x̂ of token t.</summary>
    public ReadOnlySpan<T> Reconstruction(int t) => _rows.AsSpan(t * _d, _d);

    /// <summary>After a pass: token t's active latents and their activations.</summary>
    public ReadOnlySpan<int> ActiveIndices(int t) => _index.AsSpan(_offset[t], _count[t]);
    public ReadOnlySpan<T> ActiveValues(int t) => _value.AsSpan(_offset[t], _count[t]);

    /// <summary>
    /// Runs the SAE on <paramref name="x"/> ([batch, d_in] row-major). With <paramref name="grads"/> the
    /// backward pass writes ∂L/∂w into it; without, the pass is inference only and
    /// <see cref="Reconstruction"/> holds x̂. <paramref name="projectDecoder"/> removes from each decoder
    /// row's gradient its component along the row (the unit-norm constraint under Adam).
    /// </summary>
    public SaeBatchStats Run(SaeTensors<T> w, Tensor<T> x, SaeLossSettings s,
        SaeTensors<T>? grads = null, bool projectDecoder = false)
    {
        if (w.DIn != _d || w.DSae != _m) throw new ArgumentException("weights do not match the kernel's sizes");
        if (x.Columns != _d) throw new ArgumentException($"input rows have {x.Columns} values, the SAE reads {_d}");
        int batch = x.RowCount;
        bool backward = grads != null;
        bool useAux = backward && (_arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK) && s.KAux > 0 && s.Dead != null;
        if (useAux) BuildDeadList(s.Dead!);
        useAux &= _deadList.Length > 0;
        int kAux = useAux ? Math.Min(s.KAux, _deadList.Length) : 0;
        Reserve(batch, _arch is SaeArchitecture.TopK ? s.K : 0, kAux);
        int workers = Math.Max(1, Math.Min(Parallelism.Threads, batch));
        var stats = new SaeBatchStats { Batch = batch };
        T invB = T.One / T.CreateTruncating(batch);

        // 1. x̄ = x − b_dec, and the batch variance for explained variance.
        stats.Variance = CenterInput(w, x, batch, workers);

        // 2. The one dense product: pre = x̄ · W_encᵀ  ([B,d]·[d,m]).
        Gemm.Multiply(false, true, batch, _m, _d, T.One, _xbar, _d, w.WEnc.Span, _d, T.Zero, _pre, _m);

        // 3. Sparsify: add b_enc, pick each token's active latents.
        if (_arch == SaeArchitecture.JumpRelu)
            for (int i = 0; i < _m; i++) _theta[i] = T.Exp(w.LogThreshold![i]);
        // Gated reuses the one GEMM for both paths: W_mag = exp(r_mag)⊙W_gate row by row, so
        // W_mag·x̄ = exp(r_mag)·(W_gate·x̄) and π_mag = exp(r_mag)·(π_gate − b_gate) + b_mag costs O(1) per
        // gate-open latent instead of a second [B,d]·[d,m] product; gated's dense cost is relu's.
        bool gated = _arch == SaeArchitecture.Gated;
        if (gated)
        {
            if (w.RMag == null || w.BMag == null) throw new ArgumentException("a gated SAE needs r_mag and b_mag");
            for (int i = 0; i < _m; i++) _magScale[i] = T.Exp(w.RMag[i]);
        }
        T threshold = T.Zero;
        if (_arch == SaeArchitecture.BatchTopK)
        {
            AddEncoderBias(w, batch, workers);
            threshold = s.FixedThreshold is double fixedT && !backward
                ? T.CreateTruncating(fixedT)
                : BatchThreshold(batch, (long)s.K * batch, workers);
            stats.Threshold = double.CreateTruncating(threshold);
        }
        Select(w, batch, s, threshold, backward, workers);
        if (useAux) SelectAux(batch, kAux, workers);

        // 4. Decode each token from its active latents; ∂L/∂x̂ and ∂L/∂f on the active entries.
        T lambda = T.CreateTruncating(s.Sparsity);
        T halfWidth = T.CreateTruncating(s.Bandwidth / 2), invWidth = T.One / T.CreateTruncating(s.Bandwidth);
        long activeEntries = 0, entries = 0; // f > 0; all entries the passes below touch (gated: every open gate)
        for (int t = 0; t < batch; t++) { activeEntries += _count[t]; entries += _count[t] + _extra[t]; }
        LastPassDense = !useAux && _arch != SaeArchitecture.TopK && (long)batch * _m <= DenseLimit
            && entries > DenseAbove * batch * _m;
        if (LastPassDense) return RunDense(w, x, s, grads, projectDecoder, batch, workers, activeEntries, stats);
        _dense = _denseGate = []; // up to 1 GiB each; a trained SAE stays sparse once it is past its first steps
        var sums = WorkerSums(workers, 6 + (useAux ? _d : 0));
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var acc = _workerSums.AsSpan(worker * sums, sums);
            var bDec = w.BDec.Span;
            for (int t = start; t < end; t++)
            {
                var row = _rows.AsSpan(t * _d, _d);
                var xt = x.Span.Slice(t * _d, _d);
                bDec.CopyTo(row);
                int o = _offset[t], c = _count[t];
                T l1 = T.Zero;
                for (int e = o; e < o + c; e++)
                {
                    VectorMath.Axpy(_value[e], w.WDec.Row(_index[e]), row);
                    l1 += _value[e];
                }
                acc[2] += double.CreateTruncating(l1);
                if (gated)
                {
                    T gl1 = T.Zero;
                    for (int e = o; e < o + c + _extra[t]; e++) gl1 += _gate[e];
                    acc[3] += double.CreateTruncating(gl1);
                }
                double sq = SquaredError(row, xt, T.One, backward); // keep e for now; scaled below
                acc[0] += sq;
                if (!backward) continue;
                if (useAux)
                {
                    acc[1] += sq;
                    var errSum = acc.Slice(6, _d);
                    for (int j = 0; j < _d; j++) errSum[j] += double.CreateTruncating(row[j]);
                }
                // row holds e; the AuxK target needs e too, so it is stored beside ∂L/∂x̂ = 2e/B.
                if (useAux) row.CopyTo(_rows.AsSpan((batch + t) * _d, _d));
                T two = T.CreateTruncating(2) * invB;
                for (int j = 0; j < _d; j++) row[j] *= two;
                if (gated)
                {
                    acc[4] += GatedTokenGradients(w, x, t, batch, row, lambda * invB, two);
                    continue;
                }
                for (int e = o; e < o + c; e++)
                {
                    int i = _index[e];
                    T gf = VectorMath.Dot<T>(w.WDec.Row(i), row);
                    if (_arch == SaeArchitecture.Relu) gf += lambda * invB;
                    _gradPre[e] = gf;
                }
                if (_arch == SaeArchitecture.JumpRelu)
                {
                    // Straight-through estimate for θ: ∂(zH)/∂θ = −(θ/ε)K, ∂H/∂θ = −(1/ε)K, K = 1[|z−θ| < ε/2].
                    for (int e = _nearOffset[t]; e < _nearOffset[t] + _nearCount[t]; e++)
                    {
                        int i = _nearIndex[e];
                        T gf = VectorMath.Dot<T>(w.WDec.Row(i), row);
                        _nearCoef[e] = -(_theta[i] * invWidth) * gf - lambda * invB * invWidth;
                    }
                }
            }
        });
        double reconSum = 0, l1Sum = 0, errSq = 0, gateL1Sum = 0, gateReconSum = 0;
        var errMean = useAux ? new double[_d] : null;
        for (int wk = 0; wk < workers; wk++)
        {
            var acc = _workerSums.AsSpan(wk * sums, sums);
            reconSum += acc[0]; errSq += acc[1]; l1Sum += acc[2]; gateL1Sum += acc[3]; gateReconSum += acc[4];
            if (useAux) for (int j = 0; j < _d; j++) errMean![j] += acc[6 + j];
        }
        SetLossTerms(ref stats, s, batch, activeEntries, reconSum, l1Sum, gateL1Sum);
        if (gated && backward) stats.Aux = gateReconSum / batch;
        CountLatents(batch);
        if (!backward) return stats;

        // 5. AuxK: reconstruct the residual r = x − x̂ = −e from the top dead latents.
        if (useAux)
        {
            double meanSq = 0;
            for (int j = 0; j < _d; j++) { errMean![j] /= batch; meanSq += errMean[j] * errMean[j]; }
            double norm = errSq / batch - meanSq;
            stats.Aux = AuxPass(w, batch, kAux, s.AuxAlpha, norm, workers);
        }

        // 6. ∂L/∂x̄ from the active encoder rows, and ∂L/∂b_dec = Σ_t (∂L/∂x̂_t − ∂L/∂x̄_t).
        InputGradient(w, grads!, batch, kAux, workers);

        // 7. Weight gradients, latent by latent.
        WeightGradients(w, grads!, batch, kAux, projectDecoder, workers);
        if (gated) GatedBiasGradients(w, grads!, batch);
        if (_arch == SaeArchitecture.JumpRelu) ThresholdGradient(grads!, batch);
        return stats;
    }

    /// <summary>
    /// Dense mode, gated, backward: on entry _pre holds G = ∂L/∂x̂·W_decᵀ and the second half of _rows is free.
    /// Decodes x̂_gate = ReLU(π_gate)·W_dec + b_dec with a GEMM, takes (2/B)(x̂_gate − x)·W_decᵀ with another,
    /// fills the per-entry ∂L/∂π_gate, ∂L/∂π_mag as <see cref="GatedTokenGradients"/> does, and leaves in _pre the
    /// encoder coefficient E (∂L/∂π_gate + exp(r_mag)·∂L/∂π_mag on open gates, 0 elsewhere) for the shared products.
    /// Returns mean_t ‖x̂_gate − x‖².
    /// </summary>
    double GatedDense(SaeTensors<T> w, Tensor<T> x, int batch, int workers, T lambdaOverB, T twoOverB)
    {
        if (_denseGate.Length < batch * _m) _denseGate = new T[batch * _m];
        var aux = _rows.AsSpan(batch * _d, batch * _d);
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var fg = _denseGate.AsSpan(t * _m, _m);
                fg.Clear();
                for (int e = _offset[t]; e < _offset[t] + _count[t] + _extra[t]; e++) fg[_index[e]] = _gate[e];
                w.BDec.Span.CopyTo(_rows.AsSpan((batch + t) * _d, _d));
            }
        });
        Gemm.Multiply(false, false, batch, _d, _m, T.One, _denseGate, _m, w.WDec.Span, _d, T.One, aux, _d);
        double total = SquaredErrors(x, batch, batch, workers, twoOverB, write: true);
        Gemm.Multiply(false, true, batch, _m, _d, T.One, aux, _d, w.WDec.Span, _d, T.Zero, _denseGate, _m);
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var gp = _pre.AsSpan(t * _m, _m);
                var ga = _denseGate.AsSpan(t * _m, _m);
                int o = _offset[t], c = _count[t], end2 = o + c + _extra[t];
                for (int e = o; e < end2; e++)
                {
                    int i = _index[e];
                    _magGrad[e] = e < o + c ? gp[i] : T.Zero;
                    _gateGrad[e] = lambdaOverB + ga[i];
                }
                gp.Clear();
                for (int e = o; e < end2; e++) gp[_index[e]] = _gateGrad[e] + _magScale[_index[e]] * _magGrad[e];
            }
        });
        return total / batch;
    }

    void ThresholdGradient(SaeTensors<T> grads, int batch)
    {
        var gLog = grads.LogThreshold!.Span;
        gLog.Clear();
        for (int t = 0; t < batch; t++)
            for (int e = _nearOffset[t]; e < _nearOffset[t] + _nearCount[t]; e++)
                gLog[_nearIndex[e]] += _nearCoef[e] * _theta[_nearIndex[e]]; // dθ/d logθ = θ
    }

    /// <summary>Largest batch × d_sae for which dense mode may allocate its [B, m] activation matrix (1 GiB of floats).</summary>
    const long DenseLimit = 1L << 28;

    /// <summary>
    /// Steps 4–7 with dense products, for batches in which many latents fire: F holds f on the active entries and
    /// zeros elsewhere, x̂ = F·W_dec + b_dec, G = ∂L/∂x̂·W_decᵀ, and with Ĝ = G masked to the active entries
    /// (+ λ/B for relu): ∂L/∂x̄ = Ĝ·W_enc, ∂L/∂W_dec = Fᵀ·∂L/∂x̂, ∂L/∂W_enc = Ĝᵀ·x̄, ∂L/∂b_enc = column sums of Ĝ.
    /// The same quantities as the entry loops, in a different summation order. AuxK never runs here.
    /// Gated adds the gate path (see <see cref="GatedDense"/>): two more products, for x̂_gate and its gradient.
    /// </summary>
    SaeBatchStats RunDense(SaeTensors<T> w, Tensor<T> x, SaeLossSettings s, SaeTensors<T>? grads, bool projectDecoder,
        int batch, int workers, long activeEntries, SaeBatchStats stats)
    {
        bool backward = grads != null;
        T invB = T.One / T.CreateTruncating(batch);
        T lambda = T.CreateTruncating(s.Sparsity);
        T invWidth = T.One / T.CreateTruncating(s.Bandwidth);
        bool gated = _arch == SaeArchitecture.Gated;
        if (_dense.Length < batch * _m) _dense = new T[batch * _m];
        int sums = WorkerSums(workers, 2);
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            double l1 = 0, gateL1 = 0;
            for (int t = start; t < end; t++)
            {
                var f = _dense.AsSpan(t * _m, _m);
                f.Clear();
                for (int e = _offset[t]; e < _offset[t] + _count[t]; e++) { f[_index[e]] = _value[e]; l1 += double.CreateTruncating(_value[e]); }
                if (gated)
                    for (int e = _offset[t]; e < _offset[t] + _count[t] + _extra[t]; e++) gateL1 += double.CreateTruncating(_gate[e]);
                w.BDec.Span.CopyTo(_rows.AsSpan(t * _d, _d));
            }
            _workerSums[worker * sums] = l1;
            _workerSums[worker * sums + 1] = gateL1;
        });
        double l1Sum = 0, gateL1Sum = 0;
        for (int wk = 0; wk < workers; wk++) { l1Sum += _workerSums[wk * sums]; gateL1Sum += _workerSums[wk * sums + 1]; }
        Gemm.Multiply(false, false, batch, _d, _m, T.One, _dense, _m, w.WDec.Span, _d, T.One, _rows, _d);
        double reconSum = SquaredErrors(x, 0, batch, workers, T.CreateTruncating(2) * invB, backward);
        SetLossTerms(ref stats, s, batch, activeEntries, reconSum, l1Sum, gateL1Sum);
        CountLatents(batch);
        if (!backward) return stats;
        var g = grads!;

        // G = ∂L/∂x̂ · W_decᵀ into _pre (the pre-activations were copied into the entries by Select).
        Gemm.Multiply(false, true, batch, _m, _d, T.One, _rows, _d, w.WDec.Span, _d, T.Zero, _pre, _m);
        if (_arch == SaeArchitecture.JumpRelu)
            for (int t = 0; t < batch; t++)
                for (int e = _nearOffset[t]; e < _nearOffset[t] + _nearCount[t]; e++)
                {
                    int i = _nearIndex[e];
                    _nearCoef[e] = -(_theta[i] * invWidth) * _pre[t * _m + i] - lambda * invB * invWidth;
                }
        T penalty = _arch == SaeArchitecture.Relu ? lambda * invB : T.Zero;
        if (gated) stats.Aux = GatedDense(w, x, batch, workers, lambda * invB, T.CreateTruncating(2) * invB);
        else VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var gp = _pre.AsSpan(t * _m, _m);
                var f = _dense.AsSpan(t * _m, _m);
                for (int i = 0; i < _m; i++) gp[i] = f[i] != T.Zero ? gp[i] + penalty : T.Zero;
            }
        });
        // ∂L/∂x̄ = Ĝ·W_enc into the second half of _rows; ∂L/∂b_dec = Σ_t (∂L/∂x̂_t − ∂L/∂x̄_t).
        var gxbar = _rows.AsSpan(batch * _d, batch * _d);
        Gemm.Multiply(false, false, batch, _d, _m, T.One, _pre, _m, w.WEnc.Span, _d, T.Zero, gxbar, _d);
        var gBDec = g.BDec.Span;
        gBDec.Clear();
        for (int t = 0; t < batch; t++)
            for (int j = 0; j < _d; j++) gBDec[j] += _rows[t * _d + j] - _rows[(batch + t) * _d + j];
        Gemm.Multiply(true, false, _m, _d, batch, T.One, _dense, _m, _rows, _d, T.Zero, g.WDec.Span, _d);
        Gemm.Multiply(true, false, _m, _d, batch, T.One, _pre, _m, _xbar, _d, T.Zero, g.WEnc.Span, _d);
        var gBEnc = g.BEnc.Span;
        gBEnc.Clear();
        for (int t = 0; t < batch; t++) VectorMath.Axpy(T.One, _pre.AsSpan(t * _m, _m), gBEnc);
        if (gated) GatedBiasGradients(w, g, batch); // b_enc above summed the whole encoder coefficient; b_gate takes only the gate part
        if (projectDecoder)
            for (int i = 0; i < _m; i++)
            {
                if (_latentCount[i] == 0) continue;
                var gDec = g.WDec.Row(i);
                var di = w.WDec.Row(i);
                VectorMath.Axpy(-VectorMath.Dot<T>(gDec, di), di, gDec);
            }
        if (_arch == SaeArchitecture.JumpRelu) ThresholdGradient(g, batch);
        return stats;
    }

    /// <summary>
    /// Gated, token t, backward: <paramref name="row"/> holds ∂L/∂x̂ = 2e/B. Decodes the gate path
    /// x̂_gate = b_dec + Σ ReLU(π_gate_i)·W_dec[i] into the token's second row, and writes per gate-open entry
    /// ∂L/∂π_gate = λ/B + W_dec[i]·(2/B)(x̂_gate − x) (sparsity + auxiliary; the Heaviside passes nothing),
    /// ∂L/∂π_mag = W_dec[i]·∂L/∂x̂ (main entries; 0 where π_mag ≤ 0), and the encoder-row coefficient
    /// ∂L/∂(W_gate[i]·x̄) = ∂L/∂π_gate + exp(r_mag_i)·∂L/∂π_mag. Returns ‖x̂_gate − x‖².
    /// </summary>
    double GatedTokenGradients(SaeTensors<T> w, Tensor<T> x, int t, int batch, ReadOnlySpan<T> row, T lambdaOverB, T twoOverB)
    {
        var aux = _rows.AsSpan((batch + t) * _d, _d);
        var xt = x.Span.Slice(t * _d, _d);
        w.BDec.Span.CopyTo(aux);
        int o = _offset[t], c = _count[t], end = o + c + _extra[t];
        for (int e = o; e < end; e++) VectorMath.Axpy(_gate[e], w.WDec.Row(_index[e]), aux);
        double sq = SquaredError(aux, xt, twoOverB, write: true);
        for (int e = o; e < end; e++)
        {
            int i = _index[e];
            var dec = w.WDec.Row(i);
            T gGate = lambdaOverB + VectorMath.Dot<T>(dec, aux);
            T gMag = e < o + c ? VectorMath.Dot<T>(dec, row) : T.Zero;
            _gateGrad[e] = gGate;
            _magGrad[e] = gMag;
            _gradPre[e] = gGate + _magScale[i] * gMag;
        }
        return sq;
    }

    /// <summary>
    /// Gated: b_gate, b_mag and r_mag gradients from the per-entry ones (the latent loop summed the encoder-row
    /// coefficient into b_enc, which for gated is only the gate part). ∂π_mag/∂r_mag = exp(r_mag)·(π_gate − b_gate).
    /// </summary>
    void GatedBiasGradients(SaeTensors<T> w, SaeTensors<T> g, int batch)
    {
        var gGate = g.BEnc.Span; var gMag = g.BMag!.Span; var gR = g.RMag!.Span;
        var bGate = w.BEnc.Span;
        gGate.Clear(); gMag.Clear(); gR.Clear();
        for (int t = 0; t < batch; t++)
        {
            int o = _offset[t], c = _count[t];
            for (int e = o; e < o + c; e++)
            {
                int i = _index[e];
                gMag[i] += _magGrad[e];
                gR[i] += _magGrad[e] * _magScale[i] * (_gate[e] - bGate[i]);
            }
            for (int e = o; e < o + c + _extra[t]; e++) gGate[_index[e]] += _gateGrad[e];
        }
    }

    /// <summary>Reconstruction, L0, L1 and the sparsity term as it enters the loss: the same for the sparse and dense passes.</summary>
    void SetLossTerms(ref SaeBatchStats stats, SaeLossSettings s, int batch, long activeEntries, double reconSum, double l1Sum, double gateL1Sum)
    {
        stats.Reconstruction = reconSum / batch;
        stats.L0 = (double)activeEntries / batch;
        stats.L1 = l1Sum / batch;
        stats.Sparsity = _arch switch
        {
            SaeArchitecture.Relu => s.Sparsity * stats.L1,
            SaeArchitecture.JumpRelu => s.Sparsity * stats.L0,
            SaeArchitecture.Gated => s.Sparsity * gateL1Sum / batch,
            _ => 0,
        };
    }

    /// <summary>‖r − x‖² of one row, in double; with <paramref name="write"/>, r becomes scale·(r − x) (scale 2/B gives ∂L/∂r).</summary>
    static double SquaredError(Span<T> r, ReadOnlySpan<T> x, T scale, bool write)
    {
        double sq = 0;
        for (int j = 0; j < r.Length; j++)
        {
            T err = r[j] - x[j];
            sq += double.CreateTruncating(err * err);
            if (write) r[j] = scale * err;
        }
        return sq;
    }

    /// <summary><see cref="SquaredError"/> of each batch row of _rows from row <paramref name="first"/> on, against x; returns the sum.</summary>
    double SquaredErrors(Tensor<T> x, int first, int batch, int workers, T scale, bool write)
    {
        int sums = WorkerSums(workers, 1);
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            double sq = 0;
            for (int t = start; t < end; t++) sq += SquaredError(_rows.AsSpan((first + t) * _d, _d), x.Span.Slice(t * _d, _d), scale, write);
            _workerSums[worker * sums] = sq;
        });
        double total = 0;
        for (int wk = 0; wk < workers; wk++) total += _workerSums[wk * sums];
        return total;
    }

    double CenterInput(SaeTensors<T> w, Tensor<T> x, int batch, int workers)
    {
        int sums = WorkerSums(workers, 1 + _d);
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var acc = _workerSums.AsSpan(worker * sums, sums);
            var bDec = w.BDec.Span;
            for (int t = start; t < end; t++)
            {
                var xt = x.Row(t);
                var xb = _xbar.AsSpan(t * _d, _d);
                double sq = 0;
                for (int j = 0; j < _d; j++)
                {
                    xb[j] = xt[j] - bDec[j];
                    double v = double.CreateTruncating(xt[j]);
                    sq += v * v;
                    acc[1 + j] += v;
                }
                acc[0] += sq;
            }
        });
        double total = 0;
        var mean = new double[_d];
        for (int wk = 0; wk < workers; wk++)
        {
            total += _workerSums[wk * sums];
            for (int j = 0; j < _d; j++) mean[j] += _workerSums[wk * sums + 1 + j];
        }
        double meanSq = 0;
        for (int j = 0; j < _d; j++) { double mj = mean[j] / batch; meanSq += mj * mj; }
        return Math.Max(0, total / batch - meanSq);
    }

    void AddEncoderBias(SaeTensors<T> w, int batch, int workers)
    {
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            var b = w.BEnc.Span;
            for (int t = start; t < end; t++) VectorMath.Axpy(T.One, b, _pre.AsSpan(t * _m, _m));
        });
    }

    void Select(SaeTensors<T> w, int batch, SaeLossSettings s, T batchThreshold, bool backward, int workers)
    {
        int k = s.K;
        bool fixedSlots = _arch == SaeArchitecture.TopK;
        T halfWidth = T.CreateTruncating(s.Bandwidth / 2);
        bool lookNear = backward && _arch == SaeArchitecture.JumpRelu;
        bool gated = _arch == SaeArchitecture.Gated;
        // Pass 1: pre-activations z = pre + b_enc (in place), then per token the count of active latents
        // (or, for topk, the selection itself). SIMD compares with lane masks: most lanes are inactive.
        // Gated: z is π_gate; of the gate-open latents, those with π_mag > 0 are active, the others "extra".
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var heapValue = new T[Math.Max(1, k)];
            var heapIndex = new int[Math.Max(1, k)];
            for (int t = start; t < end; t++)
            {
                var z = _pre.AsSpan(t * _m, _m);
                if (_arch != SaeArchitecture.BatchTopK) VectorMath.Axpy(T.One, w.BEnc.Span, z);
                int count = 0, near = 0;
                if (_arch == SaeArchitecture.TopK)
                {
                    int n = TopKMasked(z, k, heapValue, heapIndex), o = t * k;
                    for (int h = 0; h < n; h++)
                        if (heapValue[h] > T.Zero) { _index[o + count] = heapIndex[h]; _value[o + count] = heapValue[h]; count++; }
                }
                else if (gated)
                {
                    int open = 0;
                    for (int i = 0; i < _m; i += 64)
                    {
                        ulong on = ActiveMask(z, i, batchThreshold, halfWidth, false, out _);
                        open += BitOperations.PopCount(on);
                        while (on != 0)
                        {
                            int j = i + BitOperations.TrailingZeroCount(on);
                            if (Magnitude(w, z[j], j) > T.Zero) count++;
                            on &= on - 1;
                        }
                    }
                    _extra[t] = open - count;
                }
                else
                {
                    for (int i = 0; i < _m; i += 64)
                    {
                        ulong on = ActiveMask(z, i, batchThreshold, halfWidth, lookNear, out ulong nearMask);
                        count += BitOperations.PopCount(on);
                        near += BitOperations.PopCount(nearMask);
                    }
                }
                _count[t] = count;
                if (_arch == SaeArchitecture.JumpRelu) _nearCount[t] = near;
            }
        });
        if (fixedSlots)
        {
            for (int t = 0; t < batch; t++) _offset[t] = t * k;
            for (int t = 0; t < batch; t++) Array.Sort(_index, _value, t * k, _count[t]); // ascending latent order: cache-friendly decode
            return;
        }
        // Pass 2: offsets, then fill the entries.
        long total = 0, totalNear = 0;
        for (int t = 0; t < batch; t++)
        {
            _offset[t] = (int)total; total += _count[t] + _extra[t];
            if (_arch == SaeArchitecture.JumpRelu) { _nearOffset[t] = (int)totalNear; totalNear += _nearCount[t]; }
        }
        if (total > int.MaxValue / 2) throw new InvalidOperationException("too many active latents in one batch; lower the batch size");
        EnsureEntries((int)total);
        if (_nearIndex.Length < totalNear) { _nearIndex = new int[totalNear]; _nearCoef = new T[totalNear]; }
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var z = _pre.AsSpan(t * _m, _m);
                int e = _offset[t], ne = _arch == SaeArchitecture.JumpRelu ? _nearOffset[t] : 0;
                if (gated)
                {
                    int f = e + _count[t]; // main entries from e, gate-only ones from f
                    for (int i = 0; i < _m; i += 64)
                    {
                        ulong on = ActiveMask(z, i, batchThreshold, halfWidth, false, out ulong _);
                        while (on != 0)
                        {
                            int j = i + BitOperations.TrailingZeroCount(on);
                            T mag = Magnitude(w, z[j], j);
                            int at = mag > T.Zero ? e++ : f++;
                            _index[at] = j; _value[at] = T.Max(mag, T.Zero); _gate[at] = z[j];
                            on &= on - 1;
                        }
                    }
                    continue;
                }
                for (int i = 0; i < _m; i += 64)
                {
                    ulong on = ActiveMask(z, i, batchThreshold, halfWidth, lookNear, out ulong nearMask);
                    while (on != 0)
                    {
                        int j = i + BitOperations.TrailingZeroCount(on);
                        _index[e] = j; _value[e] = z[j]; e++;
                        on &= on - 1;
                    }
                    while (nearMask != 0)
                    {
                        _nearIndex[ne++] = i + BitOperations.TrailingZeroCount(nearMask);
                        nearMask &= nearMask - 1;
                    }
                }
            }
        });
    }

    /// <summary>Gated: π_mag of latent j from its gate pre-activation, exp(r_mag)·(π_gate − b_gate) + b_mag.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    T Magnitude(SaeTensors<T> w, T gate, int j) => _magScale[j] * (gate - w.BEnc[j]) + w.BMag![j];

    /// <summary>
    /// Bit b of the result: whether latent i+b (of up to 64 from i) is active in z: z > 0 (relu; gated's gate), z > 0 and
    /// z ≥ the batch threshold (batchtopk), z > θ (jumprelu). <paramref name="near"/>: inside the STE window.
    /// </summary>
    ulong ActiveMask(ReadOnlySpan<T> z, int i, T batchThreshold, T halfWidth, bool lookNear, out ulong near)
    {
        ulong mask = 0; near = 0;
        int end = Math.Min(_m, i + 64), q = i;
        ref T rz = ref MemoryMarshal.GetReference(z);
        if (Vector512.IsHardwareAccelerated)
        {
            int lanes = Vector512<T>.Count;
            var zero = Vector512<T>.Zero;
            var thr = Vector512.Create(batchThreshold);
            var hw = Vector512.Create(halfWidth);
            for (; q <= end - lanes; q += lanes)
            {
                var v = Vector512.LoadUnsafe(ref rz, (nuint)q);
                Vector512<T> on;
                switch (_arch)
                {
                    case SaeArchitecture.Relu or SaeArchitecture.Gated: on = Vector512.GreaterThan(v, zero); break;
                    case SaeArchitecture.BatchTopK: on = Vector512.GreaterThan(v, zero) & Vector512.GreaterThanOrEqual(v, thr); break;
                    default:
                        var theta = Vector512.LoadUnsafe(ref _theta[0], (nuint)q);
                        on = Vector512.GreaterThan(v, theta);
                        if (lookNear) near |= Vector512.LessThan(Vector512.Abs(v - theta), hw).ExtractMostSignificantBits() << (q - i);
                        break;
                }
                mask |= on.ExtractMostSignificantBits() << (q - i);
            }
        }
        for (; q < end; q++)
        {
            T v = Unsafe.Add(ref rz, q);
            bool on = _arch switch
            {
                SaeArchitecture.Relu or SaeArchitecture.Gated => v > T.Zero,
                SaeArchitecture.BatchTopK => v > T.Zero && v >= batchThreshold,
                _ => v > _theta[q],
            };
            if (on) mask |= 1UL << (q - i);
            if (lookNear && T.Abs(v - _theta[q]) < halfWidth) near |= 1UL << (q - i);
        }
        return mask;
    }

    /// <summary>Top-k of z into a min-heap, skipping 16-lane blocks with nothing above the current k-th value.</summary>
    static int TopKMasked(ReadOnlySpan<T> z, int k, T[] heapValue, int[] heapIndex)
    {
        int n = 0, i = 0, m = z.Length;
        ref T rz = ref MemoryMarshal.GetReference(z);
        for (; i < m && n < k; i++) n = HeapPush(heapValue, heapIndex, n, k, z[i], i);
        if (Vector512.IsHardwareAccelerated)
        {
            int lanes = Vector512<T>.Count;
            for (; i <= m - lanes; i += lanes)
            {
                ulong bits = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rz, (nuint)i), Vector512.Create(heapValue[0])).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int j = i + BitOperations.TrailingZeroCount(bits);
                    HeapPush(heapValue, heapIndex, n, k, z[j], j);
                    bits &= bits - 1;
                }
            }
        }
        for (; i < m; i++) HeapPush(heapValue, heapIndex, n, k, z[i], i);
        return n;
    }

    /// <summary>Adds (v, i) to a min-heap of capacity k holding n items; returns the new count.</summary>
    static int HeapPush(T[] heapValue, int[] heapIndex, int n, int k, T v, int i)
    {
        if (n < k)
        {
            int c = n++;
            while (c > 0)
            {
                int p = (c - 1) >> 1;
                if (heapValue[p] <= v) break;
                heapValue[c] = heapValue[p]; heapIndex[c] = heapIndex[p]; c = p;
            }
            heapValue[c] = v; heapIndex[c] = i;
            return n;
        }
        if (!(v > heapValue[0])) return n;
        int at = 0;
        while (true)
        {
            int l = 2 * at + 1;
            if (l >= k) break;
            int r = l + 1, s = r < k && heapValue[r] < heapValue[l] ? r : l;
            if (heapValue[s] >= v) break;
            heapValue[at] = heapValue[s]; heapIndex[at] = heapIndex[s]; at = s;
        }
        heapValue[at] = v; heapIndex[at] = i;
        return n;
    }

    /// <summary>Top-k of z (optionally only over <paramref name="among"/>) into a min-heap; returns how many were taken.</summary>
    static int TopK(ReadOnlySpan<T> z, int k, T[] heapValue, int[] heapIndex, int[]? among)
    {
        int n = 0, total = among?.Length ?? z.Length;
        for (int q = 0; q < total; q++)
        {
            int i = among == null ? q : among[q];
            n = HeapPush(heapValue, heapIndex, n, k, z[i], i);
        }
        return n;
    }

    /// <summary>BatchTopK: the rank-th largest positive pre-activation in the batch (a radix select on float bits).</summary>
    T BatchThreshold(int batch, long rank, int workers)
    {
        const int Bins = 1 << 15;
        var hist = new int[workers * Bins];
        long n = (long)batch * _m;
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var h = hist.AsSpan(worker * Bins, Bins);
            foreach (T v in _pre.AsSpan(start * _m, (end - start) * _m))
                if (v > T.Zero) h[Key(v)]++;
        });
        long above = 0;
        int bin = -1;
        for (int b = Bins - 1; b >= 0 && bin < 0; b--)
        {
            long inBin = 0;
            for (int wk = 0; wk < workers; wk++) inBin += hist[wk * Bins + b];
            if (above + inBin >= rank) bin = b;
            else above += inBin;
        }
        if (bin < 0) return T.Epsilon; // fewer positives than the budget: every positive one is active
        var candidates = new List<T>();
        foreach (T v in _pre.AsSpan(0, (int)n))
            if (v > T.Zero && Key(v) == bin) candidates.Add(v);
        candidates.Sort((a, b) => b.CompareTo(a));
        return candidates[(int)(rank - above - 1)];

        static int Key(T v) => (int)(BitConverter.SingleToUInt32Bits(float.CreateTruncating(v)) >> 16);
    }

    void BuildDeadList(bool[] dead)
    {
        if (dead.Length != _m) throw new ArgumentException($"dead mask has {dead.Length} entries, SAE has {_m} latents");
        int n = 0;
        foreach (bool b in dead) if (b) n++;
        if (_deadList.Length != n) _deadList = new int[n];
        for (int i = 0, j = 0; i < _m; i++) if (dead[i]) _deadList[j++] = i;
    }

    void SelectAux(int batch, int kAux, int workers)
    {
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            var hv = new T[kAux]; var hi = new int[kAux];
            for (int t = start; t < end; t++)
            {
                int n = TopK(_pre.AsSpan(t * _m, _m), kAux, hv, hi, _deadList), c = 0, o = t * kAux;
                for (int h = 0; h < n; h++)
                    if (hv[h] > T.Zero) { _auxIndex[o + c] = hi[h]; _auxValue[o + c] = hv[h]; c++; }
                _auxCount[t] = c;
            }
        });
    }

    double AuxPass(SaeTensors<T> w, int batch, int kAux, double alpha, double norm, int workers)
    {
        if (!(norm > 0)) { Array.Clear(_auxCount, 0, batch); return 0; }
        int sums = WorkerSums(workers, 1);
        T scale = T.CreateTruncating(2 * alpha / (batch * norm));
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            double sq = 0;
            for (int t = start; t < end; t++)
            {
                // The row holds e = x̂ − x; the target is r = −e, so ê − r = ê + e.
                var row = _rows.AsSpan((batch + t) * _d, _d);
                int o = t * kAux;
                for (int e = o; e < o + _auxCount[t]; e++) VectorMath.Axpy(_auxValue[e], w.WDec.Row(_auxIndex[e]), row);
                for (int j = 0; j < _d; j++) { double v = double.CreateTruncating(row[j]); sq += v * v; row[j] *= scale; }
                for (int e = o; e < o + _auxCount[t]; e++) _auxGrad[e] = VectorMath.Dot<T>(w.WDec.Row(_auxIndex[e]), row);
            }
            _workerSums[worker * sums] = sq;
        });
        double total = 0;
        for (int wk = 0; wk < workers; wk++) total += _workerSums[wk * sums];
        return alpha * total / (batch * norm);
    }

    void InputGradient(SaeTensors<T> w, SaeTensors<T> g, int batch, int kAux, int workers)
    {
        if (_workerRows.Length < 2 * workers * _d) _workerRows = new T[2 * workers * _d];
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var gx = _workerRows.AsSpan(2 * worker * _d, _d);
            var gb = _workerRows.AsSpan((2 * worker + 1) * _d, _d);
            gb.Clear();
            for (int t = start; t < end; t++)
            {
                gx.Clear();
                for (int e = _offset[t]; e < _offset[t] + _count[t] + _extra[t]; e++) VectorMath.Axpy(_gradPre[e], w.WEnc.Row(_index[e]), gx);
                if (kAux > 0)
                    for (int e = t * kAux; e < t * kAux + _auxCount[t]; e++) VectorMath.Axpy(_auxGrad[e], w.WEnc.Row(_auxIndex[e]), gx);
                VectorMath.Axpy(T.One, _rows.AsSpan(t * _d, _d), gb);
                VectorMath.Axpy(-T.One, gx, gb);
            }
        });
        var gBDec = g.BDec.Span;
        gBDec.Clear();
        for (int wk = 0; wk < Math.Min(workers, batch); wk++) VectorMath.Axpy(T.One, _workerRows.AsSpan((2 * wk + 1) * _d, _d), gBDec);
    }

    void CountLatents(int batch)
    {
        Array.Clear(_latentCount);
        for (int t = 0; t < batch; t++)
            for (int e = _offset[t]; e < _offset[t] + _count[t]; e++) _latentCount[_index[e]]++;
    }

    void WeightGradients(SaeTensors<T> w, SaeTensors<T> g, int batch, int kAux, bool projectDecoder, int workers)
    {
        // Transpose the token-major entries into latent-major ones (counting sort).
        var start = _cscStart;
        Array.Clear(start);
        for (int i = 0; i < _m; i++) start[i + 1] = _latentCount[i];
        if (_arch == SaeArchitecture.Gated)
            for (int t = 0; t < batch; t++)
                for (int e = _offset[t] + _count[t]; e < _offset[t] + _count[t] + _extra[t]; e++) start[_index[e] + 1]++;
        if (kAux > 0)
            for (int t = 0; t < batch; t++)
                for (int e = t * kAux; e < t * kAux + _auxCount[t]; e++) start[_auxIndex[e] + 1]++;
        for (int i = 0; i < _m; i++) start[i + 1] += start[i];
        int total = start[_m];
        if (_csc.Length < total) _csc = new CscEntry[Math.Max(total, _csc.Length * 3 / 2)];
        Array.Copy(start, _cscFill, _m);
        for (int t = 0; t < batch; t++)
        {
            for (int e = _offset[t]; e < _offset[t] + _count[t] + _extra[t]; e++) // gated extras: f = 0, encoder gradient only
                _csc[_cscFill[_index[e]]++] = new CscEntry { Token = t, Row = t, Dec = _value[e], Enc = _gradPre[e] };
            if (kAux > 0)
                for (int e = t * kAux; e < t * kAux + _auxCount[t]; e++)
                    _csc[_cscFill[_auxIndex[e]]++] = new CscEntry { Token = t, Row = batch + t, Dec = _auxValue[e], Enc = _auxGrad[e] };
        }
        // Split the latents so each worker gets about the same number of entries (plus rows to clear).
        int parts = Math.Max(1, workers * 4);
        var bounds = new int[parts + 1];
        long weight = total + (long)_m * 8;
        for (int p = 1, i = 0; p < parts; p++)
        {
            long target = weight * p / parts;
            while (i < _m && start[i] + 8L * i < target) i++;
            bounds[p] = i;
        }
        bounds[parts] = _m;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = workers }, p =>
        {
            for (int i = bounds[p]; i < bounds[p + 1]; i++)
            {
                var gDec = g.WDec.Row(i);
                var gEnc = g.WEnc.Row(i);
                gDec.Clear(); gEnc.Clear();
                T gb = T.Zero;
                for (int e = start[i]; e < start[i + 1]; e++)
                {
                    ref readonly var entry = ref _csc[e];
                    VectorMath.Axpy(entry.Dec, _rows.AsSpan(entry.Row * _d, _d), gDec);
                    VectorMath.Axpy(entry.Enc, _xbar.AsSpan(entry.Token * _d, _d), gEnc);
                    gb += entry.Enc;
                }
                g.BEnc[i] = gb;
                if (projectDecoder && start[i + 1] > start[i])
                {
                    var di = w.WDec.Row(i);
                    VectorMath.Axpy(-VectorMath.Dot<T>(gDec, di), di, gDec);
                }
            }
        });
    }

    int WorkerSums(int workers, int perWorker)
    {
        if (_workerSums.Length < workers * perWorker) _workerSums = new double[workers * perWorker];
        Array.Clear(_workerSums, 0, workers * perWorker);
        return perWorker;
    }

    void Reserve(int batch, int k, int kAux)
    {
        if (batch > _batchCapacity)
        {
            _batchCapacity = batch;
            _xbar = new T[batch * _d];
            _pre = new T[(long)batch * _m > Array.MaxLength ? throw new ArgumentException("batch × d_sae too large") : batch * _m];
            _rows = new T[2 * batch * _d];
            _offset = new int[batch + 1];
            _count = new int[batch];
            _extra = new int[batch];
            _nearOffset = new int[batch + 1];
            _nearCount = new int[batch];
            _auxCount = new int[batch];
        }
        if (k > 0) EnsureEntries(_batchCapacity * k);
        if (kAux > 0 && _auxIndex.Length < _batchCapacity * kAux)
        {
            _auxIndex = new int[_batchCapacity * kAux];
            _auxValue = new T[_batchCapacity * kAux];
            _auxGrad = new T[_batchCapacity * kAux];
        }
        Array.Clear(_auxCount);
    }

    void EnsureEntries(int n)
    {
        if (_index.Length >= n) return;
        int size = Math.Max(n, _index.Length * 3 / 2);
        _index = new int[size]; _value = new T[size]; _gradPre = new T[size];
        if (_arch == SaeArchitecture.Gated) { _gate = new T[size]; _gateGrad = new T[size]; _magGrad = new T[size]; }
    }
}
