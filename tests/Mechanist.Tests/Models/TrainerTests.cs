using Mechanist.Models;

namespace Mechanist.Tests.Models;

public class TrainerTests
{
    /// <summary>Windows cut from a fixed synthetic token sequence, visited in a seeded order; resumable by position.</summary>
    sealed class ArrayWindows(int[] tokens, int context, int vocab) : IWindowSource
    {
        public int Context => context;
        public int VocabSize => vocab;
        public long Position { get; private set; }
        public void Seek(long position) => Position = position;
        public void Next(Span<int> window)
        {
            long count = tokens.Length / (context + 1);
            long i = (Position * 7919 + 13) % count;
            Position++;
            tokens.AsSpan((int)i * (context + 1), context + 1).CopyTo(window);
        }
    }

    /// <summary>Cancels the run after a given number of progress advances (steps).</summary>
    sealed class StopAfter(int steps, CancellationTokenSource cts) : IProgressReporter, IProgressTask
    {
        int _seen;
        public IProgressTask Start(string label, long total, string unit) => this;
        public void Advance(long amount) { if (++_seen == steps) cts.Cancel(); }
        public void SetDone(long done) { }
        public void SetStatus(string status) { }
        public void Dispose() { }
    }

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
