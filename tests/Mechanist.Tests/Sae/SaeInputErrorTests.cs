using Mechanist.Activations;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>Bad options and output paths for `sae train` and `sae synth`: one user error naming the option, nothing written.</summary>
public class SaeInputErrorTests
{
    [Fact]
    public void Bad_training_options_are_user_errors_that_write_nothing()
    {
        string dir = TestPaths.NewTempDir();
        string data = Path.Combine(dir, "x.npy");
        SyntheticData.Write(new SyntheticOptions { D = 8, Features = 16, L0 = 2, Rows = 600, Seed = 1 }, data, false);
        using var source = ActivationSource.Open(data);
        var ok = new SaeTrainingOptions { Widths = [16, 32], Ks = [4], BatchSize = 64, CheckpointEverySteps = 0 };
        string outDir = Path.Combine(dir, "out");
        void Refused(SaeTrainingOptions o, string expected, string? into = null)
        {
            var e = Assert.ThrowsAny<UserError>(() => SaeTrainer.Train(source, o, into ?? outDir, IProgressReporter.None));
            Assert.Contains(expected, e.Message);
            Assert.False(Directory.Exists(outDir));
        }
        Refused(ok with { Ks = [20] }, "--k 20: each k must be in [1, width] and the smallest --width is 16");
        Refused(ok with { Tokens = -5 }, "--tokens -5");
        Refused(ok with { HoldoutRows = -1 }, "--holdout -1");
        Refused(ok with { HoldoutRows = 600 }, "--holdout 600");
        Refused(ok with { ClipNorm = -1 }, "--clip");
        Refused(ok, "is a file, not a folder", into: data);
    }

    [Fact]
    public void Synth_refuses_a_folder_as_its_output_before_generating()
    {
        string dir = TestPaths.NewTempDir();
        var e = Assert.ThrowsAny<UserError>(() => SyntheticData.Write(new SyntheticOptions { D = 8, Features = 16, Rows = 10 }, dir, false));
        Assert.Contains("is a folder", e.Message);
        Assert.False(Directory.Exists(SyntheticData.TruthDirFor(dir)));
        string npy = Path.Combine(dir, "x.npy");
        Assert.Contains("--noise -1", Assert.ThrowsAny<UserError>(() => SyntheticData.Write(new SyntheticOptions { D = 8, Features = 16, Rows = 10, Noise = -1 }, npy, false)).Message);
        Assert.False(File.Exists(npy));
    }

    [Fact]
    public void Sae_eval_refuses_a_negative_row_count()
    {
        var error = new StringWriter();
        int code = Mechanist.Cli.CommandLine.Run(new System.CommandLine.RootCommand("test") { Mechanist.Cli.Commands.SaeCommands.Create() },
            ["sae", "eval", "--sae", "/nonexistent", "--acts", "/nonexistent.npy", "--rows", "-5"], error);
        Assert.Equal(1, code);
        Assert.StartsWith("error: --rows -5", error.ToString());
    }
}
