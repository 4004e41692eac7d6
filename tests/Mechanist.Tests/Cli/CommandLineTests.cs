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
