using System.CommandLine;
using Mechanist.Cli;
using Mechanist.Cli.Commands;

var root = new RootCommand(
    "Mechanist: take transformer language models apart into features a person can understand.\n" +
    "Stages: tokenizer → corpus → model → acts → sae → features → explain → browse. `mechanist demo` runs them all.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(TokenizerCommands.Create());
root.Subcommands.Add(CorpusCommands.Create());
root.Subcommands.Add(BenchCommands.Create());
root.Subcommands.Add(ModelCommands.Create());
root.Subcommands.Add(SparseCommands.Create());
foreach (var c in BrowseCommands.Create()) root.Subcommands.Add(c);
root.Subcommands.Add(FeaturesCommands.Create());
root.Subcommands.Add(ExplainCommands.Create());
root.Subcommands.Add(SaeCommands.Create());
root.Subcommands.Add(ActsCommands.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(UniversalCommands.Create());
root.Subcommands.Add(CircuitCommands.Create());
return CommandLine.Run(root, args);
