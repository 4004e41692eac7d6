using System.CommandLine;
using Mechanist.Cli.Commands;

namespace Mechanist.Tests.Numerics;

/// <summary>`mechanist bench ...` refuses bad option values with one line naming the option, before measuring anything.</summary>
public class BenchCommandTests
{
    [Theory]
    [InlineData("gemm", "--threads", "0")]
    [InlineData("gemm", "--repeats", "0")]
    [InlineData("gemm", "--shape", "0x1x1")]
    [InlineData("tokenizer", "--repeats", "0")]
    [InlineData("sae", "--repeats", "0")]
    [InlineData("sae", "--seconds", "-1")]
    [InlineData("sae", "--peer", "/nonexistent/peer.py")]
    [InlineData("sparse", "--shape", "0x1")]
    [InlineData("sparse", "--densities", "2")]
    [InlineData("sparse", "--densities", "1/0")]
    [InlineData("sparse", "--tokens", "0")]
    public void Bad_values_are_user_errors_naming_the_option(string bench, string option, string value)
    {
        var error = new StringWriter();
        int code = Mechanist.Cli.CommandLine.Run(new RootCommand("test") { BenchCommands.Create() }, ["bench", bench, option, value], error);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: {option}", error.ToString());
    }
}
