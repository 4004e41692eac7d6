using System.CommandLine;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist corpus prepare`: text → token store.</summary>
static class CorpusCommands
{
    public static Command Create()
    {
        var command = new Command("corpus", "Turn text into a token store that models train on (memory-mapped shards + meta.json).");
        command.Subcommands.Add(Prepare());
        return command;
    }

    static Command Prepare()
    {
        var corpusOptions = new CorpusInputOptions();
        var force = TokenizerCommands.ForceOption();
        var tokenizerPath = new Option<string>("--tokenizer")
        {
            Description = "Folder with vocab.json + merges.txt (or tokenizer.json); it must have <|endoftext|>.",
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "Folder for the token store (created whole at the end).", Required = true };
        var validFraction = new Option<double>("--valid-fraction")
        {
            Description = "Fraction of documents held out in the \"valid\" split, chosen by a seeded hash of each document's index.",
            DefaultValueFactory = _ => 0.01,
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the train/valid split.", DefaultValueFactory = _ => 0UL };
        var command = new Command("prepare", "Encode a corpus (text, JSON Lines, Parquet; .gz, .zst) into uint16/uint32 token shards, documents separated by <|endoftext|>.")
            { corpusOptions.Input, tokenizerPath, output, validFraction, seed };
        corpusOptions.AddTo(command);
        command.Options.Add(force);
        return command.WithAction((parse, cancel) =>
        {
            var r = CorpusPrepareStage.Run(new CorpusPrepareStageOptions
            {
                Inputs = corpusOptions.Inputs(parse), Corpus = corpusOptions.Options(parse), Tokenizer = parse.GetValue(tokenizerPath)!, OutDir = parse.GetValue(output)!,
                Store = new TokenStoreOptions { ValidFraction = parse.GetValue(validFraction), Seed = parse.GetValue(seed), Force = parse.GetValue(force) },
            }, ConsoleProgress.Instance, cancel);
            if (r.Corpus.Issues is { } issues) Console.Error.WriteLine($"warning: {issues}");
            Console.WriteLine($"sources: {SourceSummary(r.Corpus.SourceLabels)}");
            foreach (var (name, split) in r.Meta.Splits)
                Console.WriteLine($"{name,-6} {split.Tokens,14:N0} tokens {split.Documents,10:N0} documents {split.Shards.Count,3} shard(s)");
            Console.WriteLine($"{r.Meta.Dtype}, vocabulary {r.Meta.VocabSize:N0}, {r.Seconds:F1} s → {r.OutDir}");
            return 0;
        });
    }

    static string SourceSummary(IReadOnlyList<string> labels) =>
        labels.Count <= 8 ? string.Join(", ", labels) : $"{labels.Count:N0} labels ({string.Join(", ", labels.Take(8))}, ...)";
}
