using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// The working set of one SAE pass, shared by the engine (<see cref="SaeEngine{T, TArch}"/>) and the architectures:
/// the centred inputs, the encoder product, the x̂ rows, and each token's active entries, token-major. Sized for
/// the largest batch seen; a kernel reuses it from pass to pass.
/// </summary>
internal sealed class SaeBatch<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SaeBatch(int dIn, int dSae)
    {
        D = dIn; M = dSae;
        LatentCount = new int[dSae];
    }

    /// <summary>d_in and d_sae.</summary>
    public readonly int D, M;
    /// <summary>Tokens in the current pass.</summary>
    public int Size { get; private set; }
    public int Capacity { get; private set; }

    /// <summary>x − b_dec [B, d].</summary>
    public T[] Xbar = [];
    /// <summary>The encoder product, then the pre-activations with b_enc [B, m]; the dense path reuses it for ∂L/∂pre.</summary>
    public T[] Pre = [];
    /// <summary>[2B, d]: x̂, then ∂L/∂x̂ in the first B rows; the second B rows serve AuxK, the gate path or ∂L/∂x̄.</summary>
    public T[] Rows = [];
    /// <summary>Token t's active entries lie at [Offset[t], Offset[t] + Count[t]); gated's open gates with f = 0 follow them (Extra[t]; 0 for the others).</summary>
    public int[] Offset = [], Count = [], Extra = [];
    /// <summary>Per entry: the latent, its activation f, and ∂L/∂(pre-activation) after the backward pass.</summary>
    public int[] Index = [];
    public T[] Value = [], GradPre = [];
    /// <summary>Tokens each latent fired on in this batch.</summary>
    public readonly int[] LatentCount;
    /// <summary>Dense path: the activations f as a [B, m] matrix (zeros off the active set).</summary>
    public T[] Dense = [];

    double[] _workerSums = [];

    /// <summary>Grows the buffers for a batch of <paramref name="batch"/> tokens; <paramref name="slots"/> entries per token when the architecture fixes them (topk's k).</summary>
    public void Reserve(int batch, int slots)
    {
        Size = batch;
        if (batch > Capacity)
        {
            Capacity = batch;
            Xbar = new T[batch * D];
            Pre = new T[(long)batch * M > Array.MaxLength ? throw new ArgumentException("batch × d_sae too large") : batch * M];
            Rows = new T[2 * batch * D];
            Offset = new int[batch + 1];
            Count = new int[batch];
            Extra = new int[batch];
        }
        if (slots > 0) EnsureEntries(Capacity * slots);
    }

    /// <summary>Room for <paramref name="n"/> entries; returns whether the arrays were replaced (an architecture with per-entry arrays of its own grows them to <see cref="Index"/>'s length).</summary>
    public bool EnsureEntries(int n)
    {
        if (Index.Length >= n) return false;
        int size = Math.Max(n, Index.Length * 3 / 2);
        Index = new int[size]; Value = new T[size]; GradPre = new T[size];
        return true;
    }

    /// <summary>Offsets from the counts (and extras), with room for the entries; returns the total.</summary>
    public int SetOffsets()
    {
        long total = 0;
        for (int t = 0; t < Size; t++) { Offset[t] = (int)total; total += Count[t] + Extra[t]; }
        if (total > int.MaxValue / 2) throw new InvalidOperationException("too many active latents in one batch; lower the batch size");
        EnsureEntries((int)total);
        return (int)total;
    }

    /// <summary>Active entries (f > 0) and all entries the passes touch (gated: every open gate).</summary>
    public (long Active, long All) EntryCounts()
    {
        long active = 0, all = 0;
        for (int t = 0; t < Size; t++) { active += Count[t]; all += Count[t] + Extra[t]; }
        return (active, all);
    }

    public void CountLatents()
    {
        Array.Clear(LatentCount);
        for (int t = 0; t < Size; t++)
            for (int e = Offset[t]; e < Offset[t] + Count[t]; e++) LatentCount[Index[e]]++;
    }

    /// <summary>x̄ = x − b_dec into <see cref="Xbar"/>; returns mean_t ‖x_t − mean(x)‖², the denominator of explained variance.</summary>
    public double CenterInput(SaeTensors<T> w, Tensor<T> x, int workers)
    {
        int batch = Size, d = D;
        var xbar = Xbar;
        int sums = WorkerSums(workers, 1 + d);
        var acc0 = _workerSums;
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            var acc = acc0.AsSpan(worker * sums, sums);
            var bDec = w.BDec.Span;
            for (int t = start; t < end; t++)
            {
                var xt = x.Row(t);
                var xb = xbar.AsSpan(t * d, d);
                double sq = 0;
                for (int j = 0; j < d; j++)
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
        var mean = new double[d];
        for (int wk = 0; wk < workers; wk++)
        {
            total += acc0[wk * sums];
            for (int j = 0; j < d; j++) mean[j] += acc0[wk * sums + 1 + j];
        }
        double meanSq = 0;
        for (int j = 0; j < d; j++) { double mj = mean[j] / batch; meanSq += mj * mj; }
        return Math.Max(0, total / batch - meanSq);
    }

    /// <summary>Adds b_enc to every token's pre-activations.</summary>
    public void AddEncoderBias(SaeTensors<T> w, int workers)
    {
        var pre = Pre; int m = M;
        VectorMath.ForRanges(Size, workers, (start, end, _) =>
        {
            var b = w.BEnc.Span;
            for (int t = start; t < end; t++) VectorMath.Axpy(T.One, b, pre.AsSpan(t * m, m));
        });
    }

    /// <summary>
    /// Sparse path, token t: ∂L/∂f for each active entry from <paramref name="gradXhat"/> = ∂L/∂x̂, plus the
    /// penalty's gradient per active latent (<paramref name="penalty"/>: relu's λ/B, 0 for the others), into <see cref="GradPre"/>.
    /// </summary>
    public void DecoderDots(SaeTensors<T> w, int t, ReadOnlySpan<T> gradXhat, T penalty)
    {
        for (int e = Offset[t]; e < Offset[t] + Count[t]; e++)
            GradPre[e] = VectorMath.Dot<T>(w.WDec.Row(Index[e]), gradXhat) + penalty;
    }

    /// <summary>Dense path: <see cref="Pre"/> holds ∂L/∂x̂·W_decᵀ; keep it on the active entries (plus <paramref name="penalty"/>), zero elsewhere.</summary>
    public void MaskDenseGradient(int workers, T penalty)
    {
        var pre = Pre; var dense = Dense; int m = M;
        VectorMath.ForRanges(Size, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++)
            {
                var gp = pre.AsSpan(t * m, m);
                var f = dense.AsSpan(t * m, m);
                for (int i = 0; i < m; i++) gp[i] = f[i] != T.Zero ? gp[i] + penalty : T.Zero;
            }
        });
    }

    /// <summary>‖r − x‖² of one row, in double; with <paramref name="write"/>, r becomes scale·(r − x) (scale 2/B gives ∂L/∂r).</summary>
    public static double SquaredError(Span<T> r, ReadOnlySpan<T> x, T scale, bool write)
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

    /// <summary><see cref="SquaredError"/> of each batch row of <see cref="Rows"/> from row <paramref name="first"/> on, against x; returns the sum.</summary>
    public double SquaredErrors(Tensor<T> x, int first, int workers, T scale, bool write)
    {
        var rows = Rows; int d = D;
        int sums = WorkerSums(workers, 1);
        var acc = _workerSums;
        VectorMath.ForRanges(Size, workers, (start, end, worker) =>
        {
            double sq = 0;
            for (int t = start; t < end; t++) sq += SquaredError(rows.AsSpan((first + t) * d, d), x.Span.Slice(t * d, d), scale, write);
            acc[worker * sums] = sq;
        });
        double total = 0;
        for (int wk = 0; wk < workers; wk++) total += acc[wk * sums];
        return total;
    }

    /// <summary>Zeroed per-worker accumulators, <paramref name="perWorker"/> each (worker w's start at w·perWorker of <see cref="Sums"/>).</summary>
    public int WorkerSums(int workers, int perWorker)
    {
        if (_workerSums.Length < workers * perWorker) _workerSums = new double[workers * perWorker];
        Array.Clear(_workerSums, 0, workers * perWorker);
        return perWorker;
    }

    /// <summary>The per-worker accumulators of the last <see cref="WorkerSums"/>.</summary>
    public double[] Sums => _workerSums;
}
