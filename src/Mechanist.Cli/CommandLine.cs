using System.CommandLine;

namespace Mechanist.Cli;

/// <summary>
/// Runs the command tree with Mechanist's exit-code contract: 0 success, 1 a user's mistake (one clear
/// line on stderr), 2 an internal error, 130 cancelled by Ctrl-C (after the command saved its state).
/// </summary>
public static class CommandLine
{
    public static int Run(RootCommand root, string[] args, TextWriter? error = null)
    {
        error ??= Console.Error;
        try
        {
            var parse = root.Parse(args);
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Error = error });
        }
        catch (UserError e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("cancelled");
            return 130;
        }
        catch (Exception e)
        {
            error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("MECHANIST_DEBUG") == "1") error.WriteLine(e);
            else error.WriteLine("(set MECHANIST_DEBUG=1 for the stack trace)");
            return 2;
        }
    }

    /// <summary>Attaches a synchronous body to a command; the token is cancelled by Ctrl-C.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, CancellationToken, int> body)
    {
        command.SetAction((parse, token) => Task.FromResult(body(parse, token)));
        return command;
    }
}
