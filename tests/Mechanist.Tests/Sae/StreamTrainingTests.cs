using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Sae;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Sae;

/// <summary>`sae train --model`: SAE training on rows streamed from a model through a shuffle buffer, nothing stored.</summary>
public class StreamTrainingTests
{
    static readonly HookPoint Hook = HookPoint.MlpPost(0); // d_mlp 32 in the fixture

    static SaeTrainingOptions Options(SaeArchitecture arch = SaeArchitecture.TopK) => new()
    {
        Architecture = arch, Widths = [64], Ks = [4], L1 = [1], BatchSize = 64, Tokens = 64 * 40, HoldoutRows = 300,
        WarmupSteps = 5, ResampleSteps = [15, 30], ResampleWindowSteps = 1, ResampleInputs = 700, DeadWindowTokens = 256,
        ThresholdStartStep = 10, CheckpointEverySteps = 0, Seed = 3,
        LearningRate = arch == SaeArchitecture.Relu ? 1e-2 : 1e-3, // relu: fast enough that latents die and are resampled at steps 15 and 30
    };

    static HarvestOptions Harvest(int shuffleMiB = 1) => new() { Hook = Hook, Tokens = 1, RowsPerContext = 6, Seed = 3, ShuffleBufferMiB = shuffleMiB };

    static float[][] Weights(string dir, SaeTrainingOptions o) =>
        o.Runs().SelectMany(r => SaeLensFormat.Load(Path.Combine(dir, r.Name)).Parameters.Select(p => p.Value.ToArray())).ToArray();

    [Fact]
    public void Streamed_training_saves_SAELens_folders_evaluated_on_the_streams_first_rows()
    {
        var model = HarvestFixture.Model(4);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        string outDir = Path.Combine(TestPaths.NewTempDir(), "sae");
        var o = Options() with { Widths = [32, 64], Metadata = new SaeMetadata { Hook = Hook, ContextSize = 12 } };
        using var data = new StreamTrainingData(model, tokens, Harvest(), "fixture");
        var results = SaeTrainer.Train(data, o, outDir, IProgressReporter.None);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.InRange(r.Metrics.ExplainedVariance, 0.3, 1));
        Assert.All(results, r => Assert.Equal(300, r.Metrics.Tokens));
        var sae = SaeLensFormat.Load(Path.Combine(outDir, "topk-w64-k4"));
        Assert.Equal(32, sae.DIn);
        Assert.Equal(Hook, sae.Metadata.Hook);
        // Held out 300, trained 40 × 64, no resampling for topk: nothing else was read.
        Assert.Equal(300 + 40 * 64, data.RowsRead);
        Assert.Equal(300 + 40 * 64, data.ShuffleRows); // 1 MiB is 8,192 rows of 32; capped at the rows the run reads
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")))!;
        Assert.StartsWith("streamed from fixture at blocks.0.mlp.hook_post", summary["source"]!.GetValue<string>());
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, SaeTrainer.CheckpointDir, "state.json")))!;
        Assert.Equal("stream", state["data"]!.GetValue<string>());
        Assert.Equal(300 + 40 * 64, state["stream_rows"]!.GetValue<long>());

        // The held-out rows are the stream's first: the metrics equal an evaluation on the first 300 rows of the same stream.
        using var again = new HarvestStream(model, tokens, Harvest() with { Tokens = 300 + 40 * 64 }).Rows();
        var first = new Tensor(300, 32);
        again.Read(first.Span);
        Assert.Equal(results[1].Metrics.Mse, SaeMetrics.Evaluate(sae, [first]).Mse, 12);
    }

    /// <summary>
    /// The same rows give the same SAE, bit for bit, whether they stream from the model or are read from a
    /// store that `acts harvest` wrote in harvest order: held-out rows first, then batches, resampling
    /// candidates, the shuffle buffer (same capacity and seed) all consume the stream alike.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Streaming_from_the_model_equals_streaming_the_same_rows_from_a_store(int shuffleMiB)
    {
        var model = HarvestFixture.Model(4);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        string acts = Path.Combine(TestPaths.NewTempDir(), "acts");
        // Enough for the rows read (at most 4,260) and the shuffle buffer's read-ahead (2,860).
        Harvester.Harvest(model, tokens, acts, Harvest(0) with { Tokens = 8000 }, IProgressReporter.None);
        var o = Options(SaeArchitecture.Relu);
        using var store = ActivationStore.Open(acts);
        int shuffleRows = shuffleMiB == 0 ? 0 : 300 + 40 * 64;

        string fromModel = Path.Combine(TestPaths.NewTempDir(), "a"), fromStore = Path.Combine(TestPaths.NewTempDir(), "b");
        using (var data = new StreamTrainingData(model, tokens, Harvest(shuffleMiB), "fixture"))
        {
            SaeTrainer.Train(data, o, fromModel, IProgressReporter.None);
            Assert.Equal(shuffleRows, data.ShuffleRows);
            Assert.True(data.RowsRead > 300 + 40 * 64, "relu resampling read candidate rows");
        }
        var chunks = store.ReadChunks(0, store.RowCount, 500).Select(t => (ReadOnlyMemory<float>)t.ToArray());
        using (var data = new StreamTrainingData(chunks, store.Width, shuffleRows, Harvester.ShuffleSeed(3), acts))
            SaeTrainer.Train(data, o, fromStore, IProgressReporter.None);
        Assert.Equal(Weights(fromModel, o), Weights(fromStore, o));
    }

    [Fact]
    public void Streamed_and_stored_training_on_the_same_harvest_score_alike()
    {
        var model = HarvestFixture.Model(4);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        var o = Options() with { Tokens = 64 * 60, HoldoutRows = 0 };
        string acts = Path.Combine(TestPaths.NewTempDir(), "acts");
        Harvester.Harvest(model, tokens, acts, Harvest() with { Tokens = 64 * 60 }, IProgressReporter.None);
        using var store = ActivationStore.Open(acts);
        var stored = SaeTrainer.Train(store, o, Path.Combine(TestPaths.NewTempDir(), "a"), IProgressReporter.None)[0].Metrics;
        using var data = new StreamTrainingData(model, tokens, Harvest(), "fixture");
        var streamed = SaeTrainer.Train(data, o, Path.Combine(TestPaths.NewTempDir(), "b"), IProgressReporter.None)[0].Metrics;
        Assert.Equal(64 * 60 / 20, streamed.Tokens); // 5 % of --tokens held out, as 5 % of a store's rows
        // Different held-out rows and batch orders from one distribution: 0.525 streamed, 0.519 stored when written.
        Assert.InRange(streamed.ExplainedVariance, 0.4, 1);
        Assert.InRange(streamed.ExplainedVariance - stored.ExplainedVariance, -0.05, 0.05);
        Assert.InRange(streamed.L0, 3.5, 4.0); // topk: at most k = 4, as stored
        Assert.InRange(stored.L0, 3.5, 4.0);
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    public void An_interrupted_streamed_run_resumes_to_the_same_weights_by_replaying_the_stream(SaeArchitecture arch)
    {
        var model = HarvestFixture.Model(4);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        var o = Options(arch) with { Widths = [32, 128] };
        string dir = TestPaths.NewTempDir();
        string straight = Path.Combine(dir, "straight"), interrupted = Path.Combine(dir, "interrupted");
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            SaeTrainer.Train(data, o, straight, IProgressReporter.None);
        using (var cts = new CancellationTokenSource())
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            Assert.Throws<OperationCanceledException>(() => SaeTrainer.Train(data, o, interrupted, new CancelAfter(64 * 23, cts), cts.Token));
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(interrupted, SaeTrainer.CheckpointDir, "state.json")))!;
        Assert.Equal(23, state["step"]!.GetValue<long>());
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
        {
            SaeTrainer.Train(data, o, interrupted, IProgressReporter.None, resume: true);
            Assert.True(data.RowsRead >= 300 + 40 * 64);
        }
        Assert.Equal(Weights(straight, o), Weights(interrupted, o));

        if (arch == SaeArchitecture.Relu)
        {
            // Resampling happened (the test covers the candidate rows' replay): without it the weights differ.
            string plain = Path.Combine(dir, "plain");
            using var data = new StreamTrainingData(model, tokens, Harvest(), "fixture");
            SaeTrainer.Train(data, o with { ResampleSteps = [] }, plain, IProgressReporter.None);
            Assert.NotEqual(Weights(straight, o), Weights(plain, o));
        }
    }

    [Fact]
    public void A_checkpoint_resumes_only_from_the_data_it_was_made_on()
    {
        var model = HarvestFixture.Model(4);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        var o = Options() with { Tokens = 64 * 10 };
        string dir = TestPaths.NewTempDir(), streamed = Path.Combine(dir, "streamed"), stored = Path.Combine(dir, "stored");
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            SaeTrainer.Train(data, o, streamed, IProgressReporter.None);
        string acts = Path.Combine(dir, "acts");
        Harvester.Harvest(model, tokens, acts, Harvest() with { Tokens = 2000 }, IProgressReporter.None);
        using var store = ActivationStore.Open(acts);
        SaeTrainer.Train(store, o, stored, IProgressReporter.None);

        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            Assert.Contains("resume with --acts", Assert.Throws<UserError>(() => SaeTrainer.Train(data, o, stored, IProgressReporter.None, resume: true)).Message);
        Assert.Contains("resume with the same --model", Assert.Throws<UserError>(() => SaeTrainer.Train(store, o, streamed, IProgressReporter.None, resume: true)).Message);
        using (var data = new StreamTrainingData(model, tokens, Harvest() with { RowsPerContext = 5 }, "fixture"))
            Assert.Contains("streamed with other settings", Assert.Throws<UserError>(() => SaeTrainer.Train(data, o, streamed, IProgressReporter.None, resume: true)).Message);
        // Other training options are refused before the stream runs the model over its held-out rows.
        var labels = new LabelRecorder();
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            Assert.Contains("training options differ", Assert.Throws<UserError>(() => SaeTrainer.Train(data, o with { LearningRate = 0.5 }, streamed, labels, resume: true)).Message);
        Assert.Empty(labels.Labels);
        using (var data = new StreamTrainingData(model, tokens, Harvest(), "fixture"))
            Assert.Contains("--tokens", Assert.Throws<UserError>(() => SaeTrainer.Train(data, o with { Tokens = 0 }, Path.Combine(dir, "none"), IProgressReporter.None)).Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "none")));
    }

    /// <summary>Records the labels of the progress tasks started: what work was begun.</summary>
    sealed class LabelRecorder : IProgressReporter, IProgressTask
    {
        public List<string> Labels { get; } = [];
        public IProgressTask Start(string label, long total, string unit) { Labels.Add(label); return this; }
        public void Advance(long amount) { }
        public void SetDone(long done) { }
        public void SetStatus(string status) { }
        public void Dispose() { }
    }

    /// <summary>Cancels the run once a number of tokens have been reported, as Ctrl-C would.</summary>
    sealed class CancelAfter(long tokens, CancellationTokenSource cts) : IProgressReporter, IProgressTask
    {
        long _done;
        bool _training;
        public IProgressTask Start(string label, long total, string unit) { _training = label.StartsWith("training"); _done = 0; return this; }
        public void Advance(long amount) { _done += amount; if (_training && _done >= tokens) cts.Cancel(); }
        public void SetDone(long done) => _done = done;
        public void SetStatus(string status) { }
        public void Dispose() { }
    }
}
