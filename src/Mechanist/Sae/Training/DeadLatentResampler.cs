using Mechanist.Autograd.Optimizers;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// Towards Monosemanticity's resampling of dead latents (METHODS §2.1, exact): weight each candidate input
/// by the square of its reconstruction loss, draw one input per dead latent, and make that input (unit
/// norm) the latent's decoder row; its encoder row is the same vector × 0.2 × the mean encoder-row norm of
/// the alive latents, its encoder bias 0, and the Adam state of every entry changed is reset.
/// </summary>
public static class DeadLatentResampler
{
    /// <summary>Encoder-row scale relative to the alive latents' mean encoder norm.</summary>
    public const float EncoderScale = 0.2f;

    /// <summary>
    /// Resamples <paramref name="dead"/> from <paramref name="inputs"/> ([n, d_in], the same scale the SAE is
    /// trained on). Returns the row of <paramref name="inputs"/> chosen for each dead latent.
    /// </summary>
    public static int[] Resample(SparseAutoencoder sae, Adam optimizer, IReadOnlyList<int> dead, Tensor inputs, Rng rng)
    {
        if (dead.Count == 0) return [];
        var losses = SquaredLosses(sae, inputs);
        var chosen = Sample(losses.Select(l => l * l).ToArray(), dead.Count, rng);
        var picked = new Tensor(dead.Count, sae.DIn);
        for (int q = 0; q < chosen.Length; q++) inputs.Row(chosen[q]).CopyTo(picked.Row(q));
        Apply(sae, optimizer, dead, picked);
        return chosen;
    }

    /// <summary>Gives dead latent dead[q] the input row q of <paramref name="picked"/>, and resets its Adam state.</summary>
    public static void Apply(SparseAutoencoder sae, Adam optimizer, IReadOnlyList<int> dead, Tensor picked)
    {
        var isDead = new bool[sae.DSae];
        foreach (int i in dead) isDead[i] = true;
        double aliveNorm = 0; int alive = 0;
        for (int i = 0; i < sae.DSae; i++)
        {
            if (isDead[i]) continue;
            var row = sae.WEnc.Value.Row(i);
            aliveNorm += Math.Sqrt(VectorMath.Dot<float>(row, row));
            alive++;
        }
        float encoderNorm = EncoderScale * (float)(alive > 0 ? aliveNorm / alive : 1);
        for (int q = 0; q < dead.Count; q++)
        {
            int i = dead[q];
            var x = picked.Row(q);
            double norm = Math.Sqrt(VectorMath.Dot<float>(x, x));
            float inv = norm > 0 ? (float)(1 / norm) : 0;
            VectorMath.Scale(inv, x, sae.WDec.Value.Row(i));
            VectorMath.Scale(inv * encoderNorm, x, sae.WEnc.Value.Row(i));
            sae.BEnc.Value[i] = 0;
        }
        var rows = dead.ToArray();
        optimizer.StateOf(sae.WDec).ResetRows(rows);
        optimizer.StateOf(sae.WEnc).ResetRows(rows);
        optimizer.StateOf(sae.BEnc).ResetEntries(rows);
    }

    /// <summary>‖x − x̂‖² for each row.</summary>
    public static double[] SquaredLosses(SparseAutoencoder sae, Tensor inputs)
    {
        var losses = new double[inputs.RowCount];
        sae.ForBatches(inputs, (kernel, start, count) =>
        {
            for (int t = 0; t < count; t++)
            {
                var x = inputs.Row(start + t);
                var r = kernel.Reconstruction(t);
                double s = 0;
                for (int j = 0; j < x.Length; j++) { double e = r[j] - x[j]; s += e * e; }
                losses[start + t] = s;
            }
        });
        return losses;
    }

    /// <summary>
    /// Draws <paramref name="count"/> indices with probability ∝ weight (binary search on the cumulative sum),
    /// redrawing an index already taken so each dead latent gets its own input when enough have positive weight.
    /// With no positive weight at all, indices are uniform.
    /// </summary>
    public static int[] Sample(double[] weights, int count, Rng rng)
    {
        var cumulative = new double[weights.Length];
        double total = 0;
        int positive = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            double w = double.IsFinite(weights[i]) && weights[i] > 0 ? weights[i] : 0;
            if (w > 0) positive++;
            total += w;
            cumulative[i] = total;
        }
        var taken = new HashSet<int>();
        var result = new int[count];
        for (int q = 0; q < count; q++)
        {
            int pick = 0;
            for (int attempt = 0; attempt < 64; attempt++)
            {
                if (total > 0)
                {
                    double u = rng.NextDouble() * total;
                    int lo = 0, hi = weights.Length - 1;
                    while (lo < hi) { int mid = (lo + hi) >> 1; if (cumulative[mid] > u) hi = mid; else lo = mid + 1; }
                    pick = lo;
                }
                else pick = rng.NextInt(weights.Length);
                if (taken.Count >= positive || !taken.Contains(pick)) break;
            }
            taken.Add(pick);
            result[q] = pick;
        }
        return result;
    }
}
