using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Autograd.Optimizers;
using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>
/// What one small training run must leave behind, checked against values written down here rather than against a
/// second run of the same code: the metric lines (steps, tokens, learning rates, validations), the checkpoint's state,
/// the progress a user sees, the result, and each refusal with its message.
/// </summary>
public class TrainerContractTests
{
    const int Vocab = 30, Context = 16, Batch = 2, Steps = 6;
    const long TokensPerStep = Batch * Context;

    static readonly TrainOptions Options = new()
    {
        Preset = "micro", Context = Context, Batch = Batch, Tokens = Steps * TokensPerStep - 7, Seed = 3, LearningRate = 2e-3f,
        WarmupSteps = 200, EvalEvery = 2, EvalWindows = 2, CheckpointEvery = 3,
    };

    static int[] Tokens() { var rng = new Random(2); return Enumerable.Range(0, 4000).Select(_ => rng.Next(Vocab)).ToArray(); }
    static ArrayWindows Data(int vocab = Vocab, int context = Context) => new(Tokens(), context, vocab);
    static int[] Valid() => Tokens()[..(2 * (Context + 1))];

    static List<JsonObject> Lines(string dir) =>
        File.ReadAllLines(Path.Combine(dir, Trainer.MetricsFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    [Fact]
    public void A_run_writes_one_line_per_step_and_validations_at_the_interval_and_the_end()
    {
        string dir = TestPaths.NewTempDir();
        var progress = new ProgressLog();
        var result = Trainer.Train(dir, Options, Data(), Valid(), progress, CancellationToken.None);

        var lines = Lines(dir);
        // The token budget rounds up to whole steps: 6 steps of 32 tokens for 185 tokens asked; the last step's
        // validation is written once, though 6 is also on the interval.
        var expected = new List<(long Step, bool Validation)> { (1, false), (2, false), (2, true), (3, false), (4, false), (4, true), (5, false), (6, false), (6, true) };
        Assert.Equal(expected, lines.Select(l => ((long)l["step"]!, l.ContainsKey("val_loss"))).ToList());
        foreach (var l in lines) Assert.Equal((long)l["step"]! * TokensPerStep, (long)l["tokens"]!);

        // Warm-up is capped at a tenth of the run (at least one step), then cosine decay to 10 %.
        var schedule = new LearningRateSchedule(1, Steps, DecayShape.Cosine, 0.1);
        var lrs = lines.Where(l => l.ContainsKey("lr")).Select(l => (float)(double)l["lr"]!).ToList();
        Assert.Equal(Enumerable.Range(0, Steps).Select(s => schedule.Rate(2e-3f, s)).ToList(), lrs);
        foreach (var l in lines.Where(l => l.ContainsKey("loss")))
        {
            Assert.Equal(["step", "tokens", "loss", "lr", "grad_norm"], l.Select(p => p.Key).ToArray());
            Assert.InRange((double)l["loss"]!, 0.5 * Math.Log(Vocab), 2 * Math.Log(Vocab));
        }

        Assert.Equal(new TrainResult(Steps, Steps, (float)(double)lines[^2]["loss"]!, (double)lines[^1]["val_loss"]!, result.TokensPerSecond), result);
        Assert.True(result.TokensPerSecond > 0);

        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile)))!.AsObject();
        Assert.Equal(Steps, (long)state["step"]!);
        Assert.Equal(Steps, (long)state["total_steps"]!);
        Assert.Equal(Steps * TokensPerStep, (long)state["tokens_seen"]!);
        Assert.Equal(Steps * Batch, (long)state["data_position"]!);
        Assert.Equal("micro", (string)state["options"]!["Preset"]!);

        string title = $"micro: {ModelFiles.Load(dir).Config.ParameterCount() / 1e6:0.##}M parameters, seed 3";
        Assert.Contains(title, File.ReadAllText(Path.Combine(dir, Trainer.PlotFile)));

        Assert.Equal($"start training micro {Steps * TokensPerStep} tok", progress.Events[0]);
        Assert.Equal("done 0", progress.Events[1]);
        Assert.Equal(Steps, progress.Events.Count(e => e == $"advance {TokensPerStep}"));
        var statuses = progress.Events.Where(e => e.StartsWith("status ")).ToList();
        string Loss(int i) => ((double)lines[i]["loss"]!).ToString("0.000", CultureInfo.CurrentCulture);
        Assert.Equal($"status step 1/6 loss {Loss(0)}", statuses[0]);
        Assert.Equal($"status step 3/6 loss {Loss(3)} val {((double)lines[2]["val_loss"]!).ToString("0.000", CultureInfo.CurrentCulture)}", statuses[2]);
    }

    [Fact]
    public void Cancelling_names_the_step_and_resuming_continues_the_step_count()
    {
        string dir = TestPaths.NewTempDir();
        using var cts = new CancellationTokenSource();
        var e = Assert.Throws<OperationCanceledException>(() => Trainer.Train(dir, Options, Data(), Valid(), new StopAfter(2, cts), cts.Token));
        Assert.Equal("stopped at step 2; checkpoint saved, continue with --resume", e.Message);
        var progress = new ProgressLog();
        var result = Trainer.Train(dir, Options, Data(), Valid(), progress, CancellationToken.None, resume: true);
        Assert.Equal((6L, 4L), (result.Steps, result.StepsThisSession));
        Assert.Equal($"done {2 * TokensPerStep}", progress.Events[1]);
        Assert.Equal([1L, 2, 2, 3, 4, 4, 5, 6, 6], Lines(dir).Select(l => (long)l["step"]!).ToArray());
    }

    [Fact]
    public void Resume_reads_the_curve_back_so_the_plot_shows_the_whole_run()
    {
        string straight = TestPaths.NewTempDir(), resumed = TestPaths.NewTempDir();
        Trainer.Train(straight, Options, Data(), Valid(), IProgressReporter.None, CancellationToken.None);
        using (var cts = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => Trainer.Train(resumed, Options, Data(), Valid(), new StopAfter(3, cts), cts.Token));
        Trainer.Train(resumed, Options, Data(), Valid(), IProgressReporter.None, CancellationToken.None, resume: true);
        Assert.Equal(File.ReadAllText(Path.Combine(straight, Trainer.PlotFile)), File.ReadAllText(Path.Combine(resumed, Trainer.PlotFile)));
    }

    [Fact]
    public void Resume_accepts_a_store_with_a_smaller_vocabulary_and_refuses_a_larger_one()
    {
        string dir = TestPaths.NewTempDir();
        Trainer.Train(dir, Options with { Tokens = TokensPerStep }, Data(), [], IProgressReporter.None, CancellationToken.None);
        var state = Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile);
        var json = JsonNode.Parse(File.ReadAllText(state))!.AsObject();
        json["options"]!["Tokens"] = 2 * TokensPerStep;  // one more step to run
        File.WriteAllText(state, json.ToJsonString());
        var e = Assert.Throws<UserError>(() => Trainer.Train(dir, Options, Data(Vocab + 1), [], IProgressReporter.None, CancellationToken.None, resume: true));
        Assert.Equal($"the token store's vocabulary ({Vocab + 1}) is larger than the model's ({Vocab})", e.Message);
        Assert.Equal(2, Trainer.Train(dir, Options, Data(Vocab - 5), [], IProgressReporter.None, CancellationToken.None, resume: true).Steps);
    }

    [Fact]
    public void Refusals_name_what_is_wrong()
    {
        string dir = TestPaths.NewTempDir();
        var e = Assert.Throws<UserError>(() => Trainer.Train(dir, Options, Data(), [], IProgressReporter.None, CancellationToken.None, resume: true));
        Assert.Equal($"{dir}: no checkpoint to resume from ({Path.Combine(dir, "checkpoint", "state.json")} not found)", e.Message);
        e = Assert.Throws<UserError>(() => Trainer.Train(dir, Options, Data(context: 12), [], IProgressReporter.None, CancellationToken.None));
        Assert.Equal("the data gives windows of 12 tokens but the model's context is 16", e.Message);

        Trainer.Train(dir, Options with { Tokens = 1 }, Data(), [], IProgressReporter.None, CancellationToken.None);
        e = Assert.Throws<UserError>(() => Trainer.Train(dir, Options, Data(), [], IProgressReporter.None, CancellationToken.None));
        Assert.Equal($"{dir} already holds a training run (use --resume to continue it, or --force to start over)", e.Message);

        string state = Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile);
        var json = JsonNode.Parse(File.ReadAllText(state))!.AsObject();
        foreach (var (key, message) in new[] { ("step", "step: missing"), ("options", "options: missing"), ("optimizer_steps", "optimizer_steps: missing"), ("data_position", "data_position: missing") })
        {
            var broken = json.DeepClone().AsObject();
            broken[key] = null;
            File.WriteAllText(state, broken.ToJsonString());
            var d = Assert.Throws<DataFormatError>(() => Trainer.Train(dir, Options, Data(), [], IProgressReporter.None, CancellationToken.None, resume: true));
            Assert.Equal($"{state}: {message}", d.Message);
        }
        File.WriteAllText(state, "[1, 2]");
        Assert.Equal($"{state}: (root): not a JSON object",
            Assert.Throws<DataFormatError>(() => Trainer.Train(dir, Options, Data(), [], IProgressReporter.None, CancellationToken.None, resume: true)).Message);
    }

    [Fact]
    public void Force_starts_over_in_an_empty_directory()
    {
        string dir = TestPaths.NewTempDir();
        Trainer.Train(dir, Options with { Tokens = 1 }, Data(), [], IProgressReporter.None, CancellationToken.None);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "left over");
        Trainer.Train(dir, Options with { Tokens = 1 }, Data(), [], IProgressReporter.None, CancellationToken.None, force: true);
        Assert.False(File.Exists(Path.Combine(dir, "notes.txt")));
        Assert.Single(Lines(dir));
    }

    [Fact]
    public void The_first_step_trains_on_the_first_batch_of_windows_the_data_gives()
    {
        // The logged loss of step 1 is the fresh model's loss on the data's first Batch windows, each in its own slot.
        string dir = TestPaths.NewTempDir();
        Trainer.Train(dir, Options with { Tokens = TokensPerStep }, Data(), [], IProgressReporter.None, CancellationToken.None);
        double logged = (double)Lines(dir)[0]["loss"]!;

        var model = Transformer<float>.Create(Options.Config(Vocab), Options.Seed);
        var data = Data();
        var windows = new int[Batch * (Context + 1)];
        for (int b = 0; b < Batch; b++) data.Next(windows.AsSpan(b * (Context + 1), Context + 1));
        Assert.NotEqual(windows[..(Context + 1)], windows[(Context + 1)..]);
        Assert.Equal(model.Loss(windows, Batch).Value[0], logged, 5);
    }

    [Fact]
    public void A_diverging_run_logs_null_for_a_non_finite_loss_and_every_line_stays_json()
    {
        // A learning rate of 1e30 blows the weights up after the first step; the metrics file must stay readable.
        string dir = TestPaths.NewTempDir();
        Trainer.Train(dir, Options with { Tokens = 3 * TokensPerStep, LearningRate = 1e30f, EvalEvery = 1000 }, Data(), [], IProgressReporter.None, CancellationToken.None);
        var lines = Lines(dir);
        Assert.True(double.IsFinite((double)lines[0]["loss"]!));
        Assert.Contains(lines, l => l.ContainsKey("loss") && l["loss"] is null);
    }
}
