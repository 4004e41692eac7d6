using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

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
            if (parse.Action is ParseErrorAction && !IsBareGroup(parse))
            {
                // One line naming what was wrong and where help is, not the whole help text under the error.
                error.WriteLine($"error: {Describe(parse)}; see `{CommandPath(parse.CommandResult)} --help`");
                return 1;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Error = error });
        }
        catch (Exception e)
        {
            return Report(e, error);
        }
    }

    /// <summary>
    /// Exit code and message for what a command threw: the user's mistakes and the user's machine (a missing file,
    /// a folder we may not write, a full disk, a file where a folder should be) are one line and 1; our bugs are 2.
    /// </summary>
    static int Report(Exception e, TextWriter error)
    {
        if (e is AggregateException aggregate) // Parallel.For and tasks wrap what their bodies threw
        {
            var inner = aggregate.Flatten().InnerExceptions;
            if (inner.Count > 0) e = inner.FirstOrDefault(x => !IsUsers(x)) ?? inner[0];
        }
        switch (e)
        {
            case UserError:
                error.WriteLine($"error: {e.Message}");
                return 1;
            case OperationCanceledException:
                error.WriteLine("cancelled");
                return 130;
            case IOException or UnauthorizedAccessException when e is not FileLoadException: // an assembly that fails to load is ours
                error.WriteLine($"error: {OneLine(e is FileNotFoundException { FileName: string file } ? $"no such file: {file}" : e.Message)}");
                return 1;
            default:
                error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("MECHANIST_DEBUG") == "1") error.WriteLine(e);
                else error.WriteLine("(set MECHANIST_DEBUG=1 for the stack trace)");
                return 2;
        }
    }

    /// <summary>
    /// Not our bug: a <see cref="UserError"/>, a cancellation, or the operating system refusing (file or folder
    /// missing, access denied, disk full, a file where a folder is expected: IOException and its kin). .NET names
    /// the path in those messages.
    /// </summary>
    static bool IsUsers(Exception e) => e is UserError or OperationCanceledException or IOException or UnauthorizedAccessException && e is not FileLoadException;

    static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>`mechanist features` alone: a group without an action, typed with nothing wrong. Its help lists what it holds.</summary>
    static bool IsBareGroup(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        return command.Action is null && command.Subcommands.Count > 0 && parse.UnmatchedTokens.Count == 0
            && parse.Errors.All(e => e.SymbolResult is null or CommandResult);
    }

    /// <summary>The parse errors in one line: unknown tokens with the nearest option or subcommand, then the rest (missing options, bad values).</summary>
    static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var parts = new List<string>();
        // Only the first unknown word: what follows it is usually its value ("--tokns 5") or a subcommand of an unknown group.
        foreach (string token in parse.UnmatchedTokens.Take(1))
        {
            bool option = token.StartsWith('-');
            var names = option
                ? command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            string? near = names.Select(n => (Name: n, Distance: Distance(token, n))).Where(n => n.Distance <= Math.Max(2, token.Length / 3))
                .OrderBy(n => n.Distance).ThenBy(n => n.Name, StringComparer.Ordinal).Select(n => n.Name).FirstOrDefault();
            parts.Add($"unknown {(option ? "option" : command.Subcommands.Count > 0 ? "command" : "argument")} '{token}'" + (near is null ? "" : $" (did you mean {near}?)"));
        }
        // A group (no action of its own) also reports that no subcommand was given: the unknown word says it better.
        if (parts.Count == 0 || command.Action is not null)
            foreach (var e in parse.Errors)
                if (!parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)))
                    parts.Add(e.Message.TrimEnd('.'));
        return parts.Count > 0 ? string.Join("; ", parts.Distinct()) : "the command line could not be parsed";
    }

    /// <summary>"mechanist features build": the command's names from the root down, whatever the executable is called.</summary>
    static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
            if (c.Parent is not null) names.Add(c.Command.Name);
        names.Add("mechanist");
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Levenshtein distance, for "did you mean".</summary>
    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>Attaches a synchronous body to a command; the token is cancelled by Ctrl-C.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, CancellationToken, int> body)
    {
        command.SetAction((parse, token) => Task.FromResult(body(parse, token)));
        return command;
    }
}
