using Mechanist.Sae;
using Mechanist.Numerics;

namespace Mechanist.Tests.Sae;

public class WeightedReservoirTests
{
    static float[] Row(int i) => [i, -i];

    [Fact]
    public void One_draw_is_proportional_to_weight()
    {
        double[] weights = [1, 2, 3, 4, 0];
        var counts = new int[weights.Length];
        var rng = new Rng(5);
        const int Trials = 20_000;
        for (int t = 0; t < Trials; t++)
        {
            var r = new WeightedReservoir(1, 2);
            for (int i = 0; i < weights.Length; i++) r.Offer(Row(i), weights[i], rng);
            counts[(int)r.Result(1)[0]]++;
        }
        for (int i = 0; i < 4; i++) Assert.InRange(counts[i] / (double)Trials, weights[i] / 10 - 0.015, weights[i] / 10 + 0.015);
        Assert.Equal(0, counts[4]);
    }

    [Fact]
    public void Draws_are_without_replacement_in_draw_order_and_weightless_rows_only_fill_up()
    {
        var rng = new Rng(9);
        // Sequential draws without replacement from weights 8, 1, 1: the first is row 0 with probability 0.8.
        int firstIsZero = 0;
        for (int t = 0; t < 5000; t++)
        {
            var r = new WeightedReservoir(2, 2);
            r.Offer(Row(0), 8, rng); r.Offer(Row(1), 1, rng); r.Offer(Row(2), 1, rng);
            var x = r.Result(2);
            Assert.NotEqual(x[0], x[2]);
            if (x[0] == 0) firstIsZero++;
        }
        Assert.InRange(firstIsZero / 5000.0, 0.78, 0.82);

        var fill = new WeightedReservoir(3, 2);
        fill.Offer(Row(1), 0, rng); fill.Offer(Row(2), 5, rng); fill.Offer(Row(3), double.NaN, rng); fill.Offer(Row(4), 0, rng);
        var chosen = fill.Result(3);
        Assert.Equal(2, chosen[0]); // the one positive weight comes first, two of the weightless rows fill the rest
        Assert.Equal(3, new[] { chosen[0], chosen[2], chosen[4] }.Distinct().Count());
        // Fewer rows offered than asked for: they repeat.
        var few = new WeightedReservoir(4, 2);
        few.Offer(Row(7), 1, rng);
        Assert.Equal([7, -7, 7, -7], few.Result(2).ToArray());
    }
}
