using System.CommandLine;

namespace Mechanist.Tests;

/// <summary>
/// Command-line tests redirect Console.Out, which is process-wide: they run in a collection that xunit runs
/// alone, so no other test's output lands in their writer and theirs never lands here.
/// </summary>
[CollectionDefinition("console-alone", DisableParallelization = true)]
public sealed class ConsoleAloneCollection;

/// <summary>Runs `mechanist` verbs in process and captures what they print. Callers must be in "console-alone".</summary>
public static class CliRun
{
    public static (int Code, string Out, string Err) Capture(Command command, params string[] args)
    {
        var root = new RootCommand { command };
        var output = new StringWriter();
        var error = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try { return (Mechanist.Cli.CommandLine.Run(root, args, error), output.ToString(), error.ToString()); }
        finally { Console.SetOut(saved); }
    }
}
