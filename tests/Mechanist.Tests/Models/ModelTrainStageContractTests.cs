using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Tests.Activations;

namespace Mechanist.Tests.Models;

/// <summary>
/// The model-training stage as `mechanist model train` runs it: the manifest it writes last, validation only when the
/// store has a valid split, the smallest train split it accepts, a resume taking the saved options, and the many-seeds
/// bar (its total, labels and offsets), each checked against values written down here.
/// </summary>
public class ModelTrainStageContractTests
{
    // 100 tokens at 4 windows of 16 per step: 2 steps, 128 tokens.
    static readonly TrainOptions Shape = new() { Preset = "micro", Context = 16, Batch = 4, Tokens = 100, WarmupSteps = 1, EvalEvery = 1, EvalWindows = 2, CheckpointEvery = 5 };

    [Fact]
    public void A_run_writes_its_manifest_with_steps_losses_and_config()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        string outDir = TestPaths.NewTempDir();
        var r = ModelTrainStage.Run(new ModelTrainStageOptions { Data = data, OutDir = outDir, Train = Shape }, IProgressReporter.None, CancellationToken.None);
        Assert.Equal((2L, 128L, 16, true), (r.Train.Steps, r.Tokens, r.Context, r.HasValidation));

        var manifest = Manifest.Load(outDir);
        Assert.Equal("model train", manifest.Stage);
        Assert.Equal(Shape, System.Text.Json.JsonSerializer.Deserialize<TrainOptions>(manifest.Settings));
        Assert.Equal(2, (long)manifest.Contents["steps"]!);
        Assert.Equal(r.Train.LastLoss, (float)manifest.Contents["final_train_loss"]!);
        Assert.Equal(r.Train.ValidationLoss, (double)manifest.Contents["final_validation_loss"]!);
        Assert.Equal(16, (int)manifest.Contents["config"]!["n_positions"]!);
        Assert.Equal(["config.json", "model.safetensors", Trainer.MetricsFile, Trainer.PlotFile, Trainer.CheckpointDir],
            manifest.Outputs.Select(o => o.Path).ToArray());
        // The token store is the one input, recorded by the fast hash (size and time, not gigabytes of content).
        var input = Assert.Single(manifest.Inputs);
        Assert.Equal(Path.GetFullPath(data), input.Path);
        Assert.StartsWith("fast-sha256:", input.Hash);
        Assert.Empty(manifest.ChangedInputs());
    }

    [Fact]
    public void Without_a_valid_split_the_run_trains_without_validation()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        foreach (string f in Directory.GetFiles(data, "valid*")) File.Delete(f);
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(data, "meta.json")))!.AsObject();
        meta["splits"]!.AsObject().Remove("valid");
        File.WriteAllText(Path.Combine(data, "meta.json"), meta.ToJsonString());
        string outDir = TestPaths.NewTempDir();
        var r = ModelTrainStage.Run(new ModelTrainStageOptions { Data = data, OutDir = outDir, Train = Shape }, IProgressReporter.None, CancellationToken.None);
        Assert.False(r.HasValidation);
        Assert.Null(r.Train.ValidationLoss);
        Assert.Null(Manifest.Load(outDir).Contents["final_validation_loss"]);
        Assert.DoesNotContain("val_loss", File.ReadAllText(Path.Combine(outDir, Trainer.MetricsFile)));
    }

    [Fact]
    public void The_train_split_must_hold_one_window_and_one_window_is_enough()
    {
        string small = HarvestFixture.TokenStore(trainTokens: 16, validTokens: 0);
        var e = Assert.Throws<UserError>(() => ModelTrainStage.Run(new ModelTrainStageOptions { Data = small, OutDir = TestPaths.NewTempDir(), Train = Shape },
            IProgressReporter.None, CancellationToken.None));
        Assert.Equal($"{small}: the train split holds 16 tokens, fewer than one window of 17: give more text or a shorter --context", e.Message);
        string exact = HarvestFixture.TokenStore(trainTokens: 17, validTokens: 0);
        var r = ModelTrainStage.Run(new ModelTrainStageOptions { Data = exact, OutDir = TestPaths.NewTempDir(), Train = Shape with { Tokens = 64 } },
            IProgressReporter.None, CancellationToken.None);
        Assert.Equal(1, r.Train.Steps);
    }

    [Fact]
    public void A_resumed_run_uses_its_saved_options_and_a_broken_state_file_is_named()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        string outDir = TestPaths.NewTempDir();
        using (var cts = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => ModelTrainStage.Run(new ModelTrainStageOptions { Data = data, OutDir = outDir, Train = Shape },
                new StopAfter(1, cts), cts.Token));
        var resumed = ModelTrainStage.Run(new ModelTrainStageOptions { Data = data, OutDir = outDir, Train = Shape with { Batch = 0 }, Resume = true },
            IProgressReporter.None, CancellationToken.None);
        Assert.Equal(Shape, resumed.Options);
        Assert.Equal(1, resumed.Train.StepsThisSession);

        string state = Path.Combine(outDir, Trainer.CheckpointDir, Trainer.StateFile);
        File.WriteAllText(state, "{\"step\": 1,");
        Assert.StartsWith($"{state}: (json): ", Assert.Throws<DataFormatError>(() => ModelTrainStage.SavedOptions(outDir)).Message);
        File.WriteAllText(state, "{\"step\": 1}");
        Assert.Equal($"{state}: options: missing", Assert.Throws<DataFormatError>(() => ModelTrainStage.SavedOptions(outDir)).Message);
        string empty = TestPaths.NewTempDir();
        Assert.Equal($"{empty}: no checkpoint to resume from ({Path.Combine(empty, "checkpoint", "state.json")} not found)",
            Assert.Throws<UserError>(() => ModelTrainStage.SavedOptions(empty)).Message);
    }

    [Fact]
    public void A_budget_of_whole_steps_sizes_the_seeds_bar_without_an_extra_step()
    {
        // 128 tokens are exactly 2 steps of 4 × 16: rounding up to whole steps must not add a third.
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 0);
        var progress = new ProgressLog();
        var o = new ModelTrainStageOptions { Data = data, OutDir = TestPaths.NewTempDir(), Train = Shape with { Tokens = 128 } };
        var r = Assert.Single(ModelTrainStage.RunSeeds(o, [3], progress, CancellationToken.None));
        Assert.Equal("start training micro × 1 seeds 128 tok", progress.Events[0]);
        Assert.Equal(2, r.Train.Steps);
    }

    [Fact]
    public void Seeds_share_one_bar_sized_in_whole_steps_and_a_finished_seed_reports_its_losses()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        var o = new ModelTrainStageOptions { Data = data, OutDir = TestPaths.NewTempDir(), Train = Shape };
        var progress = new ProgressLog();
        var first = ModelTrainStage.RunSeeds(o, [4, 7], progress, CancellationToken.None);
        Assert.Equal("start training micro × 2 seeds 256 tok", progress.Events[0]);
        Assert.Contains("done 128", progress.Events);  // the second seed starts where the first ended
        Assert.StartsWith("status seed 4 (1/2): step 1/2", progress.Events.First(e => e.StartsWith("status")));
        Assert.Contains(progress.Events, e => e.StartsWith("status seed 7 (2/2): step 2/2"));

        var earlier = new List<bool>();
        var again = ModelTrainStage.RunSeeds(o, [4, 7], IProgressReporter.None, CancellationToken.None, (_, e) => earlier.Add(e));
        Assert.Equal([true, true], earlier);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(first[i].Train.LastLoss, again[i].Train.LastLoss);
            Assert.Equal(first[i].Train.ValidationLoss, again[i].Train.ValidationLoss);
            Assert.True(again[i].HasValidation);
            Assert.Equal((2L, 16), (again[i].Train.Steps, again[i].Context));
        }
    }

    [Fact]
    public void A_cancelled_token_stops_before_any_seed_trains()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        var o = new ModelTrainStageOptions { Data = data, OutDir = TestPaths.NewTempDir(), Train = Shape };
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => ModelTrainStage.RunSeeds(o, [1], IProgressReporter.None, cts.Token));
        Assert.False(Directory.Exists(ModelTrainStage.SeedDir(o.OutDir, 1)));
    }
}
