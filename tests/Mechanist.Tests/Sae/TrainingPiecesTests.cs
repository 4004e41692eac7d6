using Mechanist.Autograd.Optimizers;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The small parts the SAE trainer is built from, at their edges and with exact values: the held-out row count, the
/// geometric median (its start, its stopping rule), the weighted reservoir's argument checks and ordering, and dead-latent
/// resampling's draw and reset (complementing <see cref="WeightedReservoirTests"/> and <see cref="SaeModelTests"/>).
/// </summary>
public class TrainingPiecesTests
{
    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(19, 0, 1)]
    [InlineData(20, 0, 1)]
    [InlineData(40, 0, 2)]
    [InlineData(59, 0, 2)]
    [InlineData(100, 0, 5)]
    [InlineData(1_310_700, 0, 65_535)]
    [InlineData(1_310_720, 0, 65_536)]
    [InlineData(1_310_740, 0, 65_536)]
    [InlineData(1_000_000_000, 0, 65_536)]
    [InlineData(100, 7, 7)]
    [InlineData(100, 1, 1)]
    [InlineData(10, 500, 500)]
    [InlineData(100, -3, 5)]
    public void Held_out_rows_are_the_request_else_five_percent_clamped_to_one_and_65536(long rows, long requested, long expected)
    {
        Assert.Equal(expected, HeldOutRows.Of(rows, requested));
        if (requested == 0) Assert.Equal(expected, HeldOutRows.Of(rows));
        Assert.Equal(65_536, HeldOutRows.Max);
    }

    static Tensor Points(params float[][] rows)
    {
        var t = new Tensor(rows.Length, rows[0].Length);
        for (int i = 0; i < rows.Length; i++) rows[i].CopyTo(t.Row(i));
        return t;
    }

    [Fact]
    public void Geometric_median_of_no_points_is_zero_and_of_one_point_is_that_point()
    {
        Assert.Equal(new float[3], GeometricMedian.Compute(new Tensor(0, 3)));
        Assert.Equal([1.5f, -2, 7], GeometricMedian.Compute(Points([1.5f, -2, 7])));
        Assert.Equal([1.5f, -2, 7], GeometricMedian.Compute(Points([1.5f, -2, 7], [1.5f, -2, 7], [1.5f, -2, 7])));
    }

    [Fact]
    public void Geometric_median_of_collinear_points_is_the_middle_one_and_of_a_symmetric_set_its_centre()
    {
        // 0, 1, 10 on a line (mean 11/3): the median is the middle point.
        var line = GeometricMedian.Compute(Points([0, 5], [1, 5], [10, 5]));
        Assert.Equal(1, line[0], 1e-3);
        Assert.Equal(5, line[1], 1e-6);
        // A square's corners and one far point on each side cancel: the centre, already the mean.
        var square = GeometricMedian.Compute(Points([1, 1], [1, -1], [-1, 1], [-1, -1], [100, 0], [-100, 0]));
        Assert.Equal([0f, 0], square);
        // A triangle with an angle over 120° at (0, 0): that vertex (the mean is (0, 1/3)).
        var tri = GeometricMedian.Compute(Points([0, 0], [10, 0], [-10, 1]), maxIterations: 1000, tolerance: 1e-12);
        Assert.Equal(0, tri[0], 1e-3);
        Assert.Equal(0, tri[1], 1e-3);
    }

    [Fact]
    public void Geometric_median_starts_from_the_mean_and_takes_Weiszfeld_steps()
    {
        var pts = Points([0, 5], [1, 5], [10, 5]);
        Assert.Equal([11f / 3, 5], GeometricMedian.Compute(pts, maxIterations: 0));
        // One step: the points weighted by 1 / distance to the mean.
        double m = 11.0 / 3, w0 = 1 / m, w1 = 1 / (m - 1), w2 = 1 / (10 - m);
        var one = GeometricMedian.Compute(pts, maxIterations: 1);
        Assert.Equal((float)((w1 * 1 + w2 * 10) / (w0 + w1 + w2)), one[0]);
        Assert.Equal(5f, one[1]);
        // A tolerance this large stops after the first step.
        Assert.Equal(one, GeometricMedian.Compute(pts, maxIterations: 100, tolerance: 10));
    }

    [Fact]
    public void Geometric_median_stops_at_the_first_step_that_moves_less_than_tolerance_times_its_size()
    {
        // Far from the origin the tolerance is relative to ‖y‖ (here about 1,000), not absolute.
        var pts = Points([1000, 1000], [1001, 1000], [1010, 1000]);
        // x moves 1.24, 0.80, 0.43, 0.16, 0.030, 0.00098, ... towards 1001 (worked out in float64 beside this test).
        var steps = Enumerable.Range(0, 8).Select(k => GeometricMedian.Compute(pts, maxIterations: k, tolerance: 0)).ToArray();
        for (int k = 1; k < 7; k++) Assert.NotEqual(steps[k - 1][0], steps[k][0]);
        Assert.Equal(steps[3], GeometricMedian.Compute(pts, tolerance: 5e-4)); // 0.43 ≤ 5e-4 × 1415 < 0.80
        Assert.Equal(steps[5], GeometricMedian.Compute(pts, tolerance: 1e-4)); // 0.030 ≤ 0.14 < 0.16
        Assert.Equal(1001, steps[7][0], 1e-3);
    }

    static float[] Row(int i) => [i, -i];

    [Fact]
    public void Reservoir_checks_its_arguments()
    {
        Assert.Equal("capacity", Assert.Throws<ArgumentOutOfRangeException>(() => new WeightedReservoir(0, 2)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new WeightedReservoir(1, 0)).ParamName);
        var r = new WeightedReservoir(1, 1);
        Assert.Equal(1, r.Capacity);
        Assert.Equal(1, r.Width);
        Assert.Equal("no rows were offered", Assert.Throws<InvalidOperationException>(() => r.Result(1)).Message);
        var two = new WeightedReservoir(3, 2);
        Assert.Equal("row of 3 values, width is 2", Assert.Throws<ArgumentException>(() => two.Offer([1, 2, 3], 1, new Rng(1))).Message);
        Assert.Equal(0, two.Offered);
    }

    [Fact]
    public void Reservoir_counts_every_row_offered_and_keeps_the_heaviest()
    {
        var rng = new Rng(3);
        var r = new WeightedReservoir(2, 2);
        double[] weights = [1, 1e-300, 1e300, 1, 1e250, 0];
        for (int i = 0; i < weights.Length; i++) r.Offer(Row(i), weights[i], rng);
        Assert.Equal(6, r.Offered);
        Assert.Equal([2f, -2, 4, -4], r.Result(2).ToArray());
    }

    [Fact]
    public void Reservoir_ranks_infinite_and_negative_weights_with_the_weightless_rows()
    {
        var rng = new Rng(4);
        for (int t = 0; t < 20; t++)
        {
            var r = new WeightedReservoir(1, 2);
            r.Offer(Row(1), double.PositiveInfinity, rng);
            r.Offer(Row(2), 1e-200, rng);
            r.Offer(Row(3), -5, rng);
            Assert.Equal([2f, -2], r.Result(1).ToArray());
        }
    }

    /// <summary>A weight of exactly 0 is weightless: it ranks with a negative weight by its uniform draw alone.</summary>
    [Fact]
    public void Reservoir_ranks_a_zero_weight_with_the_negative_ones()
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var draws = new Rng(seed);
            double u0 = draws.NextDouble(), u1 = draws.NextDouble();
            var r = new WeightedReservoir(1, 2);
            var rng = new Rng(seed);
            r.Offer(Row(1), 0, rng);
            r.Offer(Row(2), -3, rng);
            Assert.Equal(u1 > u0 ? [2f, -2] : [1f, -1], r.Result(1).ToArray());
        }
    }

    [Fact]
    public void Reservoir_result_of_wide_rows_has_exactly_the_rows_asked_for()
    {
        var r = new WeightedReservoir(2, 64);
        var rng = new Rng(1);
        r.Offer(Enumerable.Repeat(1f, 64).ToArray(), 1, rng);
        r.Offer(Enumerable.Repeat(2f, 64).ToArray(), 1e-30, rng);
        var result = r.Result(3);
        Assert.Equal([3, 64], result.Shape);
        Assert.Equal(Enumerable.Repeat(1f, 64), result.Row(2).ToArray());
    }

    [Fact]
    public void Reservoir_result_larger_than_the_rows_offered_repeats_them_in_key_order()
    {
        var r = new WeightedReservoir(5, 2);
        var rng = new Rng(6);
        r.Offer(Row(1), 1e-200, rng); r.Offer(Row(2), 1e200, rng); r.Offer(Row(3), 1, rng);
        Assert.Equal([2f, -2, 3, -3, 1, -1, 2, -2, 3, -3, 1, -1, 2, -2], r.Result(7).ToArray());
        Assert.Equal([2f, -2], r.Result(1).ToArray());
    }

    [Fact]
    public void Sampling_gives_distinct_indices_while_enough_weights_are_positive()
    {
        var rng = new Rng(7);
        for (int t = 0; t < 50; t++)
            Assert.Equal([0, 1, 2, 3, 4], DeadLatentResampler.Sample([1, 1, 1, 1, 1], 5, rng).Order());
        Assert.Empty(DeadLatentResampler.Sample([1, 2], 0, rng));
    }

    [Fact]
    public void Sampling_repeats_only_positive_weights_once_they_are_used_up()
    {
        var rng = new Rng(8);
        for (int t = 0; t < 50; t++)
        {
            var s = DeadLatentResampler.Sample([0, 3, 0, 5, 0], 4, rng);
            Assert.Equal([1, 3], s[..2].Order());
            Assert.All(s[2..], i => Assert.Contains(i, new[] { 1, 3 }));
        }
        // A taken index is redrawn at most 64 times: here the only other one has a 10⁻¹² chance, so the second pick
        // repeats index 0 after 64 draws.
        var capped = new Rng(3);
        Assert.Equal([0, 0], DeadLatentResampler.Sample([1e12, 1], 2, capped));
        var draws = new Rng(3);
        for (int i = 0; i < 1 + 64; i++) draws.NextDouble();
        Assert.Equal(draws.Position, capped.Position);
        // Once every positive weight is taken, a pick is one draw (no futile redraws for an unused index).
        var one = new Rng(12);
        Assert.Equal([1, 1, 1], DeadLatentResampler.Sample([0, 1], 3, one));
        var reference = new Rng(12);
        for (int i = 0; i < 3; i++) reference.NextDouble();
        Assert.Equal(reference.Position, one.Position);
    }

    [Fact]
    public void Sampling_treats_nan_infinite_and_negative_weights_as_zero()
    {
        var rng = new Rng(9);
        for (int t = 0; t < 20; t++)
            Assert.Equal([3, 3, 3], DeadLatentResampler.Sample([double.NaN, -5, double.PositiveInfinity, 2, double.NegativeInfinity], 3, rng));
    }

    [Fact]
    public void Sampling_with_no_positive_weight_is_uniform_over_all_indices()
    {
        var rng = new Rng(10);
        var s = DeadLatentResampler.Sample([0, 0, double.NaN, -1], 4000, rng);
        var counts = new int[4];
        foreach (int i in s) counts[i]++;
        Assert.All(counts, c => Assert.InRange(c, 880, 1120));
    }

    [Fact]
    public void Sampling_is_proportional_to_weight_and_never_picks_a_zero_weight()
    {
        var rng = new Rng(11);
        var counts = new int[5];
        for (int t = 0; t < 8000; t++) counts[DeadLatentResampler.Sample([0, 1, 0, 3, 0], 1, rng)[0]]++;
        Assert.Equal(0, counts[0] + counts[2] + counts[4]);
        Assert.InRange(counts[3] / 8000.0, 0.73, 0.77);
    }

    /// <summary>A relu SAE (d_in 4) with encoder row i = (norms[i], 0, 0, 0), decoder rows and biases all 0.5, and Adam state everywhere.</summary>
    static (SparseAutoencoder, Adam) Sae(params float[] norms)
    {
        var sae = new SparseAutoencoder(SaeArchitecture.Relu, 4, norms.Length);
        var adam = new Adam(sae.Parameters);
        foreach (var p in sae.Parameters) p.Grad.Fill(0.5f);
        adam.Step();
        sae.WEnc.Value.Clear();
        for (int i = 0; i < norms.Length; i++) sae.WEnc.Value.Row(i)[0] = norms[i];
        sae.WDec.Value.Fill(0.5f); sae.BEnc.Value.Fill(0.5f); sae.BDec.Value.Fill(0.5f);
        return (sae, adam);
    }

    [Fact]
    public void Apply_sets_dead_rows_from_unit_inputs_scaled_by_the_alive_encoder_norm_and_resets_only_their_adam_state()
    {
        // Alive latents 0, 2, 3, 5 have encoder norms 1, 2, 3, 6 (mean 3); dead ones 1 and 4 have norm 100, which must not count.
        var (sae, adam) = Sae(1, 100, 2, 3, 100, 6);
        var wDecBefore = sae.WDec.Value.ToArray(); var wEncBefore = sae.WEnc.Value.ToArray();
        var picked = Points([3, 0, 4, 0], [0, 0, 0, 0]);
        int[] dead = [4, 1];
        DeadLatentResampler.Apply(sae, adam, dead, picked);
        Assert.Equal([0.6f, 0, 0.8f, 0], sae.WDec.Value.Row(4).ToArray());
        float e = 0.2f * 3;
        Assert.Equal([0.6f * e, 0, 0.8f * e, 0], sae.WEnc.Value.Row(4).ToArray());
        // A zero input gives zero rows (no division by zero).
        Assert.Equal(new float[4], sae.WDec.Value.Row(1).ToArray());
        Assert.Equal(new float[4], sae.WEnc.Value.Row(1).ToArray());
        Assert.Equal([0.5f, 0, 0.5f, 0.5f, 0, 0.5f], sae.BEnc.Value.ToArray());
        Assert.Equal([0.5f, 0.5f, 0.5f, 0.5f], sae.BDec.Value.ToArray());
        foreach (int i in new[] { 0, 2, 3, 5 })
        {
            Assert.Equal(wDecBefore.AsSpan(i * 4, 4).ToArray(), sae.WDec.Value.Row(i).ToArray());
            Assert.Equal(wEncBefore.AsSpan(i * 4, 4).ToArray(), sae.WEnc.Value.Row(i).ToArray());
        }
        foreach (var p in new[] { sae.WDec, sae.WEnc })
        {
            var s = adam.StateOf(p);
            for (int i = 0; i < 6; i++)
            {
                bool reset = i is 1 or 4;
                Assert.Equal(reset, s.M.Row(i).ToArray().All(v => v == 0));
                Assert.Equal(reset, s.V.Row(i).ToArray().All(v => v == 0));
            }
        }
        var b = adam.StateOf(sae.BEnc);
        for (int i = 0; i < 6; i++) { Assert.Equal(i is 1 or 4, b.M[i] == 0); Assert.Equal(i is 1 or 4, b.V[i] == 0); }
        Assert.All(adam.StateOf(sae.BDec).M.ToArray(), v => Assert.NotEqual(0f, v));
    }

    [Fact]
    public void Apply_with_every_latent_dead_scales_the_encoder_by_one_fifth()
    {
        var (sae, adam) = Sae(7, 9);
        DeadLatentResampler.Apply(sae, adam, [0, 1], Points([0, 3, 0, 4], [-2, 0, 0, 0]));
        Assert.Equal([0, 0.6f, 0, 0.8f], sae.WDec.Value.Row(0).ToArray());
        Assert.Equal([0, 0.2f * 0.6f, 0, 0.2f * 0.8f], sae.WEnc.Value.Row(0).ToArray());
        Assert.Equal([-0.2f, 0, 0, 0], sae.WEnc.Value.Row(1).ToArray());
        Assert.Equal(0.2f, DeadLatentResampler.EncoderScale);
    }

    [Fact]
    public void Resample_with_no_dead_latents_changes_nothing_and_squared_losses_are_exact()
    {
        var (sae, adam) = Sae(1, 2);
        var before = sae.Parameters.Select(p => p.Value.ToArray()).ToArray();
        Assert.Empty(DeadLatentResampler.Resample(sae, adam, [], Points([1, 2, 3, 4]), new Rng(1)));
        Assert.Equal(before, sae.Parameters.Select(p => p.Value.ToArray()).ToArray());
        var off = StoreTrainingDataTests.ConstantSae([1, 0, -1, 2]);
        Assert.Equal([9.0, 0, 9], DeadLatentResampler.SquaredLosses(off, Points([1, 1, 1, 0], [1, 0, -1, 2], [1, 0, 2, 2])));
    }
}
