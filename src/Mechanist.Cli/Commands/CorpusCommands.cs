using System.CommandLine;
using System.Diagnostics;
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
            string tokenizerDir = parse.GetValue(tokenizerPath)!;
            var tokenizer = TokenizerFiles.Load(tokenizerDir);
            var corpus = corpusOptions.Open(parse);
            var clock = Stopwatch.StartNew();
            var meta = TokenStoreWriter.Prepare(corpus, tokenizer, parse.GetValue(output)!, new TokenStoreOptions
            {
                ValidFraction = parse.GetValue(validFraction),
                Seed = parse.GetValue(seed),
                Force = parse.GetValue(force),
                TokenizerPath = Path.GetFullPath(tokenizerDir),
            }, ConsoleProgress.Instance, cancel);
            if (corpus.Issues.Summary() is { } issues) Console.Error.WriteLine($"warning: {issues}");
            Console.WriteLine($"sources: {SourceSummary(corpus.SourceLabels)}");
            foreach (var (name, split) in meta.Splits)
                Console.WriteLine($"{name,-6} {split.Tokens,14:N0} tokens {split.Documents,10:N0} documents {split.Shards.Count,3} shard(s)");
            Console.WriteLine($"{meta.Dtype}, vocabulary {meta.VocabSize:N0}, {clock.Elapsed.TotalSeconds:F1} s → {parse.GetValue(output)}");
            return 0;
        });
    }

    static string SourceSummary(IReadOnlyList<string> labels) =>
        labels.Count <= 8 ? string.Join(", ", labels) : $"{labels.Count:N0} labels ({string.Join(", ", labels.Take(8))}, ...)";
}
