using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class NeuronCorrelationTests
{
    static StoreUnitBatches Open(int batch = 700) =>
        StoreUnitBatches.Open([UniversalFixture.Acts(0), UniversalFixture.Acts(1), UniversalFixture.Acts(2)], 2, null, batch);

    static readonly CorrelationOptions AllBaselines = new()
    {
        Baselines = [CorrelationBaseline.Rotation, CorrelationBaseline.Haar, CorrelationBaseline.Permutation, CorrelationBaseline.Gaussian],
        Seed = 7, MemoryBytes = 1L << 30,
    };

    [Fact]
    public void Best_matches_per_seed_equal_numpy()
    {
        using var data = Open();
        var result = NeuronCorrelation.Correlate(data, new CorrelationOptions { Baselines = [], MemoryBytes = 1L << 30 });
        Assert.Equal(UniversalFixture.Tokens, result.Tokens);
        foreach (int s in new[] { 1, 2 })
        {
            var m = result.For(s, null);
            var max = UniversalFixture.Golden($"max0{s}.npy");
            var arg = UniversalFixture.GoldenIndex($"argmax0{s}.npy");
            for (int i = 0; i < UniversalFixture.Units; i++)
            {
                Assert.Equal(arg[i], m.ArgMax[i]);
                Assert.True(double.IsNaN(max[i]) ? float.IsNaN(m.Max[i]) : Math.Abs(m.Max[i] - max[i]) <= 1e-5, $"seed {s} row {i}: {m.Max[i]} vs {max[i]}");
            }
        }
    }

    [Fact]
    public void Sharded_and_merged_equals_one_run_with_every_baseline()
    {
        RowMaxima[] whole;
        using (var data = Open()) whole = NeuronCorrelation.Correlate(data, AllBaselines).Maxima.ToArray();
        string dir = TestPaths.NewTempDir();
        foreach (int i in new[] { 2, 0, 1 })
            using (var data = Open())
                NeuronCorrelation.WriteShard(data, AllBaselines with { Shard = new ShardSpec(i, 3) }, dir);
        var merged = NeuronCorrelation.Merge(dir);
        Assert.Equal(UniversalFixture.Tokens, merged.Tokens);
        Assert.Equal(whole.Length, merged.Maxima.Count);
        for (int t = 0; t < whole.Length; t++)
            for (int i = 0; i < UniversalFixture.Units; i++)
            {
                Assert.Equal(whole[t].ArgMax[i], merged.Maxima[t].ArgMax[i]);
                Assert.Equal(whole[t].Max[i], merged.Maxima[t].Max[i], 1e-6f); // float32 of float64 sums that differ by rounding
            }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tiles_give_the_one_tile_result_whether_batches_are_kept_or_read_again(bool cached)
    {
        RowMaxima[] whole;
        using (var data = Open(300)) whole = NeuronCorrelation.Correlate(data, AllBaselines).Maxima.ToArray();
        var options = AllBaselines with { TileRows = 5 };
        if (!cached)
            using (var data = Open(300))
            {
                var targets = CorrelationTarget.For(3, options.Baselines);
                var plan = CorrelationPlan.Make(data.Layouts, targets, 300, data.BatchCount, 0, 2 * 4L * 2 * 16 * 16, 1L << 30, 5);
                options = options with { MemoryBytes = plan.FixedBytes + plan.BytesPerRow * 5 + 1000 };
            }
        using (var data = Open(300))
        {
            var tiled = NeuronCorrelation.Correlate(data, options);
            Assert.Equal(7, tiled.Plan.Tiles);
            Assert.Equal(cached, tiled.Plan.CacheBatches);
            Assert.True(tiled.Plan.PlannedBytes <= options.MemoryBytes);
            for (int t = 0; t < whole.Length; t++)
            {
                Assert.Equal(whole[t].ArgMax, tiled.Maxima[t].ArgMax);
                Assert.Equal(whole[t].Max, tiled.Maxima[t].Max);
            }
        }
    }

    [Fact]
    public void A_missing_shard_or_a_shard_of_another_run_is_refused()
    {
        string dir = TestPaths.NewTempDir();
        var options = new CorrelationOptions { Seed = 1, MemoryBytes = 1L << 30 };
        foreach (int i in new[] { 0, 2 })
            using (var data = Open()) NeuronCorrelation.WriteShard(data, options with { Shard = new ShardSpec(i, 3) }, dir);
        var missing = Assert.Throws<UserError>(() => NeuronCorrelation.Merge(dir));
        Assert.Contains("shard 1 of 3 missing", missing.Message);
        using (var data = Open()) NeuronCorrelation.WriteShard(data, options with { Seed = 2, Shard = new ShardSpec(1, 3) }, dir);
        var other = Assert.Throws<UserError>(() => NeuronCorrelation.Merge(dir));
        Assert.Contains("different runs", other.Message);
        Assert.False(File.Exists(Path.Combine(dir, UniversalOutput.CsvFile)));
    }

    [Fact]
    public void Rotations_are_what_they_say()
    {
        var rng = new Mechanist.Numerics.Rng(3);
        int d = 24;
        var haar = RandomRotation.Haar(d, rng);
        var gauss = RandomRotation.GaussianRows(d, rng);
        for (int i = 0; i < d; i++)
        {
            double norm = 0;
            for (int k = 0; k < d; k++) norm += gauss[i * d + k] * gauss[i * d + k];
            Assert.Equal(1, norm, 1e-5);
            for (int j = 0; j < d; j++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += haar[i * d + k] * haar[j * d + k];
                Assert.Equal(i == j ? 1 : 0, dot, 1e-5);
            }
        }
    }
}
