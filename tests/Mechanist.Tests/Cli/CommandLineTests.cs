using Mechanist.Cli;
using Mechanist.Cli.Commands;

namespace Mechanist.Tests.Cli;

/// <summary>The exit-code contract of `mechanist`: 0 ok, 1 the user's mistake (one line), 2 our bug, 130 cancelled.</summary>
[Collection("console-alone")]
public class CommandLineTests
{
    static readonly string[] Required = ["--sae", "s", "--model", "m", "--data", "d"];

    static string OneLine(string err)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        return lines[0];
    }

    [Fact]
    public void A_misspelt_option_gives_one_line_with_the_nearest_option_and_where_help_is()
    {
        var (code, output, err) = CliRun.Capture(FeaturesCommands.Create(), ["features", "build", .. Required, "--out", "o", "--tokns", "5"]);
        Assert.Equal(1, code);
        Assert.Equal("", output); // no help text
        string line = OneLine(err);
        Assert.StartsWith("error: ", line);
        Assert.Contains("'--tokns'", line);
        Assert.Contains("did you mean --tokens?", line);
        Assert.DoesNotContain("'5'", line); // the misspelt option's value is not a second mistake
        Assert.EndsWith("see `mechanist features build --help`", line);
    }

    [Fact]
    public void A_missing_required_option_or_a_bad_value_gives_one_line_naming_the_option()
    {
        var (code, output, err) = CliRun.Capture(FeaturesCommands.Create(), ["features", "build", .. Required]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        string line = OneLine(err);
        Assert.Contains("'--out'", line);
        Assert.EndsWith("see `mechanist features build --help`", line);

        (code, output, err) = CliRun.Capture(FeaturesCommands.Create(), ["features", "build", .. Required, "--out", "o", "--tokens", "lots"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("--tokens", OneLine(err));

        (code, output, err) = CliRun.Capture(FeaturesCommands.Create(), ["features", "biuld"]);
        Assert.Equal(1, code);
        Assert.Equal("error: unknown command 'biuld' (did you mean build?); see `mechanist features --help`", OneLine(err));
    }

    [Fact]
    public void Help_and_a_bare_group_still_print_help()
    {
        var (code, output, _) = CliRun.Capture(FeaturesCommands.Create(), "features", "build", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--tokens", output);
        (_, output, _) = CliRun.Capture(FeaturesCommands.Create(), "features");
        Assert.Contains("build", output);
    }
}

/// <summary>What the operating system refuses is the user's environment (exit 1, one line with the path); our bugs exit 2.</summary>
[Collection("console-alone")]
public class CommandLineErrorTests
{
    static (int Code, string Out, string Err) Throwing(Exception e)
    {
        var command = new System.CommandLine.Command("boom", "throws");
        command.WithAction((_, _) => throw e);
        return CliRun.Capture(command, "boom");
    }

    public static TheoryData<Exception, string> SystemRefusals => new()
    {
        { new FileNotFoundException("Could not find file '/data/in.txt'.", "/data/in.txt"), "/data/in.txt" },
        { new DirectoryNotFoundException("Could not find a part of the path '/data/gone/x'."), "/data/gone/x" },
        { new UnauthorizedAccessException("Access to the path '/srv/out' is denied."), "/srv/out" },
        { new IOException("No space left on device : '/srv/out/model.safetensors'"), "/srv/out/model.safetensors" },
        { new AggregateException(new IOException("The file '/srv/out' already exists.")), "/srv/out" },
    };

    [Theory]
    [MemberData(nameof(SystemRefusals))]
    public void What_the_operating_system_refuses_is_one_line_naming_the_path_and_exit_1(Exception e, string path)
    {
        var (code, _, err) = Throwing(e);
        Assert.Equal(1, code);
        string line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(path, line);
    }

    [Theory]
    [InlineData(typeof(NullReferenceException))]
    [InlineData(typeof(IndexOutOfRangeException))]
    [InlineData(typeof(InvalidOperationException))]
    [InlineData(typeof(FileLoadException))]
    public void Our_bugs_stay_internal_errors_with_exit_2(Type type)
    {
        var (code, _, err) = Throwing((Exception)Activator.CreateInstance(type)!);
        Assert.Equal(2, code);
        Assert.StartsWith($"internal error: {type.Name}", err);
        Assert.Contains("MECHANIST_DEBUG=1", err);
        Assert.Equal(2, Throwing(new AggregateException(new IOException("disk"), new NullReferenceException())).Code);
    }

    [Fact]
    public void A_real_verb_writing_under_a_file_exits_1_naming_the_path()
    {
        string dir = TestPaths.NewTempDir();
        string corpus = Path.Combine(dir, "corpus.txt"), file = Path.Combine(dir, "a-file");
        File.WriteAllLines(corpus, Enumerable.Range(0, 200).Select(i => $"the cat sat on the mat number {i} and the dog ran"));
        File.WriteAllText(file, "not a folder");
        var (code, _, err) = CliRun.Capture(TokenizerCommands.Create(), "tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--out", Path.Combine(file, "tok"));
        Assert.Equal(1, code);
        Assert.Contains($"error: ", err);
        Assert.Contains(file, err);
        Assert.DoesNotContain("internal error", err);
    }
}
