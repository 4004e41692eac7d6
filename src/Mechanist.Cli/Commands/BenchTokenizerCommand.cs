using System.CommandLine;
using Mechanist.Bench;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench tokenizer`: GPT-2 encoding speed against npm peers, and optionally BPE training time.</summary>
static class BenchTokenizerCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = "GPT-2 tokenizer folder (vocab.json + merges.txt).",
            DefaultValueFactory = _ => "../shared/tokenizers/gpt2",
        };
        var text = new Option<string[]>("--text")
        {
            Description = "Text to encode: files, folders or JSON Lines (.gz); documents are joined by blank lines.",
            DefaultValueFactory = _ => ["../shared/corpus/mini-pile.valid.jsonl.gz"],
            AllowMultipleArgumentsPerToken = true,
        };
        var repeats = new Option<int>("--repeats") { Description = "Rounds; each contender's best round is reported.", DefaultValueFactory = _ => 3 };
        var peers = new Option<string>("--peers")
        {
            Description = "Folder of the npm peers (js-tiktoken, tiktoken); run `npm install` there first. \"none\" skips them.",
            DefaultValueFactory = _ => "bench/peers/tokenizer",
        };
        var train = new Option<string[]>("--train")
        {
            Description = "Also time training a vocabulary on this corpus and report its tokens/byte on the --text.",
            AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size for --train.", DefaultValueFactory = _ => 8192 };
        var command = new Command("tokenizer",
            "GPT-2 encoding MB/s (cold word cache, 1 thread and all cores) interleaved with js-tiktoken and tiktoken (Rust as WebAssembly) " +
            "on the same text; with --train, BPE training time and tokens/byte.") { tokenizer, text, repeats, peers, train, vocabSize };
        return command.WithAction((parse, cancel) =>
        {
            if (parse.GetValue(repeats) < 1) throw new UserError($"--repeats must be at least 1 (got {parse.GetValue(repeats)})");
            string peersDir = parse.GetValue(peers)!;
            var trainInput = parse.GetValue(train);
            TokenizerBench.Run(new TokenizerBenchOptions
            {
                Tokenizer = parse.GetValue(tokenizer)!,
                Text = parse.GetValue(text)!,
                Repeats = parse.GetValue(repeats),
                PeersDir = peersDir == "none" ? null : peersDir,
                TrainInput = trainInput is { Length: > 0 } ? trainInput : null,
                TrainVocabSize = parse.GetValue(vocabSize),
            }, Console.Out, ConsoleProgress.Instance, cancel);
            return 0;
        });
    }
}
