using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

internal sealed partial class SaeEngine<T, TArch>
{
    /// <summary>Largest batch × d_sae for which dense mode may allocate its [B, m] activation matrix (1 GiB of floats).</summary>
    const long DenseLimit = 1L << 28;

    /// <summary>
    /// Steps 4–7 with dense products, for batches in which many latents fire: F holds f on the active entries and
    /// zeros elsewhere, x̂ = F·W_dec + b_dec, G = ∂L/∂x̂·W_decᵀ, and with Ĝ = G turned by the architecture into the
    /// encoder coefficients (masked to its entries, plus its penalty's gradient): ∂L/∂x̄ = Ĝ·W_enc,
    /// ∂L/∂W_dec = Fᵀ·∂L/∂x̂, ∂L/∂W_enc = Ĝᵀ·x̄, ∂L/∂b_enc = column sums of Ĝ. The same quantities as the entry
    /// loops, in a different summation order. AuxK never runs here.
    /// </summary>
    SaeBatchStats RunDense(SaeTensors<T> w, Tensor<T> x, SaeLossSettings s, SaeTensors<T>? grads, bool projectDecoder,
        int workers, long activeEntries, SaeBatchStats stats)
    {
        var b = Batch;
        int batch = b.Size;
        bool backward = grads != null;
        T invB = T.One / T.CreateTruncating(batch);
        if (b.Dense.Length < batch * _m) b.Dense = new T[batch * _m];
        int sums = b.WorkerSums(workers, 1);
        var acc = b.Sums;
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            double l1 = 0;
            for (int t = start; t < end; t++)
            {
                var f = b.Dense.AsSpan(t * _m, _m);
                f.Clear();
                for (int e = b.Offset[t]; e < b.Offset[t] + b.Count[t]; e++) { f[b.Index[e]] = b.Value[e]; l1 += double.CreateTruncating(b.Value[e]); }
                w.BDec.Span.CopyTo(b.Rows.AsSpan(t * _d, _d));
            }
            acc[worker * sums] = l1;
        });
        double l1Sum = 0;
        for (int wk = 0; wk < workers; wk++) l1Sum += acc[wk * sums];
        Gemm.Multiply(false, false, batch, _d, _m, T.One, b.Dense, _m, w.WDec.Span, _d, T.One, b.Rows, _d);
        double reconSum = b.SquaredErrors(x, 0, workers, T.CreateTruncating(2) * invB, backward);
        SetLossTerms(ref stats, s, activeEntries, reconSum, l1Sum);
        b.CountLatents();
        if (!backward) return stats;
        var g = grads!;

        // G = ∂L/∂x̂ · W_decᵀ into Pre (the pre-activations were copied into the entries by the selection).
        Gemm.Multiply(false, true, batch, _m, _d, T.One, b.Rows, _d, w.WDec.Span, _d, T.Zero, b.Pre, _m);
        stats.Aux = _arch.DenseGradients(b, w, x, workers, T.CreateTruncating(s.Sparsity) * invB, T.CreateTruncating(2) * invB);
        // ∂L/∂x̄ = Ĝ·W_enc into the second half of the rows; ∂L/∂b_dec = Σ_t (∂L/∂x̂_t − ∂L/∂x̄_t).
        var gxbar = b.Rows.AsSpan(batch * _d, batch * _d);
        Gemm.Multiply(false, false, batch, _d, _m, T.One, b.Pre, _m, w.WEnc.Span, _d, T.Zero, gxbar, _d);
        var gBDec = g.BDec.Span;
        gBDec.Clear();
        for (int t = 0; t < batch; t++)
            for (int j = 0; j < _d; j++) gBDec[j] += b.Rows[t * _d + j] - b.Rows[(batch + t) * _d + j];
        Gemm.Multiply(true, false, _m, _d, batch, T.One, b.Dense, _m, b.Rows, _d, T.Zero, g.WDec.Span, _d);
        Gemm.Multiply(true, false, _m, _d, batch, T.One, b.Pre, _m, b.Xbar, _d, T.Zero, g.WEnc.Span, _d);
        var gBEnc = g.BEnc.Span;
        gBEnc.Clear();
        for (int t = 0; t < batch; t++) VectorMath.Axpy(T.One, b.Pre.AsSpan(t * _m, _m), gBEnc);
        if (projectDecoder)
            for (int i = 0; i < _m; i++)
                if (b.LatentCount[i] > 0) DecoderGradientProjection.Project<T>(w.WDec.Row(i), g.WDec.Row(i));
        _arch.ParameterGradients(b, w, g);
        return stats;
    }
}
