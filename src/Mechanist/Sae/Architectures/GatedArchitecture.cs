using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// Gated (Rajamanoharan et al. 2024; METHODS §2.5). The encoder GEMM gives W_gate·x̄; π_gate = that + b_gate, and
/// the magnitude path, whose weights are exp(r_mag)⊙W_gate row by row, costs O(1) per open gate instead of a
/// second product: π_mag = exp(r_mag)·(π_gate − b_gate) + b_mag. f = 1[π_gate > 0]·ReLU(π_mag). Penalty
/// λ(1/B)Σ ReLU(π_gate); auxiliary term (1/B)Σ‖x̂_gate − x‖² with x̂_gate = sg(W_dec)ᵀReLU(π_gate) + sg(b_dec):
/// the decoder is frozen in it, so it trains the gate path only (it still reaches b_dec through x̄ = x − b_dec, as
/// in the paper's code and SAELens). Entries: the active latents (f > 0), then the open gates with π_mag ≤ 0
/// (extras: f = 0, but the gate's penalty and auxiliary term still pass gradient to W_gate, b_gate).
/// </summary>
internal struct GatedArchitecture<T> : ISaeArchitecture<GatedArchitecture<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    T[] _magScale;                             // exp(r_mag) per latent
    T[] _gate, _gateGrad, _magGrad;            // per entry: π_gate, ∂L/∂π_gate, ∂L/∂π_mag
    T[] _denseGate;                            // dense path: ReLU(π_gate) as [B, m], then ∂L_aux/∂ReLU(π_gate)

    public static GatedArchitecture<T> Create(int dIn, int dSae) => new()
    {
        _magScale = new T[dSae], _gate = [], _gateGrad = [], _magGrad = [], _denseGate = [],
    };
    public static SaeArchitecture Kind => SaeArchitecture.Gated;
    public static bool FixedSlots => false;
    public static bool UsesAuxK => false;
    public static bool MayRunDense => true;

    public T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers)
    {
        if (w.RMag == null || w.BMag == null) throw new ArgumentException("a gated SAE needs r_mag and b_mag");
        for (int i = 0; i < b.M; i++) _magScale[i] = T.Exp(w.RMag[i]);
        int m = b.M;
        var pre = b.Pre; var count = b.Count; var extra = b.Extra; var magScale = _magScale;
        var open = new PositiveTest<T>();
        // Pass 1: π_gate = pre + b_gate in place; count the open gates, and of them those with π_mag > 0.
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            var bGate = w.BEnc.Span; var bMag = w.BMag.Span;
            for (int t = start; t < end; t++)
            {
                var z = pre.AsSpan(t * m, m);
                VectorMath.Axpy(T.One, bGate, z);
                int opened = 0, active = 0;
                for (int i = 0; i < m; i += 64)
                {
                    ulong on = LatentSelection.Mask(z, i, open);
                    opened += BitOperations.PopCount(on);
                    while (on != 0)
                    {
                        int j = i + BitOperations.TrailingZeroCount(on);
                        if (Magnitude(magScale, bGate, bMag, z[j], j) > T.Zero) active++;
                        on &= on - 1;
                    }
                }
                count[t] = active;
                extra[t] = opened - active;
            }
        });
        b.SetOffsets();
        if (_gate.Length < b.Index.Length) { _gate = new T[b.Index.Length]; _gateGrad = new T[b.Index.Length]; _magGrad = new T[b.Index.Length]; }
        // Pass 2: fill the active entries from the token's offset and the gate-only ones after them.
        var offset = b.Offset; var index = b.Index; var value = b.Value; var gate = _gate;
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            var bGate = w.BEnc.Span; var bMag = w.BMag.Span;
            for (int t = start; t < end; t++)
            {
                var z = pre.AsSpan(t * m, m);
                int e = offset[t], f = e + count[t];
                for (int i = 0; i < m; i += 64)
                {
                    ulong on = LatentSelection.Mask(z, i, open);
                    while (on != 0)
                    {
                        int j = i + BitOperations.TrailingZeroCount(on);
                        T mag = Magnitude(magScale, bGate, bMag, z[j], j);
                        int at = mag > T.Zero ? e++ : f++;
                        index[at] = j; value[at] = T.Max(mag, T.Zero); gate[at] = z[j];
                        on &= on - 1;
                    }
                }
            }
        });
        return T.Zero;
    }

    /// <summary>π_mag of latent j from its gate pre-activation: exp(r_mag)·(π_gate − b_gate) + b_mag.</summary>
    static T Magnitude(T[] magScale, ReadOnlySpan<T> bGate, ReadOnlySpan<T> bMag, T gate, int j) => magScale[j] * (gate - bGate[j]) + bMag[j];

    /// <summary>λ(1/B)Σ ReLU(π_gate): every open gate counts, active or not.</summary>
    public double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats)
    {
        double sum = 0;
        for (int t = 0; t < b.Size; t++)
        {
            T tokenSum = T.Zero;
            for (int e = b.Offset[t]; e < b.Offset[t] + b.Count[t] + b.Extra[t]; e++) tokenSum += _gate[e];
            sum += double.CreateTruncating(tokenSum);
        }
        return lambda * sum / b.Size;
    }

    /// <summary>
    /// Token t: decodes the gate path x̂_gate = b_dec + Σ ReLU(π_gate_i)·W_dec[i] into the token's second row, and
    /// writes per open gate ∂L/∂π_gate = λ/B + W_dec[i]·(2/B)(x̂_gate − x) (penalty + auxiliary; the Heaviside passes
    /// nothing), ∂L/∂π_mag = W_dec[i]·∂L/∂x̂ (active entries; 0 where π_mag ≤ 0), and the encoder-row coefficient
    /// ∂L/∂(W_gate[i]·x̄) = ∂L/∂π_gate + exp(r_mag_i)·∂L/∂π_mag. Returns ‖x̂_gate − x‖².
    /// </summary>
    public double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB)
    {
        int d = b.D;
        var aux = b.Rows.AsSpan((b.Size + t) * d, d);
        var xt = x.Span.Slice(t * d, d);
        w.BDec.Span.CopyTo(aux);
        int o = b.Offset[t], c = b.Count[t], end = o + c + b.Extra[t];
        for (int e = o; e < end; e++) VectorMath.Axpy(_gate[e], w.WDec.Row(b.Index[e]), aux);
        double sq = SaeBatch<T>.SquaredError(aux, xt, twoOverB, write: true);
        for (int e = o; e < end; e++)
        {
            int i = b.Index[e];
            var dec = w.WDec.Row(i);
            T gGate = lambdaOverB + VectorMath.Dot<T>(dec, aux);
            T gMag = e < o + c ? VectorMath.Dot<T>(dec, gradXhat) : T.Zero;
            _gateGrad[e] = gGate;
            _magGrad[e] = gMag;
            b.GradPre[e] = gGate + _magScale[i] * gMag;
        }
        return sq;
    }

    /// <summary>
    /// Dense path: Pre holds G = ∂L/∂x̂·W_decᵀ and the second half of the rows is free. Decodes
    /// x̂_gate = ReLU(π_gate)·W_dec + b_dec with a GEMM, takes (2/B)(x̂_gate − x)·W_decᵀ with another, fills the
    /// per-entry gradients as <see cref="TokenGradients"/> does, and leaves in Pre the encoder coefficient.
    /// Returns mean_t ‖x̂_gate − x‖².
    /// </summary>
    public double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB)
    {
        int batch = b.Size, m = b.M, d = b.D;
        if (_denseGate.Length < batch * m) _denseGate = new T[batch * m];
        var denseGate = _denseGate; var gate = _gate; var gateGrad = _gateGrad; var magGrad = _magGrad; var magScale = _magScale;
        var aux = b.Rows.AsSpan(batch * d, batch * d);
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var fg = denseGate.AsSpan(t * m, m);
                fg.Clear();
                for (int e = b.Offset[t]; e < b.Offset[t] + b.Count[t] + b.Extra[t]; e++) fg[b.Index[e]] = gate[e];
                w.BDec.Span.CopyTo(b.Rows.AsSpan((batch + t) * d, d));
            }
        });
        Gemm.Multiply(false, false, batch, d, m, T.One, denseGate, m, w.WDec.Span, d, T.One, aux, d);
        double total = b.SquaredErrors(x, batch, workers, twoOverB, write: true);
        Gemm.Multiply(false, true, batch, m, d, T.One, aux, d, w.WDec.Span, d, T.Zero, denseGate, m);
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var gp = b.Pre.AsSpan(t * m, m);
                var ga = denseGate.AsSpan(t * m, m);
                int o = b.Offset[t], c = b.Count[t], last = o + c + b.Extra[t];
                for (int e = o; e < last; e++)
                {
                    int i = b.Index[e];
                    magGrad[e] = e < o + c ? gp[i] : T.Zero;
                    gateGrad[e] = lambdaOverB + ga[i];
                }
                gp.Clear();
                for (int e = o; e < last; e++) gp[b.Index[e]] = gateGrad[e] + magScale[b.Index[e]] * magGrad[e];
            }
        });
        return total / batch;
    }

    /// <summary>
    /// b_gate, b_mag and r_mag from the per-entry gradients (the engine summed the whole encoder coefficient into
    /// b_enc; b_gate takes only the gate part). ∂π_mag/∂r_mag = exp(r_mag)·(π_gate − b_gate).
    /// </summary>
    public void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g)
    {
        var gGate = g.BEnc.Span; var gMag = g.BMag!.Span; var gR = g.RMag!.Span;
        var bGate = w.BEnc.Span;
        gGate.Clear(); gMag.Clear(); gR.Clear();
        for (int t = 0; t < b.Size; t++)
        {
            int o = b.Offset[t], c = b.Count[t];
            for (int e = o; e < o + c; e++)
            {
                int i = b.Index[e];
                gMag[i] += _magGrad[e];
                gR[i] += _magGrad[e] * _magScale[i] * (_gate[e] - bGate[i]);
            }
            for (int e = o; e < o + c + b.Extra[t]; e++) gGate[b.Index[e]] += _gateGrad[e];
        }
    }
}
