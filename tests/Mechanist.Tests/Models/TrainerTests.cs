using Mechanist.Models;

namespace Mechanist.Tests.Models;

public class TrainerTests
{
    static int[] Corpus(int vocab)
    {
        // A learnable pattern: counting up modulo the vocabulary, with a little noise.
        var rng = new Random(1);
        return Enumerable.Range(0, 20000).Select(i => rng.Next(10) == 0 ? rng.Next(vocab) : i % vocab).ToArray();
    }

    static readonly TrainOptions Options = new()
    {
        Preset = "micro", Context = 64, Batch = 8, Tokens = 10 * 8 * 64, Seed = 3, LearningRate = 3e-3f,
        WarmupSteps = 2, EvalEvery = 4, EvalWindows = 4, CheckpointEvery = 3,
    };

    [Fact]
    public void Resume_after_an_interruption_reaches_the_same_weights_bit_for_bit()
    {
        int vocab = 40;
        var tokens = Corpus(vocab);
        int[] valid = tokens[..(4 * 65)];  // 8 × 64 = 512 rows per step: the norm kernels split across workers

        string straight = TestPaths.NewTempDir();
        var full = Trainer.Train(straight, Options, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None);
        Assert.Equal(10, full.Steps);

        string interrupted = TestPaths.NewTempDir();
        using (var cts = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() =>
                Trainer.Train(interrupted, Options, new ArrayWindows(tokens, 64, vocab), valid, new StopAfter(5, cts), cts.Token));
        // Starting again without --resume is refused; resuming takes the saved options even if others are passed.
        Assert.Throws<UserError>(() => Trainer.Train(interrupted, Options, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None));
        var resumed = Trainer.Train(interrupted, Options with { LearningRate = 1 }, new ArrayWindows(tokens, 64, vocab), valid,
            IProgressReporter.None, CancellationToken.None, resume: true);
        Assert.Equal(5, resumed.StepsThisSession);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(interrupted, "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "checkpoint", "optimizer.safetensors")),
            File.ReadAllBytes(Path.Combine(interrupted, "checkpoint", "optimizer.safetensors")));
        Assert.Equal(File.ReadAllLines(Path.Combine(straight, "metrics.jsonl")), File.ReadAllLines(Path.Combine(interrupted, "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(interrupted, "loss.svg")));

        // The trained model loads as a GPT-2 folder and has learned something.
        var model = ModelFiles.Load(straight);
        Assert.Equal(64, model.Config.Context);
        Assert.True(full.ValidationLoss < Math.Log(vocab), $"validation loss {full.ValidationLoss} not below uniform {Math.Log(vocab)}");
    }

    /// <summary>
    /// Mixed precision (bf16 matmul inputs, fp32 masters and accumulation) follows the fp32 run's loss closely on
    /// the same data and seed, yet is not the fp32 run (the bf16 route ran); validation loss is fp32 in both.
    /// </summary>
    [Mechanist.Tests.Numerics.BFloat16Fact]
    public void Bf16_training_tracks_the_fp32_loss_curve()
    {
        int vocab = 40;
        var tokens = Corpus(vocab);
        int[] valid = tokens[..(4 * 65)];
        var options = Options with { Tokens = 12 * 8 * 64, EvalEvery = 1000, CheckpointEvery = 1000 };
        string fp32 = TestPaths.NewTempDir(), bf16 = TestPaths.NewTempDir();
        var a = Trainer.Train(fp32, options, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None);
        var b = Trainer.Train(bf16, options with { Precision = "bf16" }, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None);
        double[] Losses(string dir) => [.. File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["loss"]).Where(x => x != null).Select(x => x!.GetValue<double>())];
        double[] la = Losses(fp32), lb = Losses(bf16);
        Assert.Equal(12, la.Length);
        Assert.Equal(la.Length, lb.Length);
        Assert.NotEqual(la, lb);
        for (int i = 0; i < la.Length; i++)
            Assert.True(Math.Abs(lb[i] - la[i]) <= 0.01 * la[i], $"step {i + 1}: bf16 loss {lb[i]} vs fp32 {la[i]}");
        Assert.True(Math.Abs(b.ValidationLoss!.Value - a.ValidationLoss!.Value) <= 0.01 * a.ValidationLoss.Value,
            $"validation loss bf16 {b.ValidationLoss} vs fp32 {a.ValidationLoss}");
        Assert.True(la[^1] < la[0] - 0.5, $"fp32 did not learn: {la[0]} → {la[^1]}");
    }

    [Fact]
    public void Unknown_precision_is_refused_naming_the_option() =>
        Assert.Contains("--precision", Assert.Throws<UserError>(() => (Options with { Precision = "fp8" }).Validate()).Message);

    [Fact]
    public void Resume_after_a_crash_drops_the_metrics_past_the_checkpoint_and_reaches_the_same_run_bit_for_bit()
    {
        // A checkpoint every step; the run dies at step 5 with the step-3 checkpoint put back, so metrics.jsonl holds
        // lines (a validation at step 4 among them) for steps 4 and 5 that the resumed run takes again.
        var options = Options with { CheckpointEvery = 1, EvalEvery = 2 };
        int vocab = 40;
        var tokens = Corpus(vocab);
        int[] valid = tokens[..(4 * 65)];
        string straight = TestPaths.NewTempDir(), crashed = TestPaths.NewTempDir();
        Trainer.Train(straight, options, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None);

        var crash = new SimulatedCrash(Path.Combine(crashed, Trainer.CheckpointDir), keepStep: 3, crashStep: 5);
        Assert.Throws<SimulatedCrash.CrashException>(() =>
            Trainer.Train(crashed, options, new ArrayWindows(tokens, 64, vocab), valid, crash, CancellationToken.None));
        crash.RestoreKeptCheckpoint();
        string metrics = Path.Combine(crashed, Trainer.MetricsFile);
        Assert.Contains("\"step\":5,", File.ReadAllText(metrics));

        var resumed = Trainer.Train(crashed, options, new ArrayWindows(tokens, 64, vocab), valid, IProgressReporter.None, CancellationToken.None, resume: true);
        Assert.Equal(7, resumed.StepsThisSession);
        foreach (string file in new[] { "model.safetensors", Trainer.MetricsFile, Path.Combine(Trainer.CheckpointDir, Trainer.OptimizerFile),
                     Path.Combine(Trainer.CheckpointDir, Trainer.StateFile), Path.Combine(Trainer.CheckpointDir, "model.safetensors") })
            Assert.True(File.ReadAllBytes(Path.Combine(straight, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(crashed, file))),
                $"{file} differs from the uninterrupted run's");
    }
}
