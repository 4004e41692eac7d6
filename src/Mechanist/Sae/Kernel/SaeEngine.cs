using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// What every architecture shares: centring, the encoder GEMM, decoding from the active entries, reconstruction
/// and explained variance, ∂L/∂x̂, the input and weight gradients, and the dense path (SaeEngine.Dense.cs). The
/// architecture <typeparamref name="TArch"/> picks the entries and adds its penalty, parameters and auxiliary term.
/// Token passes run in parallel over tokens, weight-gradient passes in parallel over latents (each latent's rows
/// are owned by one worker, no atomics).
/// </summary>
internal sealed partial class SaeEngine<T, TArch> : SaeKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TArch : struct, ISaeArchitecture<TArch, T>
{
    readonly int _d, _m;
    TArch _arch; // not readonly: its methods keep per-pass state
    readonly AuxK<T>? _auxK;
    readonly int[] _cscStart, _cscFill;
    CscEntry[] _csc = [];
    T[] _workerRows = [];

    /// <summary>One (token, latent) entry seen from the latent: which row of x̄ and of ∂L/∂x̂ (or the AuxK row) it reads, with what weights.</summary>
    struct CscEntry { public int Token, Row; public T Dec, Enc; }

    public SaeEngine(int dIn, int dSae) : base(TArch.Kind, dIn, dSae)
    {
        _d = dIn; _m = dSae;
        _arch = TArch.Create(dIn, dSae);
        _auxK = TArch.UsesAuxK ? new AuxK<T>(dSae) : null;
        _cscStart = new int[dSae + 1];
        _cscFill = new int[dSae];
    }

    public override SaeBatchStats Run(SaeTensors<T> w, Tensor<T> x, SaeLossSettings s, SaeTensors<T>? grads = null, bool projectDecoder = false)
    {
        if (w.DIn != _d || w.DSae != _m) throw new ArgumentException("weights do not match the kernel's sizes");
        if (x.Columns != _d) throw new ArgumentException($"input rows have {x.Columns} values, the SAE reads {_d}");
        var b = Batch;
        int batch = x.RowCount;
        bool backward = grads != null;
        b.Reserve(batch, TArch.FixedSlots ? s.K : 0);
        int kAux = backward && _auxK != null ? _auxK.Begin(s, b.Capacity) : 0;
        bool useAux = kAux > 0;
        int workers = Math.Max(1, Math.Min(Parallelism.Threads, batch));
        var stats = new SaeBatchStats { Batch = batch };
        T invB = T.One / T.CreateTruncating(batch);

        // 1. x̄ = x − b_dec, and the batch variance for explained variance.
        stats.Variance = b.CenterInput(w, x, workers);

        // 2. The one dense product: pre = x̄ · W_encᵀ  ([B,d]·[d,m]).
        Gemm.Multiply(false, true, batch, _m, _d, T.One, b.Xbar, _d, w.WEnc.Span, _d, T.Zero, b.Pre, _m);

        // 3. The architecture picks each token's active latents (and AuxK its dead ones).
        stats.Threshold = double.CreateTruncating(_arch.Select(b, w, s, backward, workers));
        if (useAux) _auxK!.Select(b, workers);

        // 4. Decode each token from its active latents; ∂L/∂x̂ and ∂L/∂f on the active entries.
        T lambdaOverB = T.CreateTruncating(s.Sparsity) * invB, twoOverB = T.CreateTruncating(2) * invB;
        var (activeEntries, entries) = b.EntryCounts();
        LastPassDense = !useAux && TArch.MayRunDense && (long)batch * _m <= DenseLimit && entries > DenseAbove * batch * _m;
        if (LastPassDense) return RunDense(w, x, s, grads, projectDecoder, workers, activeEntries, stats);
        b.Dense = []; // up to 1 GiB; a trained SAE stays sparse once it is past its first steps
        int sums = b.WorkerSums(workers, 4 + (useAux ? _d : 0));
        var acc0 = b.Sums;
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var acc = acc0.AsSpan(worker * sums, sums);
            var bDec = w.BDec.Span;
            var rows = b.Rows; var offset = b.Offset; var count = b.Count; var index = b.Index; var value = b.Value;
            for (int t = start; t < end; t++)
            {
                var row = rows.AsSpan(t * _d, _d);
                var xt = x.Span.Slice(t * _d, _d);
                bDec.CopyTo(row);
                int o = offset[t], c = count[t];
                T l1 = T.Zero;
                for (int e = o; e < o + c; e++)
                {
                    VectorMath.Axpy(value[e], w.WDec.Row(index[e]), row);
                    l1 += value[e];
                }
                acc[2] += double.CreateTruncating(l1);
                double sq = SaeBatch<T>.SquaredError(row, xt, T.One, backward); // row becomes e = x̂ − x; scaled below
                acc[0] += sq;
                if (!backward) continue;
                if (useAux)
                {
                    // AuxK's target is the residual: keep e beside ∂L/∂x̂, with the sums its normaliser needs.
                    acc[1] += sq;
                    var errSum = acc.Slice(4, _d);
                    for (int j = 0; j < _d; j++) errSum[j] += double.CreateTruncating(row[j]);
                    row.CopyTo(rows.AsSpan((batch + t) * _d, _d));
                }
                for (int j = 0; j < _d; j++) row[j] *= twoOverB;
                acc[3] += _arch.TokenGradients(b, w, x, t, row, lambdaOverB, twoOverB);
            }
        });
        double reconSum = 0, l1Sum = 0, errSq = 0, auxSum = 0;
        var errMean = useAux ? new double[_d] : null;
        for (int wk = 0; wk < workers; wk++)
        {
            var acc = acc0.AsSpan(wk * sums, sums);
            reconSum += acc[0]; errSq += acc[1]; l1Sum += acc[2]; auxSum += acc[3];
            if (useAux) for (int j = 0; j < _d; j++) errMean![j] += acc[4 + j];
        }
        SetLossTerms(ref stats, s, activeEntries, reconSum, l1Sum);
        b.CountLatents();
        if (!backward) return stats;
        stats.Aux = auxSum / batch;

        // 5. AuxK: reconstruct the residual r = x − x̂ = −e from the top dead latents.
        if (useAux)
        {
            double meanSq = 0;
            for (int j = 0; j < _d; j++) { errMean![j] /= batch; meanSq += errMean[j] * errMean[j]; }
            double norm = errSq / batch - meanSq;
            stats.Aux = _auxK!.Pass(b, w, s.AuxAlpha, norm, workers);
        }

        // 6. ∂L/∂x̄ from the active encoder rows, and ∂L/∂b_dec = Σ_t (∂L/∂x̂_t − ∂L/∂x̄_t).
        InputGradient(w, grads!, kAux, workers);

        // 7. Weight gradients, latent by latent; then the architecture's own parameters.
        WeightGradients(w, grads!, kAux, projectDecoder, workers);
        _arch.ParameterGradients(b, w, grads!);
        return stats;
    }

    /// <summary>Reconstruction, L0, L1 and the architecture's penalty: the same for the sparse and dense passes.</summary>
    void SetLossTerms(ref SaeBatchStats stats, SaeLossSettings s, long activeEntries, double reconSum, double l1Sum)
    {
        int batch = Batch.Size;
        stats.Reconstruction = reconSum / batch;
        stats.L0 = (double)activeEntries / batch;
        stats.L1 = l1Sum / batch;
        stats.Sparsity = _arch.Penalty(Batch, s.Sparsity, stats);
    }

    void InputGradient(SaeTensors<T> w, SaeTensors<T> g, int kAux, int workers)
    {
        var b = Batch;
        if (_workerRows.Length < 2 * workers * _d) _workerRows = new T[2 * workers * _d];
        VectorMath.ForRanges(b.Size, workers, (start, end, worker) =>
        {
            var gx = _workerRows.AsSpan(2 * worker * _d, _d);
            var gb = _workerRows.AsSpan((2 * worker + 1) * _d, _d);
            gb.Clear();
            for (int t = start; t < end; t++)
            {
                gx.Clear();
                for (int e = b.Offset[t]; e < b.Offset[t] + b.Count[t] + b.Extra[t]; e++) VectorMath.Axpy(b.GradPre[e], w.WEnc.Row(b.Index[e]), gx);
                if (kAux > 0)
                    for (int e = t * kAux; e < t * kAux + _auxK!.Count[t]; e++) VectorMath.Axpy(_auxK.Grad[e], w.WEnc.Row(_auxK.Index[e]), gx);
                VectorMath.Axpy(T.One, b.Rows.AsSpan(t * _d, _d), gb);
                VectorMath.Axpy(-T.One, gx, gb);
            }
        });
        var gBDec = g.BDec.Span;
        gBDec.Clear();
        for (int wk = 0; wk < Math.Min(workers, b.Size); wk++) VectorMath.Axpy(T.One, _workerRows.AsSpan((2 * wk + 1) * _d, _d), gBDec);
    }

    void WeightGradients(SaeTensors<T> w, SaeTensors<T> g, int kAux, bool projectDecoder, int workers)
    {
        var b = Batch;
        int batch = b.Size;
        // Transpose the token-major entries into latent-major ones (counting sort). Gated's open gates with f = 0
        // (extras) carry an encoder gradient only; AuxK's entries read the token's AuxK row.
        var start = _cscStart;
        Array.Clear(start);
        for (int i = 0; i < _m; i++) start[i + 1] = b.LatentCount[i];
        for (int t = 0; t < batch; t++)
            for (int e = b.Offset[t] + b.Count[t]; e < b.Offset[t] + b.Count[t] + b.Extra[t]; e++) start[b.Index[e] + 1]++;
        if (kAux > 0)
            for (int t = 0; t < batch; t++)
                for (int e = t * kAux; e < t * kAux + _auxK!.Count[t]; e++) start[_auxK.Index[e] + 1]++;
        for (int i = 0; i < _m; i++) start[i + 1] += start[i];
        int total = start[_m];
        if (_csc.Length < total) _csc = new CscEntry[Math.Max(total, _csc.Length * 3 / 2)];
        Array.Copy(start, _cscFill, _m);
        for (int t = 0; t < batch; t++)
        {
            for (int e = b.Offset[t]; e < b.Offset[t] + b.Count[t] + b.Extra[t]; e++)
                _csc[_cscFill[b.Index[e]]++] = new CscEntry { Token = t, Row = t, Dec = b.Value[e], Enc = b.GradPre[e] };
            if (kAux > 0)
                for (int e = t * kAux; e < t * kAux + _auxK!.Count[t]; e++)
                    _csc[_cscFill[_auxK.Index[e]]++] = new CscEntry { Token = t, Row = batch + t, Dec = _auxK.Value[e], Enc = _auxK.Grad[e] };
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
                    VectorMath.Axpy(entry.Dec, b.Rows.AsSpan(entry.Row * _d, _d), gDec);
                    VectorMath.Axpy(entry.Enc, b.Xbar.AsSpan(entry.Token * _d, _d), gEnc);
                    gb += entry.Enc;
                }
                g.BEnc[i] = gb;
                if (projectDecoder && start[i + 1] > start[i]) DecoderGradientProjection.Project<T>(w.WDec.Row(i), gDec);
            }
        });
    }
}
