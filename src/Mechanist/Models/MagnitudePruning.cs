using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>
/// The projection of weight-sparse training (docs/METHODS.md §6.2): a tensor keeps its k entries of largest |w| and
/// the rest become exactly 0, except that each neuron (a row or a column, <see cref="NeuronAxis"/>) first keeps its
/// own top <c>minAlive</c> entries, so no neuron is cut off. Kept entries = max(k, the neurons' minimum) — more than k
/// only when the minimum alone exceeds it. Ties at the threshold go to the lower index, so the result is a pure
/// function of the weights (a resumed run projects exactly as an uninterrupted one).
/// </summary>
public static class MagnitudePruning
{
    /// <summary>Prunes <paramref name="w"/> (rows × cols, row-major) in place; returns the entries kept.</summary>
    public static int Keep(Span<float> w, int rows, int cols, NeuronAxis axis, int k, int minAlive)
    {
        if ((long)rows * cols != w.Length) throw new ArgumentException($"{w.Length} weights are not {rows}×{cols}");
        int n = w.Length;
        if (k >= n) return n;
        var kept = new bool[n];
        int forced = axis == NeuronAxis.None || minAlive <= 0 ? 0 : KeepNeuronMinimum(w, rows, cols, axis, minAlive, kept);
        int rest = k - forced;
        if (rest > 0)
        {
            var magnitudes = new float[n - forced];
            int m = 0;
            for (int i = 0; i < n; i++) if (!kept[i]) magnitudes[m++] = MathF.Abs(w[i]);
            float threshold = Selection.KthLargest<float>(magnitudes, rest);
            int above = 0;
            for (int i = 0; i < n; i++) if (!kept[i] && MathF.Abs(w[i]) > threshold) above++;
            int ties = rest - above;
            for (int i = 0; i < n; i++)
            {
                if (kept[i]) continue;
                float a = MathF.Abs(w[i]);
                if (a > threshold || (a == threshold && ties-- > 0)) kept[i] = true;
            }
        }
        int count = 0;
        for (int i = 0; i < n; i++)
            if (kept[i]) count++;
            else w[i] = 0;
        return count;
    }

    /// <summary>Marks each neuron's top <paramref name="minAlive"/> |w| (all of a shorter one); returns how many were marked.</summary>
    static int KeepNeuronMinimum(Span<float> w, int rows, int cols, NeuronAxis axis, int minAlive, bool[] kept)
    {
        int neurons = axis == NeuronAxis.Rows ? rows : cols, fan = axis == NeuronAxis.Rows ? cols : rows;
        int keep = Math.Min(minAlive, fan), marked = 0;
        var best = new int[keep];
        for (int neuron = 0; neuron < neurons; neuron++)
        {
            int count = 0;
            for (int t = 0; t < fan; t++)
            {
                int i = axis == NeuronAxis.Rows ? neuron * cols + t : t * cols + neuron;
                float a = MathF.Abs(w[i]);
                // Insertion into the best few so far (keep is 4): strictly larger wins, so ties keep the lower index.
                int pos = count < keep ? count++ : keep;
                while (pos > 0 && MathF.Abs(w[best[pos - 1]]) < a) { if (pos < keep) best[pos] = best[pos - 1]; pos--; }
                if (pos < keep) best[pos] = i;
            }
            for (int j = 0; j < keep; j++) { kept[best[j]] = true; marked++; }
        }
        return marked;
    }
}
