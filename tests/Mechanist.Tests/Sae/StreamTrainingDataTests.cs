using System.Text.Json.Nodes;
using Mechanist.Numerics;
using Mechanist.Sae;
using static Mechanist.Tests.Sae.NumberedRows;

namespace Mechanist.Tests.Sae;

/// <summary>
/// <see cref="StreamTrainingData"/> over rows handed in as chunks (no model): row r holds r·16 + j in column j, so
/// every value read names its row. The plan, the held-out rows taken first, the batches and resampling candidates
/// taken in stream order, the row accounting, and the checkpoint replay. Each test runs in milliseconds.
/// </summary>
public class StreamTrainingDataTests
{
    const int W = 4;

    static long[] Range(long start, int count) => Enumerable.Range(0, count).Select(i => start + i).ToArray();

    /// <summary>Rows 0..rows-1 (numbered, or from <paramref name="values"/>) in chunks of 7 rows.</summary>
    static IEnumerable<ReadOnlyMemory<float>> Chunks(int rows, int width = W, float[]? values = null, Action? disposed = null)
    {
        try
        {
            for (int s = 0; s < rows; s += 7)
            {
                int n = Math.Min(7, rows - s);
                var chunk = new float[n * width];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < width; j++) chunk[i * width + j] = values?[(s + i) * width + j] ?? Value(s + i, j);
                yield return chunk;
            }
        }
        finally { disposed?.Invoke(); }
    }

    static SaeTrainingOptions Options(int batch, long tokens, long holdout = 0) => new() { BatchSize = batch, Tokens = tokens, HoldoutRows = holdout };

    static StreamTrainingData Started(SaeTrainingOptions o, int rows = 1000, int shuffle = 0, ulong seed = 1, string description = "rows", IProgressReporter? progress = null)
    {
        var data = new StreamTrainingData(Chunks(rows), W, shuffle, seed, description);
        data.Plan(o);
        data.Start(progress ?? IProgressReporter.None, default);
        return data;
    }

    [Fact]
    public void Plan_needs_tokens_and_trains_on_whole_batches_after_the_default_holdout()
    {
        var data = new StreamTrainingData(Chunks(10), W, 0, 1, "rows");
        Assert.StartsWith("--tokens:", Assert.Throws<UserError>(() => data.Plan(Options(8, 0))).Message);
        Assert.Equal(new SaeDataPlan(5, 104, 100), data.Plan(Options(8, 100)));  // ⌈100 / 8⌉ = 13 steps
        Assert.Equal(new SaeDataPlan(4, 96, 96), data.Plan(Options(8, 96)));     // exactly 12 steps
        Assert.Equal(new SaeDataPlan(4, 104, 97), data.Plan(Options(8, 97)));
        Assert.Equal(new SaeDataPlan(1, 8, 1), data.Plan(Options(8, 1)));
        Assert.Equal(new SaeDataPlan(7, 104, 100), data.Plan(Options(8, 100, holdout: 7)));
    }

    [Fact]
    public void Plan_refuses_a_holdout_too_large_to_hold_in_memory()
    {
        var data = new StreamTrainingData(Chunks(10), W, 0, 1, "rows");
        long most = int.MaxValue / W;
        Assert.Equal(most, data.Plan(Options(8, 100, holdout: most)).HoldoutRows);
        Assert.Equal($"--holdout {most + 1}: too many rows to hold in memory at width {W}",
            Assert.Throws<UserError>(() => data.Plan(Options(8, 100, holdout: most + 1))).Message);
    }

    [Fact]
    public void The_constructor_refuses_a_width_below_one_and_nothing_is_known_before_start()
    {
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => new StreamTrainingData(Chunks(1), 0, 0, 1, "rows")).ParamName);
        var data = new StreamTrainingData(Chunks(10, width: 1), 1, 0, 1, "some rows");
        Assert.Equal(1, data.Width);
        Assert.Equal("some rows", data.Description);
        Assert.Null(data.Context);
        Assert.Null(data.MeanSquaredNorm);
        Assert.Null(data.Status());
        Assert.Equal(0, data.RowsRead);
        Assert.Equal("Plan first", Assert.Throws<InvalidOperationException>(() => data.Start(IProgressReporter.None, default)).Message);
        Assert.Equal("Start first", Assert.Throws<InvalidOperationException>(() => data.ShuffleRows).Message);
        Assert.Equal("Start first", Assert.Throws<InvalidOperationException>(() => data.Sample(new Rng(1), 1)).Message);
        Assert.Equal("Start first", Assert.Throws<InvalidOperationException>(() => data.HeldOut().ToList()).Message);
    }

    [Fact]
    public void Start_holds_out_the_first_rows_and_their_mean_squared_norm()
    {
        var data = Started(Options(8, 100, holdout: 6), shuffle: 0);
        Assert.Equal(6, data.RowsRead);
        Assert.Equal(0, data.ShuffleRows);
        Assert.Equal(Range(0, 6), data.HeldOut().SelectMany(RowsOf));
        double expected = Enumerable.Range(0, 6).Average(r => Enumerable.Range(0, W).Sum(j => (double)Value(r, j) * Value(r, j)));
        Assert.Equal(expected, data.MeanSquaredNorm!.Value, 1e-9);
        Assert.Equal("6 rows read, ", data.Status()![..13]);
        Assert.EndsWith("% of the time", data.Status());
    }

    [Fact]
    public void Start_streams_a_large_holdout_in_chunks_and_reports_its_progress()
    {
        var progress = new ProgressRecorder();
        var data = Started(Options(8, 100, holdout: 20_000), rows: 20_100, progress: progress);
        Assert.Matches(@"^streaming 20.000 held-out rows 20000 tok$", progress.Starts.Single());
        Assert.Equal(20_000, progress.Advanced);
        Assert.Equal(["16.4k rows read", "20.0k rows read"], progress.Statuses);
        Assert.Equal([16_384, 3_616], data.HeldOut().Select(t => t.RowCount));
        Assert.Equal(Range(0, 20_000), data.HeldOut().SelectMany(RowsOf));
        double sum = 0;
        for (int r = 0; r < 20_000; r++) for (int j = 0; j < W; j++) sum += (double)Value(r, j) * Value(r, j);
        Assert.Equal(sum / 20_000, data.MeanSquaredNorm!.Value, 1e-6 * sum / 20_000);
    }

    [Fact]
    public void Sample_is_a_copy_of_the_first_held_out_rows()
    {
        var data = Started(Options(8, 100, holdout: 6));
        var sample = data.Sample(new Rng(1), 4);
        Assert.Equal(Range(0, 4), RowsOf(sample));
        sample.Fill(-1);
        Assert.Equal(Range(0, 6), RowsOf(data.Sample(new Rng(2), 50)));
        Assert.Equal(Range(0, 6), data.HeldOut().SelectMany(RowsOf));
    }

    [Fact]
    public void Batches_are_the_next_rows_in_stream_order()
    {
        var data = Started(Options(8, 100, holdout: 6));
        var dst = new float[8 * W];
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(8, data.NextBatch(dst));
            Assert.Equal(Range(6 + 8 * b, 8), RowsOf(Tensor.FromArray(dst, 8, W)));
            Assert.Equal(6 + 8 * (b + 1), data.RowsRead);
        }
        // A larger buffer is filled only up to one batch.
        var big = new float[10 * W];
        big.AsSpan().Fill(-1);
        Assert.Equal(8, data.NextBatch(big));
        Assert.Equal(Range(30, 8), RowsOf(Tensor.FromArray(big[..(8 * W)], 8, W)));
        Assert.All(big[(8 * W)..], v => Assert.Equal(-1, v));
    }

    [Fact]
    public void Resampling_consumes_exactly_the_candidates_and_keeps_the_scaled_high_loss_rows()
    {
        // Every row is (1, 1, 1, 1) but stream rows 9 and 12, which the SAE (reconstructing 3 × (1, 1, 1, 1)) cannot.
        var values = new float[100 * W];
        values.AsSpan().Fill(1);
        for (int j = 0; j < W; j++) { values[9 * W + j] = 10 + j; values[12 * W + j] = -20 - j; }
        var data = new StreamTrainingData(Chunks(100, values: values), W, 0, 1, "rows");
        data.Plan(Options(4, 40, holdout: 5));
        data.Start(IProgressReporter.None, default);
        var sae = StoreTrainingDataTests.ConstantSae([3, 3, 3, 3]);
        var rng = new Rng(4);
        var picked = data.ResampleInputs([(sae, 2), (sae, 1)], 3, rng, candidates: 10); // stream rows 5..14
        Assert.Equal(15, data.RowsRead);
        var reference = new Rng(4);
        for (int i = 0; i < 2 * 10; i++) reference.NextDouble(); // one draw per row and request
        Assert.Equal(reference.Position, rng.Position);
        float[] row9 = [30, 33, 36, 39], row12 = [-60, -63, -66, -69];
        Assert.Equal([2, 1], picked.Select(t => t.RowCount));
        var two = new[] { picked[0].Row(0).ToArray(), picked[0].Row(1).ToArray() };
        Assert.Contains(row9, two);
        Assert.Contains(row12, two);
        Assert.Contains(picked[1].Row(0).ToArray(), two);
        // The next batch follows the candidates.
        var dst = new float[4 * W];
        data.NextBatch(dst);
        Assert.Equal(values[(15 * W)..(19 * W)], dst);
        // No candidates asked for: one row is still read, so there is a row to give.
        var one = data.ResampleInputs([(sae, 2)], 1, rng, candidates: 0);
        Assert.Equal(20, data.RowsRead);
        Assert.Equal([1f, 1, 1, 1, 1, 1, 1, 1], one[0].ToArray());
    }

    /// <summary>One loud candidate among 99 quiet ones (weight ratio 10¹² as squared losses) fills the reservoir every time.</summary>
    [Fact]
    public void Resampling_weights_candidates_by_their_squared_loss()
    {
        var values = new float[2100 * W];
        values.AsSpan().Fill(1);
        for (int t = 0; t < 20; t++) for (int j = 0; j < W; j++) values[(1 + 100 * t + 37) * W + j] = 1000;
        var data = new StreamTrainingData(Chunks(2100, values: values), W, 0, 1, "rows");
        data.Plan(Options(4, 40, holdout: 1));
        data.Start(IProgressReporter.None, default);
        var rng = new Rng(2);
        for (int t = 0; t < 20; t++)
            Assert.Equal([1000f, 1000, 1000, 1000], data.ResampleInputs([(StoreTrainingDataTests.ConstantSae(new float[W]), 1)], 1, rng, candidates: 100)[0].ToArray());
    }

    /// <summary>Row counts read as whole numbers below 10,000, thousands from 10,000 and millions from 1,000,000.</summary>
    [Fact]
    public void Row_counts_switch_to_thousands_at_ten_thousand()
    {
        var data = new StreamTrainingData(Chunks(10_001, width: 1), 1, 0, 1, "rows");
        data.Plan(new SaeTrainingOptions { BatchSize = 1, Tokens = 20_000, HoldoutRows = 9_999 });
        data.Start(IProgressReporter.None, default);
        Assert.StartsWith("9999 rows read, ", data.Status());
        data.NextBatch(new float[1]);
        Assert.StartsWith("10.0k rows read, ", data.Status());
    }

    /// <summary>
    /// Streamed from a model: the description and the checkpoint's identity name the model, token split, hook and every
    /// sampling setting (a replay must reproduce them), and the status gives the model's own rate.
    /// </summary>
    [Fact]
    public void A_stream_from_a_model_records_what_identifies_it_and_reports_the_models_rate()
    {
        var model = Mechanist.Tests.Activations.HarvestFixture.Model(4);
        using var tokens = Mechanist.Text.TokenStore.Open(Mechanist.Tests.Activations.HarvestFixture.TokenStore(seed: 6));
        var harvest = new Mechanist.Activations.HarvestOptions { Hook = Mechanist.Models.HookPoint.MlpPost(0), Tokens = 1, RowsPerContext = 3, Seed = 9, BatchWindows = 2 };
        using var data = new StreamTrainingData(model, tokens, harvest, "the-model");
        Assert.Equal(32, data.Width);
        Assert.Equal(12, data.Context);
        Assert.Equal($"streamed from the-model at blocks.0.mlp.hook_post over {tokens.Directory} ({tokens.Split})", data.Description);
        data.Plan(new SaeTrainingOptions { BatchSize = 4, Tokens = 40, HoldoutRows = 6 });
        data.Start(IProgressReporter.None, default);
        Assert.Matches(@"^model [0-9.]+[kM]? tok/s, \d+ % of the time$", data.Status());
        var json = new JsonObject();
        data.SaveState(json);
        var expected = new JsonObject
        {
            ["model"] = "the-model", ["tokens"] = $"{tokens.Directory} ({tokens.Split})", ["hook"] = "blocks.0.mlp.hook_post", ["context"] = 12,
            ["per_context"] = 3, ["skip_first_position"] = true, ["seed"] = "9", ["batch_windows"] = 2,
            ["shuffle_buffer_rows"] = data.ShuffleRows, ["holdout_rows"] = 6,
        };
        Assert.True(JsonNode.DeepEquals(expected, json["stream"]), json["stream"]!.ToJsonString());
        Assert.Equal(6, json["stream_rows"]!.GetValue<long>());
    }

    [Fact]
    public void Resampling_scores_candidates_beyond_the_first_chunk()
    {
        var values = new float[20_010 * W];
        for (int j = 0; j < W; j++) values[(2 + 17_000) * W + j] = 1 + j;
        var data = new StreamTrainingData(Chunks(20_010, values: values), W, 0, 1, "rows");
        data.Plan(Options(4, 40, holdout: 2));
        data.Start(IProgressReporter.None, default);
        var picked = data.ResampleInputs([(StoreTrainingDataTests.ConstantSae(new float[W]), 1)], 2, new Rng(1), candidates: 20_000);
        Assert.Equal(20_002, data.RowsRead);
        Assert.Equal([2f, 4, 6, 8], picked[0].ToArray());
    }

    static float[] Batch(StreamTrainingData data)
    {
        var dst = new float[8 * W];
        data.NextBatch(dst);
        return dst;
    }

    [Fact]
    public void A_checkpoint_replays_the_stream_to_the_same_position()
    {
        var o = Options(8, 200, holdout: 6);
        var a = Started(o, shuffle: 16, seed: 5);
        for (int b = 0; b < 3; b++) Batch(a);
        var json = new JsonObject();
        a.SaveState(json);
        Assert.Equal("stream", (string?)json["data"]);
        Assert.Equal(30L, (long)json["stream_rows"]!);
        Assert.Equal("""{"source":"rows","shuffle_seed":"5","shuffle_buffer_rows":16,"holdout_rows":6}""", json["stream"]!.ToJsonString());
        var next = Batch(a);

        var progress = new ProgressRecorder();
        var b2 = Started(o, shuffle: 16, seed: 5);
        b2.RestoreState(JsonNode.Parse(json.ToJsonString())!.AsObject(), "ckpt/state.json", progress, default);
        Assert.Equal(30, b2.RowsRead);
        Assert.Equal("replaying 24 streamed rows to the checkpoint 24 tok", progress.Starts.Single());
        Assert.Equal(24, progress.Advanced);
        Assert.Equal(next, Batch(b2));
        // Restored after reading on, the stream still moves to the recorded position (skipping only the difference).
        var d = Started(o, shuffle: 16, seed: 5);
        Batch(d);
        d.RestoreState(JsonNode.Parse(json.ToJsonString())!.AsObject(), "ckpt/state.json", IProgressReporter.None, default);
        Assert.Equal(30, d.RowsRead);
        Assert.Equal(next, Batch(d));
        // A position inside the held-out rows, or none, is a broken checkpoint; right after them is the start of training.
        json["stream_rows"] = 5;
        Assert.Equal("ckpt/state.json: stream_rows: 5 is less than 6",
            Assert.Throws<DataFormatError>(() => Started(o, shuffle: 16, seed: 5).RestoreState(json, "ckpt/state.json", IProgressReporter.None, default)).Message);
        json.Remove("stream_rows");
        Assert.Throws<DataFormatError>(() => Started(o, shuffle: 16, seed: 5).RestoreState(json, "ckpt/state.json", IProgressReporter.None, default));
        json["stream_rows"] = 6;
        var c = Started(o, shuffle: 16, seed: 5);
        c.RestoreState(json, "ckpt/state.json", IProgressReporter.None, default);
        Assert.Equal(6, c.RowsRead);
    }

    [Fact]
    public void A_replay_of_a_million_rows_reports_its_rate_in_millions()
    {
        var o = new SaeTrainingOptions { BatchSize = 1, Tokens = 2_000_000, HoldoutRows = 1 };
        var json = new JsonObject
        {
            ["data"] = "stream", ["stream_rows"] = 1_000_000,
            ["stream"] = new JsonObject { ["source"] = "ones", ["shuffle_seed"] = "0", ["shuffle_buffer_rows"] = 0, ["holdout_rows"] = 1 },
        };
        var data = new StreamTrainingData(Ones(1_000_010), 1, 0, 0, "ones");
        data.Plan(o);
        data.Start(IProgressReporter.None, default);
        var progress = new ProgressRecorder();
        data.RestoreState(json, "ckpt/state.json", progress, default);
        Assert.Equal(1_000_000, data.RowsRead);
        Assert.Equal(999_999, progress.Advanced);
        Assert.Equal("1.00M rows read", progress.Statuses[^1]);
        // Pieces of 4,096 rows after the one held-out row: whole numbers below 10,000, then thousands, then millions.
        Assert.Equal(["4097 rows read", "8193 rows read", "12.3k rows read"], progress.Statuses.Take(3));
        Assert.StartsWith("1.00M rows read, ", data.Status());

        static IEnumerable<ReadOnlyMemory<float>> Ones(int rows)
        {
            var chunk = new float[65_536];
            chunk.AsSpan().Fill(1);
            for (int s = 0; s < rows; s += chunk.Length) yield return chunk.AsMemory(0, Math.Min(chunk.Length, rows - s));
        }
    }

    [Fact]
    public void A_checkpoint_of_other_settings_or_of_a_store_is_refused_naming_the_path()
    {
        var o = Options(8, 200, holdout: 6);
        var json = new JsonObject();
        Started(o, shuffle: 16, seed: 5).SaveState(json);
        void Refused(StreamTrainingData data, JsonObject checkpoint, string expected) =>
            Assert.StartsWith(expected, Assert.Throws<UserError>(() => data.RestoreState(checkpoint, "ckpt/state.json", IProgressReporter.None, default)).Message);

        const string Other = "ckpt/state.json: the checkpoint streamed with other settings ({\"source\":\"rows\",\"shuffle_seed\":\"5\"";
        Refused(Started(o, shuffle: 16, seed: 6), json, Other);
        Refused(Started(o, shuffle: 8, seed: 5), json, Other);
        Refused(Started(o, shuffle: 16, seed: 5, description: "other rows"), json, Other);
        Refused(Started(o with { HoldoutRows = 7 }, shuffle: 16, seed: 5), json, Other);
        var store = (JsonObject)json.DeepClone(); store["data"] = "store";
        const string Store = "ckpt/state.json: the checkpoint was trained on a stored activation store; resume with --acts instead of --model";
        Refused(Started(o, shuffle: 16, seed: 5), store, Store);
        var none = (JsonObject)json.DeepClone(); none.Remove("data");
        Refused(Started(o, shuffle: 16, seed: 5), none, Store);
        var other = (JsonObject)json.DeepClone(); other["data"] = "tape";
        Assert.Equal("ckpt/state.json: data: \"tape\": expected \"store\" or \"stream\"",
            Assert.Throws<DataFormatError>(() => Started(o, shuffle: 16, seed: 5).RestoreState(other, "ckpt/state.json", IProgressReporter.None, default)).Message);
        var noIdentity = (JsonObject)json.DeepClone(); noIdentity.Remove("stream");
        Refused(Started(o, shuffle: 16, seed: 5), noIdentity, "ckpt/state.json: the checkpoint streamed with other settings ()");
    }

    [Fact]
    public void Disposing_closes_the_source()
    {
        bool closed = false;
        var data = new StreamTrainingData(Chunks(100, disposed: () => closed = true), W, 0, 1, "rows");
        data.Dispose(); // before Start: nothing open
        data.Plan(Options(4, 40, holdout: 3));
        data.Start(IProgressReporter.None, default);
        Assert.False(closed);
        data.Dispose();
        Assert.True(closed);
    }
}
