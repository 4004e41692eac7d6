using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// The AuxK term of topk and batchtopk (Gao et al. 2024, METHODS §2.2): each token's residual r = x − x̂, held
/// constant, is reconstructed from its top k_aux pre-activations among the dead latents, ê = Σ z_i·W_dec[i], and
///   L_aux = α Σ_t ‖ê_t − r_t‖² / Σ_t ‖r_t − r̄‖²,
/// which gives dead latents a gradient towards what the live ones miss. Skipped when no latent is dead. Its entries
/// feed the engine's input and weight gradients beside the main ones.
/// </summary>
internal sealed class AuxK<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly int _m;
    int[] _dead = [];
    /// <summary>Token t's AuxK entries lie at [t·Slots, t·Slots + Count[t]).</summary>
    public int[] Count = [], Index = [];
    public T[] Value = [], Grad = [];
    /// <summary>k_aux of this pass: 0 when AuxK does not run.</summary>
    public int Slots { get; private set; }

    public AuxK(int dSae) => _m = dSae;

    /// <summary>Readies a backward pass of up to <paramref name="capacity"/> tokens; returns k_aux (0: none dead, or AuxK off).</summary>
    public int Begin(SaeLossSettings s, int capacity)
    {
        Slots = 0;
        if (Count.Length < capacity) Count = new int[capacity];
        Array.Clear(Count);
        if (s.KAux <= 0 || s.Dead == null) return 0;
        var dead = s.Dead;
        if (dead.Length != _m) throw new ArgumentException($"dead mask has {dead.Length} entries, SAE has {_m} latents");
        int n = 0;
        foreach (bool d in dead) if (d) n++;
        if (_dead.Length != n) _dead = new int[n];
        for (int i = 0, j = 0; i < _m; i++) if (dead[i]) _dead[j++] = i;
        if (n == 0) return 0;
        Slots = Math.Min(s.KAux, n);
        if (Index.Length < capacity * Slots)
        {
            Index = new int[capacity * Slots];
            Value = new T[capacity * Slots];
            Grad = new T[capacity * Slots];
        }
        return Slots;
    }

    /// <summary>Each token's top k_aux positive pre-activations among the dead latents.</summary>
    public void Select(SaeBatch<T> b, int workers)
    {
        int kAux = Slots, m = b.M;
        var pre = b.Pre; var dead = _dead; var count = Count; var index = Index; var value = Value;
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            var hv = new T[kAux]; var hi = new int[kAux];
            for (int t = start; t < end; t++)
            {
                int n = TopKHeap<T>.Among(pre.AsSpan(t * m, m), kAux, hv, hi, dead), c = 0, o = t * kAux;
                for (int h = 0; h < n; h++)
                    if (hv[h] > T.Zero) { index[o + c] = hi[h]; value[o + c] = hv[h]; c++; }
                count[t] = c;
            }
        });
    }

    /// <summary>
    /// On entry the second half of the batch rows holds e = x̂ − x per token, and <paramref name="norm"/> is
    /// mean_t ‖e_t − ē‖². Decodes ê over the AuxK entries, leaves ∂L_aux/∂ê in those rows and ∂L_aux/∂z per entry in
    /// <see cref="Grad"/>; returns L_aux.
    /// </summary>
    public double Pass(SaeBatch<T> b, SaeTensors<T> w, double alpha, double norm, int workers)
    {
        int batch = b.Size, d = b.D, kAux = Slots;
        if (!(norm > 0)) { Array.Clear(Count, 0, batch); return 0; }
        int sums = b.WorkerSums(workers, 1);
        var acc = b.Sums; var rows = b.Rows; var count = Count; var index = Index; var value = Value; var grad = Grad;
        T scale = T.CreateTruncating(2 * alpha / (batch * norm));
        VectorMath.ForRanges(batch, workers, (start, end, worker) =>
        {
            double sq = 0;
            for (int t = start; t < end; t++)
            {
                // The row holds e = x̂ − x; the target is r = −e, so ê − r = ê + e.
                var row = rows.AsSpan((batch + t) * d, d);
                int o = t * kAux;
                for (int e = o; e < o + count[t]; e++) VectorMath.Axpy(value[e], w.WDec.Row(index[e]), row);
                for (int j = 0; j < d; j++) { double v = double.CreateTruncating(row[j]); sq += v * v; row[j] *= scale; }
                for (int e = o; e < o + count[t]; e++) grad[e] = VectorMath.Dot<T>(w.WDec.Row(index[e]), row);
            }
            acc[worker * sums] = sq;
        });
        double total = 0;
        for (int wk = 0; wk < workers; wk++) total += acc[wk * sums];
        return alpha * total / (batch * norm);
    }
}
