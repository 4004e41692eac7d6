using Mechanist.Cli.Commands;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Tests.Activations;

namespace Mechanist.Tests.Models;

/// <summary>`mechanist model train --seeds`: one model per seed under one bar, resumable seed by seed.</summary>
[Collection("console-alone")]
public class ModelTrainSeedsTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRun.Capture(ModelCommands.Create(), args);

    static readonly string[] Shape = ["--preset", "micro", "--context", "16", "--batch", "4", "--tokens", "320", "--warmup", "1", "--eval-every", "2", "--checkpoint-every", "2"];

    static string[] Train(string data, string outDir, params string[] more) => [.. new[] { "model", "train", "--data", data, "--out", outDir }, .. Shape, .. more];

    static byte[] Weights(string dir) => File.ReadAllBytes(Path.Combine(dir, ModelFiles.WeightsFile));

    /// <summary>Counts bars; cancels after a given number of training steps (progress advances).</summary>
    sealed class Recorder(int stopAfter, CancellationTokenSource? cts) : IProgressReporter, IProgressTask
    {
        int _steps;
        public int Bars;
        public IProgressTask Start(string label, long total, string unit) { Bars++; return this; }
        public void Advance(long amount) { if (++_steps == stopAfter) cts?.Cancel(); }
        public void SetDone(long done) { }
        public void SetStatus(string status) { }
        public void Dispose() { }
    }

    [Fact]
    public void Each_seed_trains_its_own_model_as_a_single_run_of_that_seed_would()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        string root = TestPaths.NewTempDir();
        string outDir = Path.Combine(root, "seeds");
        var (code, output, err) = Run(Train(data, outDir, "--seeds", "0,1,2"));
        Assert.True(code == 0, err);
        foreach (int s in new[] { 0, 1, 2 })
            Assert.True(Manifest.ExistsIn(Path.Combine(outDir, $"seed-{s}")), $"seed-{s} has no manifest");
        Assert.NotEqual(Weights(Path.Combine(outDir, "seed-0")), Weights(Path.Combine(outDir, "seed-1")));

        // Seed 1 of the many-seeds run is the single run with --seed 1 (init and data order from the seed).
        string single = Path.Combine(root, "single");
        Assert.Equal(0, Run(Train(data, single, "--seed", "1")).Code);
        Assert.Equal(Weights(single), Weights(Path.Combine(outDir, "seed-1")));

        // Run again: every seed is found finished and skipped.
        var again = Run(Train(data, outDir, "--seeds", "0-2"));
        Assert.Equal(0, again.Code);
        Assert.Equal(3, again.Out.Split('\n').Count(l => l.Contains("done earlier, skipped")));

        // Other settings in the same folder are refused with one line, before anything is trained.
        var other = Run(Train(data, outDir, "--seeds", "0,1,2", "--lr", "0.01"));
        Assert.Equal(1, other.Code);
        Assert.Contains("other settings", other.Err);
        Assert.Equal(1, Run(Train(data, outDir, "--seeds", "0,0")).Code);
        Assert.Equal(1, Run(Train(data, outDir, "--seeds", "1", "--seed", "2")).Code);
    }

    [Fact]
    public void An_interrupted_seed_resumes_and_finished_seeds_are_kept_under_one_bar()
    {
        string data = HarvestFixture.TokenStore(trainTokens: 2000, validTokens: 400);
        string root = TestPaths.NewTempDir();
        var shape = new TrainOptions { Preset = "micro", Context = 16, Batch = 4, Tokens = 320, WarmupSteps = 1, EvalEvery = 2, CheckpointEvery = 2 };
        var straight = new ModelTrainStageOptions { Data = data, OutDir = Path.Combine(root, "straight"), Train = shape };
        var bars = new Recorder(0, null);
        ModelTrainStage.RunSeeds(straight, [4, 5], bars, CancellationToken.None);
        Assert.Equal(1, bars.Bars);

        // 5 steps per seed: stop in the middle of the second seed, then run the same command again.
        var interrupted = straight with { OutDir = Path.Combine(root, "interrupted") };
        using (var cts = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => ModelTrainStage.RunSeeds(interrupted, [4, 5], new Recorder(8, cts), cts.Token));
        Assert.True(Manifest.ExistsIn(ModelTrainStage.SeedDir(interrupted.OutDir, 4)));
        Assert.False(Manifest.ExistsIn(ModelTrainStage.SeedDir(interrupted.OutDir, 5)));
        var skipped = new List<bool>();
        var results = ModelTrainStage.RunSeeds(interrupted, [4, 5], IProgressReporter.None, CancellationToken.None, (_, earlier) => skipped.Add(earlier));
        Assert.Equal([true, false], skipped);
        Assert.Equal(2, results[1].Train.StepsThisSession); // continued from the checkpoint at step 3 of 5
        foreach (ulong s in new ulong[] { 4, 5 })
            Assert.Equal(Weights(ModelTrainStage.SeedDir(straight.OutDir, s)), Weights(ModelTrainStage.SeedDir(interrupted.OutDir, s)));
    }

    [Fact]
    public void Bad_seed_lists_are_refused_before_anything_is_read()
    {
        // The data folder does not exist: each refusal must come before the token store is opened.
        var o = new ModelTrainStageOptions { Data = Path.Combine(TestPaths.NewTempDir(), "none"), OutDir = TestPaths.NewTempDir() };
        string Refusal(ModelTrainStageOptions options, ulong[] seeds) =>
            Assert.Throws<UserError>(() => ModelTrainStage.RunSeeds(options, seeds, IProgressReporter.None, CancellationToken.None)).Message;
        Assert.Equal("--seeds: give at least one seed, e.g. 0,1,2,3,4", Refusal(o, []));
        Assert.Equal("--seeds 1,2,1: a seed is given twice", Refusal(o, [1, 2, 1]));
        Assert.Equal("--seeds resumes every unfinished seed by itself; leave out --resume", Refusal(o with { Resume = true }, [1]));
    }
}
