using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>
/// The weight-sparse projection against a reference written from its definition (each neuron's top minAlive |w| kept
/// first, then the largest |w| of the rest up to k; every tie to the lower index), on small matrices full of ties.
/// </summary>
public class MagnitudePruningContractTests
{
    static bool[] Reference(float[] w, int rows, int cols, NeuronAxis axis, int k, int minAlive)
    {
        int n = w.Length;
        var kept = new bool[n];
        if (k >= n) { Array.Fill(kept, true); return kept; }
        int forced = 0;
        if (axis != NeuronAxis.None && minAlive > 0)
        {
            int neurons = axis == NeuronAxis.Rows ? rows : cols, fan = axis == NeuronAxis.Rows ? cols : rows;
            for (int neuron = 0; neuron < neurons; neuron++)
            {
                var members = Enumerable.Range(0, fan).Select(t => axis == NeuronAxis.Rows ? neuron * cols + t : t * cols + neuron);
                foreach (int i in members.OrderByDescending(i => MathF.Abs(w[i])).ThenBy(i => i).Take(minAlive)) { kept[i] = true; forced++; }
            }
        }
        foreach (int i in Enumerable.Range(0, n).Where(i => !kept[i]).OrderByDescending(i => MathF.Abs(w[i])).ThenBy(i => i).Take(Math.Max(0, k - forced)))
            kept[i] = true;
        return kept;
    }

    [Fact]
    public void Kept_entries_match_the_definition_on_matrices_full_of_ties()
    {
        var rng = new Random(12);
        for (int trial = 0; trial < 400; trial++)
        {
            int rows = rng.Next(1, 7), cols = rng.Next(1, 7), n = rows * cols;
            var axis = (NeuronAxis)rng.Next(3);
            int k = rng.Next(0, n + 2), minAlive = rng.Next(0, 4);
            var w = Enumerable.Range(0, n).Select(_ => (float)(rng.Next(-3, 4) * (rng.Next(2) == 0 ? 1 : 0.5))).ToArray();
            var expected = Reference(w, rows, cols, axis, k, minAlive);
            var pruned = (float[])w.Clone();
            int count = MagnitudePruning.Keep(pruned, rows, cols, axis, k, minAlive);
            string what = $"trial {trial}: {rows}×{cols} {axis} k {k} minAlive {minAlive} w [{string.Join(", ", w)}]";
            Assert.True(expected.Count(x => x) == count, $"{what}: kept {count}, expected {expected.Count(x => x)}");
            for (int i = 0; i < n; i++)
                Assert.True((expected[i] ? w[i] : 0f) == pruned[i], $"{what}: entry {i} is {pruned[i]}");
        }
    }

    [Fact]
    public void A_shape_that_does_not_match_the_weights_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => MagnitudePruning.Keep(new float[6], 2, 4, NeuronAxis.Rows, 3, 1));
        Assert.Equal("6 weights are not 2×4", e.Message);
    }
}
