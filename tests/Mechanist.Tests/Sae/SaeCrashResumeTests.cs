using Mechanist.Activations;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// Resume after a crash, not a clean Ctrl-C: the run dies two steps after its last kept checkpoint, so training.jsonl
/// holds lines (and a resampling) for steps the checkpoint has not seen. Resuming must drop them (StepLog's trim) and
/// end bit for bit where an uninterrupted run ends: weights, Adam moments, firing history, thresholds, log, metrics.
/// </summary>
public class SaeCrashResumeTests
{
    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    [InlineData(SaeArchitecture.BatchTopK)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void A_run_resumed_after_a_crash_ends_exactly_where_an_uninterrupted_run_ends(SaeArchitecture arch)
    {
        string dir = TestPaths.NewTempDir();
        string data = Path.Combine(dir, "x.npy");
        SyntheticData.Write(new SyntheticOptions { D = 16, Features = 40, L0 = 3, Rows = 1500, Seed = 2 }, data, false);
        var o = new SaeTrainingOptions
        {
            // relu's λ and learning rate silence latents by step 5, so a resampling is logged past the kept checkpoint
            // and must be redone (same draw) after the resume; the batchtopk threshold average starts at step 2.
            Architecture = arch, Widths = [32], Ks = [4], L1 = [arch == SaeArchitecture.Relu ? 1.0 : 0.05], BatchSize = 128, Tokens = 128 * 8,
            WarmupSteps = 2, ResampleSteps = [5], ResampleWindowSteps = 1, ResampleInputs = 300, DeadWindowTokens = 256,
            ThresholdStartStep = 2, CheckpointEverySteps = 1, LogEverySteps = 1, HoldoutRows = 200,
            LearningRate = arch == SaeArchitecture.Relu ? 0.03 : 3e-3,
        };
        using var source = ActivationSource.Open(data);
        string straight = Path.Combine(dir, "straight"), crashed = Path.Combine(dir, "crashed");
        SaeTrainer.Train(source, o, straight, IProgressReporter.None);

        var crash = new SimulatedCrash(Path.Combine(crashed, SaeTrainer.CheckpointDir), keepStep: 3, crashStep: 5);
        Assert.Throws<SimulatedCrash.CrashException>(() => SaeTrainer.Train(source, o, crashed, crash));
        crash.RestoreKeptCheckpoint();
        string log = Path.Combine(crashed, SaeTrainer.LogFile);
        Assert.Equal([1, 2, 3, 4, 5], StepsIn(log).Distinct());
        if (arch == SaeArchitecture.Relu) Assert.Contains("\"event\":\"resample\"", File.ReadAllText(log));

        SaeTrainer.Train(source, o, crashed, IProgressReporter.None, resume: true);

        var expected = Files(straight);
        Assert.Equal(expected.Keys, Files(crashed).Keys);
        foreach (var (name, bytes) in Files(crashed)) Assert.True(expected[name].AsSpan().SequenceEqual(bytes), $"{arch}: {name} differs from the uninterrupted run's");
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], StepsIn(log).Distinct());
    }

    static IEnumerable<long> StepsIn(string log) =>
        File.ReadLines(log).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["step"]!.GetValue<long>());

    /// <summary>Every file under the run folder (checkpoint with its Adam moments, saved SAEs, metrics, log), by relative path.</summary>
    static SortedDictionary<string, byte[]> Files(string root) =>
        new(Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes), StringComparer.Ordinal);
}
