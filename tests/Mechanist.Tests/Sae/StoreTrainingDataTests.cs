using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Numerics;
using Mechanist.Sae;
using static Mechanist.Tests.Sae.NumberedRows;

namespace Mechanist.Tests.Sae;

/// <summary>
/// <see cref="StoreTrainingData"/> on tiny in-memory sources whose row r holds r·16 + j in column j, so every value
/// read names its row: the plan's row counts and its refusals, which rows the sample, the batches, the held-out set
/// and the resampling candidates come from, and the checkpoint round trip. Each test runs in milliseconds.
/// </summary>
public class StoreTrainingDataTests
{
    const int W = 4;

    static RowSource Numbered(int rows, int width = W, ActivationStats? stats = null, string path = "mem/acts.npy")
    {
        var data = new float[rows * width];
        for (int r = 0; r < rows; r++) for (int j = 0; j < width; j++) data[r * width + j] = Value(r, j);
        return new RowSource(data, width, stats, path);
    }

    static SaeTrainingOptions Options(int batch, long holdout = 0, long tokens = 0, ulong seed = 0) =>
        new() { BatchSize = batch, HoldoutRows = holdout, Tokens = tokens, Seed = seed };

    static StoreTrainingData Started(IActivationSource source, SaeTrainingOptions o)
    {
        var data = new StoreTrainingData(source);
        data.Plan(o);
        data.Start(IProgressReporter.None, default);
        return data;
    }

    [Fact]
    public void Plan_holds_out_five_percent_by_default_and_makes_one_pass_when_tokens_is_zero()
    {
        var data = new StoreTrainingData(Numbered(100));
        Assert.Equal(new SaeDataPlan(5, 95, 95), data.Plan(Options(10)));
        Assert.Equal(new SaeDataPlan(5, 95, 500), data.Plan(Options(10, tokens: 500)));
        // Fewer than 20 rows: 5 % rounds to 0, and at least one row is held out.
        Assert.Equal(new SaeDataPlan(1, 18, 18), new StoreTrainingData(Numbered(19)).Plan(Options(4)));
    }

    [Fact]
    public void Plan_takes_an_explicit_holdout_down_to_exactly_one_batch_of_training_rows()
    {
        var data = new StoreTrainingData(Numbered(100));
        Assert.Equal(new SaeDataPlan(30, 70, 70), data.Plan(Options(10, holdout: 30)));
        Assert.Equal(new SaeDataPlan(90, 10, 10), data.Plan(Options(10, holdout: 90)));
        Assert.Equal(new SaeDataPlan(99, 1, 7), data.Plan(Options(1, holdout: 99, tokens: 7)));
    }

    [Fact]
    public void Plan_refuses_a_holdout_of_every_row_and_too_few_training_rows_for_a_batch_naming_the_file()
    {
        var data = new StoreTrainingData(Numbered(100, path: "some/dir/acts.npy"));
        var all = Assert.Throws<UserError>(() => data.Plan(Options(1, holdout: 100)));
        Assert.Equal("--holdout 100: some/dir/acts.npy has only 100 rows, which would leave none for training", all.Message);
        Assert.Contains("--holdout 150: some/dir/acts.npy has only 100 rows", Assert.Throws<UserError>(() => data.Plan(Options(1, holdout: 150))).Message);
        var short_ = Assert.Throws<UserError>(() => data.Plan(Options(10, holdout: 91)));
        Assert.Equal("some/dir/acts.npy: 100 rows leave 9 for training after holding out 91; need at least one batch of 10", short_.Message);
        Assert.Contains("leave 95 for training after holding out 5; need at least one batch of 96",
            Assert.Throws<UserError>(() => data.Plan(Options(96))).Message);
        // A refused plan is no plan.
        Assert.Equal("Plan first", Assert.Throws<InvalidOperationException>(() => data.Start(IProgressReporter.None, default)).Message);
    }

    [Fact]
    public void Plan_reads_a_real_npy_file_and_names_it_in_its_errors()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "x.npy");
        var values = new float[12 * W];
        for (int i = 0; i < values.Length; i++) values[i] = i;
        Npy.Save(path, values, 12, W);
        using var source = ActivationSource.Open(path);
        var data = new StoreTrainingData(source);
        Assert.Same(source, data.Source);
        Assert.Equal(path, data.Description);
        Assert.Equal(W, data.Width);
        Assert.Null(data.MeanSquaredNorm);
        Assert.Null(data.Status());
        Assert.Equal(new SaeDataPlan(2, 10, 10), data.Plan(Options(5, holdout: 2)));
        data.Start(IProgressReporter.None, default);
        var heldOut = data.HeldOut().Single();
        Assert.Equal(values[(10 * W)..], heldOut.ToArray());
        Assert.Contains(path, Assert.Throws<UserError>(() => data.Plan(Options(11, holdout: 2))).Message);
    }

    [Fact]
    public void Mean_squared_norm_is_the_recorded_statistic_when_positive_and_null_otherwise()
    {
        Assert.Null(new StoreTrainingData(Numbered(10)).MeanSquaredNorm);
        Assert.Equal(2.5, new StoreTrainingData(Numbered(10, stats: new ActivationStats(10, 2.5, new float[W]))).MeanSquaredNorm);
        Assert.Null(new StoreTrainingData(Numbered(10, stats: new ActivationStats(10, 0, new float[W]))).MeanSquaredNorm);
    }

    [Fact]
    public void Sample_of_at_least_the_training_rows_is_exactly_those_rows_in_order()
    {
        var data = Started(Numbered(40), Options(4, holdout: 8));
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (long)i), RowsOf(data.Sample(new Rng(1), 32)));
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (long)i), RowsOf(data.Sample(new Rng(1), 1000)));
    }

    [Fact]
    public void Sample_of_fewer_rows_draws_from_the_training_pool_only()
    {
        var data = Started(Numbered(200), Options(4, holdout: 100));
        var rows = RowsOf(data.Sample(new Rng(3), 99));
        Assert.Equal(99, rows.Length);
        Assert.All(rows, r => Assert.InRange(r, 0, 99));
        Assert.Contains(rows, r => r >= 90);                      // reaches the end of the pool ...
        Assert.True(rows.Distinct().Count() > 40);                // ... at random, not in order
        Assert.NotEqual(Enumerable.Range(0, 99).Select(i => (long)i), rows);
        Assert.Equal(rows, RowsOf(data.Sample(new Rng(3), 99)));  // the rng decides
    }

    [Fact]
    public void Batches_are_the_seeded_sampler_over_the_training_pool_one_epoch_without_replacement()
    {
        var o = Options(8, holdout: 8, seed: 42);
        var data = Started(Numbered(40), o);
        var expected = new BatchSampler(32, 8, SplitMix64.Mix(42UL ^ 0x5AE5AE5AE5UL), dropLast: true);
        var indices = new long[8];
        var dst = new float[8 * W];
        var epoch = new List<long>();
        for (int b = 0; b < 8; b++)
        {
            Assert.Equal(8, data.NextBatch(dst));
            Assert.Equal(8, expected.Next(indices));
            var rows = RowsOf(Tensor.FromArray(dst, 8, W));
            Assert.Equal(indices, rows);
            if (b < 4) epoch.AddRange(rows);
        }
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (long)i), epoch.Order());
        // Another seed, another order.
        var other = Started(Numbered(40), o with { Seed = 43 });
        var first = new float[8 * W];
        var dst42 = new float[8 * W];
        Started(Numbered(40), o).NextBatch(dst42);
        other.NextBatch(first);
        Assert.NotEqual(dst42, first);
    }

    [Fact]
    public void An_epoch_drops_its_short_last_batch()
    {
        // 35 training rows, batches of 8: four full batches, then the next epoch (never a batch of 3).
        var data = Started(Numbered(40), Options(8, holdout: 5));
        var dst = new float[8 * W];
        var seen = new List<long>();
        for (int b = 0; b < 6; b++)
        {
            Assert.Equal(8, data.NextBatch(dst));
            var rows = RowsOf(Tensor.FromArray(dst, 8, W));
            Assert.All(rows, r => Assert.InRange(r, 0, 34));
            if (b < 4) seen.AddRange(rows);
        }
        Assert.Equal(32, seen.Distinct().Count());
    }

    [Fact]
    public void Held_out_rows_are_exactly_the_last_rows_in_order()
    {
        var data = Started(Numbered(50), Options(4, holdout: 7));
        Assert.Equal(Enumerable.Range(43, 7).Select(i => (long)i), data.HeldOut().SelectMany(RowsOf));
        var byDefault = Started(Numbered(60), Options(4));
        Assert.Equal([57L, 58, 59], byDefault.HeldOut().SelectMany(RowsOf));
    }

    /// <summary>
    /// An SAE whose latents never fire and whose b_dec is <paramref name="bDec"/>: it reconstructs every input as b_dec,
    /// so its loss is zero exactly on rows equal to b_dec.
    /// </summary>
    internal static SparseAutoencoder ConstantSae(float[] bDec, int latents = 8)
    {
        var sae = new SparseAutoencoder(SaeArchitecture.Relu, bDec.Length, latents);
        sae.BEnc.Value.Fill(-1e6f);
        bDec.CopyTo(sae.BDec.Value.Span);
        return sae;
    }

    [Fact]
    public void Resampling_picks_scaled_high_loss_training_rows_never_held_out_ones()
    {
        // 30 rows: training rows 0..19, of which the even ones are (1, 1, 1, 1) and the odd ones distinct; held out:
        // rows 20..29, much louder still. At scale 2 the SAE reconstructs (2, 2, 2, 2): the even rows cost nothing.
        const float Scale = 2;
        var values = new float[30 * W];
        for (int r = 0; r < 30; r++)
            for (int j = 0; j < W; j++) values[r * W + j] = r >= 20 ? -1000 * r - j : r % 2 == 0 ? 1 : r * 16 + j;
        var source = new RowSource(values, W, null, "mem");
        var data = Started(source, Options(4, holdout: 10));
        var sae = ConstantSae([2, 2, 2, 2]);
        source.Reads.Clear();
        var picked = data.ResampleInputs([(sae, 3), (sae, 2)], Scale, new Rng(5), candidates: 1000);
        Assert.Equal([3, 2], picked.Select(t => t.RowCount));
        foreach (var t in picked)
            for (int i = 0; i < t.RowCount; i++)
            {
                long r = (long)(t.Row(i)[0] / Scale) / 16;
                Assert.True(r % 2 == 1 && r < 20, $"picked row {r}");
                for (int j = 0; j < W; j++) Assert.Equal(Scale * (r * 16 + j), t.Row(i)[j]);
            }
        // Candidates: min(1000, 20 training rows) per request, then the picked rows; all from the training pool.
        Assert.Equal(20 + 3 + 20 + 2, source.Reads.Count);
        Assert.All(source.Reads, r => Assert.InRange(r, 0, 19));
    }

    /// <summary>
    /// Candidates are scored at the training scale: the SAE reconstructs (1, 1, 1, 1); row 0 is that exactly (loss 0
    /// unscaled) and row 1 is half of it (loss 0 at scale 2). At scale 2 only row 0 has any loss, so it is the pick.
    /// </summary>
    [Fact]
    public void Resampling_scores_the_candidates_at_the_training_scale()
    {
        var values = new float[30 * W];
        for (int r = 0; r < 30; r++) for (int j = 0; j < W; j++) values[r * W + j] = r % 2 == 0 ? 1 : 0.5f;
        var data = Started(new RowSource(values, W, null, "mem"), Options(4, holdout: 10));
        var picked = data.ResampleInputs([(ConstantSae([1, 1, 1, 1]), 1)], 2, new Rng(3), candidates: 1000);
        Assert.Equal([2f, 2, 2, 2], picked[0].ToArray());
    }

    /// <summary>
    /// The draw weights are squared losses: 1,000 training rows, 10 of them loud (loss ratio 10⁶, weight ratio 10¹²),
    /// so about 10 loud candidates among 990 quiet ones (min(candidates, rows) drawn with replacement): a loud row is
    /// picked every time; weighting by anything flatter would mostly pick a quiet one.
    /// </summary>
    [Fact]
    public void Resampling_weights_candidates_by_their_squared_loss()
    {
        var values = new float[1010 * W];
        for (int r = 0; r < 1010; r++) for (int j = 0; j < W; j++) values[r * W + j] = r % 100 == 37 ? 1000 : 1;
        var data = Started(new RowSource(values, W, null, "mem"), Options(4, holdout: 10));
        var rng = new Rng(2);
        for (int t = 0; t < 20; t++)
            Assert.Equal([1000f, 1000, 1000, 1000], data.ResampleInputs([(ConstantSae(new float[W]), 1)], 1, rng, candidates: 5000)[0].ToArray());
    }

    [Fact]
    public void Resampling_reads_only_as_many_candidates_as_asked_when_fewer_than_the_training_rows()
    {
        var source = Numbered(60);
        var data = Started(source, Options(4, holdout: 10));
        source.Reads.Clear();
        var picked = data.ResampleInputs([(ConstantSae(new float[W]), 2)], 0.5f, new Rng(8), candidates: 5);
        Assert.Equal(5 + 2, source.Reads.Count);
        var candidates = source.Reads.Take(5).ToArray();
        for (int i = 0; i < 2; i++)
        {
            long r = (long)(picked[0].Row(i)[0] / 0.5f) / 16;
            Assert.Contains(r, candidates);
            for (int j = 0; j < W; j++) Assert.Equal(0.5f * Value(r, j), picked[0].Row(i)[j]);
        }
    }

    [Fact]
    public void Resampling_scores_candidates_beyond_the_first_chunk()
    {
        // 20,000 training rows, so 20,000 candidates (scored in two chunks of at most 16,384); only every 100th row has
        // any loss, so a candidate scored with another candidate's loss would almost surely be a silent row.
        var values = new float[20_010 * W];
        for (int r = 0; r < 20_000; r += 100) for (int j = 0; j < W; j++) values[r * W + j] = r + j + 1;
        for (int r = 20_000; r < 20_010; r++) for (int j = 0; j < W; j++) values[r * W + j] = 1e6f;
        var source = new RowSource(values, W, null, "mem");
        var data = Started(source, Options(4, holdout: 10));
        source.Reads.Clear();
        var picked = data.ResampleInputs([(ConstantSae(new float[W]), 8)], 3, new Rng(1), candidates: 1_000_000);
        Assert.Equal(20_000 + 8, source.Reads.Count);
        Assert.Contains(source.Reads.Take(20_000), r => r >= 16_384 && r % 100 == 0);
        for (int i = 0; i < 8; i++)
        {
            long r = (long)(picked[0].Row(i)[0] / 3) - 1;
            Assert.True(r % 100 == 0 && r < 20_000, $"picked row {r}");
            for (int j = 0; j < W; j++) Assert.Equal(3f * (r + j + 1), picked[0].Row(i)[j]);
        }
    }

    static JsonObject Checkpoint(StoreTrainingData data)
    {
        var json = new JsonObject { ["d_in"] = data.Width };
        data.SaveState(json);
        return json;
    }

    static float[][] Batches(StoreTrainingData data, int count, int batch)
    {
        var result = new float[count][];
        for (int b = 0; b < count; b++) { result[b] = new float[batch * data.Width]; data.NextBatch(result[b]); }
        return result;
    }

    [Fact]
    public void A_checkpoint_continues_the_same_batch_sequence()
    {
        var o = Options(6, holdout: 4, seed: 9);
        var a = Started(Numbered(40), o);
        Batches(a, 7, 6); // into the second epoch of 6 batches
        var json = Checkpoint(a);
        Assert.Equal("store", (string?)json["data"]);
        Assert.Equal(40L, (long)json["source_rows"]!);
        Assert.Equal(1L, (long)json["sampler"]!["epoch"]!);
        var expected = Batches(a, 8, 6);

        var b = Started(Numbered(40), o);
        b.RestoreState(JsonNode.Parse(json.ToJsonString())!.AsObject(), "ckpt/state.json", IProgressReporter.None, default);
        Assert.Equal(expected, Batches(b, 8, 6));

        // A checkpoint from before the data kind was recorded has no "data": still a store's.
        json.Remove("data");
        var c = Started(Numbered(40), o);
        c.RestoreState(json, "ckpt/state.json", IProgressReporter.None, default);
        Assert.Equal(expected[0], Batches(c, 1, 6)[0]);
    }

    [Fact]
    public void A_checkpoint_of_other_rows_or_width_or_of_a_stream_is_refused_naming_the_path()
    {
        var o = Options(6, holdout: 4);
        var json = Checkpoint(Started(Numbered(40), o));
        var data = Started(Numbered(40, path: "here/acts.npy"), o);

        var rows = (JsonObject)json.DeepClone(); rows["source_rows"] = 41;
        Assert.Equal("ckpt/state.json: the checkpoint was made on 41 rows of width 4; here/acts.npy has 40 × 4",
            Assert.Throws<UserError>(() => data.RestoreState(rows, "ckpt/state.json", IProgressReporter.None, default)).Message);
        var width = (JsonObject)json.DeepClone(); width["d_in"] = 5;
        Assert.Equal("ckpt/state.json: the checkpoint was made on 40 rows of width 5; here/acts.npy has 40 × 4",
            Assert.Throws<UserError>(() => data.RestoreState(width, "ckpt/state.json", IProgressReporter.None, default)).Message);
        var stream = (JsonObject)json.DeepClone(); stream["data"] = "stream";
        var e = Assert.Throws<UserError>(() => data.RestoreState(stream, "ckpt/state.json", IProgressReporter.None, default));
        Assert.StartsWith("ckpt/state.json: the checkpoint was trained on rows streamed from a model", e.Message);
        Assert.Contains("--acts", e.Message);
        var other = (JsonObject)json.DeepClone(); other["data"] = "tape";
        Assert.Equal("ckpt/state.json: data: \"tape\": expected \"store\" or \"stream\"",
            Assert.Throws<DataFormatError>(() => data.RestoreState(other, "ckpt/state.json", IProgressReporter.None, default)).Message);
        var noSampler = (JsonObject)json.DeepClone(); noSampler.Remove("sampler");
        Assert.Equal("ckpt/state.json: sampler: missing", Assert.Throws<DataFormatError>(() => data.RestoreState(noSampler, "ckpt/state.json", IProgressReporter.None, default)).Message);
    }

    /// <summary>An in-memory activation source that logs every row it reads (the single-row reads the default gather makes).</summary>
    internal sealed class RowSource(float[] data, int width, ActivationStats? stats, string path) : IActivationSource
    {
        public List<long> Reads { get; } = [];
        public string Path => path;
        public long RowCount => data.Length / width;
        public int Width => width;
        public DType StoredDType => DType.F32;
        public ActivationStats? Stats => stats;

        public void ReadRows(long start, int count, Span<float> dst)
        {
            if (start < 0 || start + count > RowCount) throw new ArgumentOutOfRangeException(nameof(start));
            for (int i = 0; i < count; i++) Reads.Add(start + i);
            data.AsSpan((int)start * width, count * width).CopyTo(dst);
        }

        public void Dispose() { }
    }
}
