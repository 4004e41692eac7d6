using System.CommandLine;
using System.Text;
using System.Text.Json;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist tokenizer train|encode|decode`: byte-level BPE tokenizers.</summary>
static class TokenizerCommands
{
    public static Command Create()
    {
        var command = new Command("tokenizer", "Byte-level BPE tokenizers: learn one from your text, or encode and decode with one (GPT-2's included).");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Encode());
        command.Subcommands.Add(Decode());
        return command;
    }

    internal static Option<bool> ForceOption() => new("--force") { Description = "Replace the output folder's files if they exist." };

    static Option<string> TokenizerOption() => new("--tokenizer")
    {
        Description = "Folder with vocab.json + merges.txt (or tokenizer.json), or a tokenizer.json file.",
        Required = true,
    };

    static Command Train()
    {
        var corpusOptions = new CorpusInputOptions();
        var force = ForceOption();
        var vocabSize = new Option<int>("--vocab-size")
        {
            Description = "Tokens in the vocabulary: 256 bytes + merges + <|endoftext|> (the last id).",
            DefaultValueFactory = _ => 8192,
        };
        var output = new Option<string>("--out") { Description = "Folder to write vocab.json, merges.txt and tokenizer.json into.", Required = true };
        var command = new Command("train", "Learn a byte-level BPE vocabulary from text (GPT-2's pre-tokenizer; deterministic for the same input).")
            { corpusOptions.Input, vocabSize, output };
        corpusOptions.AddTo(command);
        command.Options.Add(force);
        return command.WithAction((parse, cancel) =>
        {
            var r = TokenizerTrainStage.Run(new TokenizerTrainStageOptions
            {
                Inputs = corpusOptions.Inputs(parse), Corpus = corpusOptions.Options(parse), VocabSize = parse.GetValue(vocabSize),
                OutDir = parse.GetValue(output)!, Force = parse.GetValue(force),
            }, ConsoleProgress.Instance, cancel);
            if (r.Corpus.Issues is { } issues) Console.Error.WriteLine($"warning: {issues}");
            Console.WriteLine($"learned {r.Tokenizer.VocabSize:N0} tokens ({r.Tokenizer.Merges.Count:N0} merges) from {r.Corpus.Documents:N0} documents " +
                              $"in {r.Seconds:F1} s → {r.OutDir}");
            return 0;
        });
    }

    static Command Encode()
    {
        var tokenizerPath = TokenizerOption();
        var json = new Option<bool>("--json") { Description = "Print the ids as one JSON array (default: ids separated by spaces)." };
        var jsonl = new Option<string>("--jsonl")
        {
            Description = "Read JSON Lines and print one JSON array of ids per input line, in order, encoding the named field.",
        };
        var allowSpecial = new Option<bool>("--allow-special")
        {
            Description = "Turn special-token text such as <|endoftext|> into its special id (default: encode it as ordinary text).",
        };
        var command = new Command("encode", "Encode text from stdin into token ids on stdout, e.g. `echo Hello | mechanist tokenizer encode --tokenizer tok`.") { tokenizerPath, json, jsonl, allowSpecial };
        return command.WithAction((parse, cancel) =>
        {
            var tokenizer = TokenizerFiles.Load(parse.GetValue(tokenizerPath)!);
            bool special = parse.GetValue(allowSpecial);
            var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false, throwOnInvalidBytes: true));
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false, NewLine = "\n" };
            try
            {
                if (parse.GetValue(jsonl) is { } fieldName) EncodeJsonLines(tokenizer, fieldName, special, stdin, stdout, cancel);
                else
                {
                    string text;
                    try { text = stdin.ReadToEnd(); }
                    catch (DecoderFallbackException) { throw new UserError("stdin is not valid UTF-8"); }
                    int[] ids = tokenizer.Encode(text, special);
                    if (parse.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(ids));
                    else stdout.WriteLine(string.Join(' ', ids));
                }
            }
            finally { stdout.Flush(); }
            return 0;
        });
    }

    /// <summary>Encodes JSON Lines in batches on all cores; output lines match input lines one for one.</summary>
    static void EncodeJsonLines(BpeTokenizer tokenizer, string field, bool special, TextReader input, TextWriter output, CancellationToken cancel)
    {
        var batch = new List<string>();
        long lineNumber = 0;
        using var progress = ConsoleProgress.Instance.Start("encoding lines", 0, "line");
        void Flush()
        {
            foreach (var ids in tokenizer.EncodeBatch(batch, special)) output.WriteLine(JsonSerializer.Serialize(ids));
            progress.Advance(batch.Count);
            batch.Clear();
        }
        while (true)
        {
            string? line;
            try { line = input.ReadLine(); }
            catch (DecoderFallbackException) { throw new DataFormatError("stdin", $"line {lineNumber + 1}", "invalid UTF-8"); }
            if (line == null) break;
            lineNumber++;
            batch.Add(TextOf(line, field, lineNumber));
            if (batch.Count == 4096) { cancel.ThrowIfCancellationRequested(); Flush(); }
        }
        Flush();
    }

    static string TextOf(string line, string field, long lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DataFormatError("stdin", $"line {lineNumber}", "not a JSON object");
            if (!doc.RootElement.TryGetProperty(field, out var value)) throw new DataFormatError("stdin", $"line {lineNumber}", $"missing field \"{field}\"");
            if (value.ValueKind != JsonValueKind.String) throw new DataFormatError("stdin", $"line {lineNumber}", $"field \"{field}\" is not a string");
            return value.GetString()!;
        }
        catch (JsonException e) { throw new DataFormatError("stdin", $"line {lineNumber}", $"invalid JSON ({e.Message.Split(" LineNumber")[0]})"); }
    }

    static Command Decode()
    {
        var tokenizerPath = TokenizerOption();
        var command = new Command("decode", "Decode token ids from stdin (a JSON array or numbers separated by spaces/commas) into text on stdout, " +
            "e.g. `echo 15496 11 995 | mechanist tokenizer decode --tokenizer gpt2`.")
            { tokenizerPath };
        return command.WithAction((parse, _) =>
        {
            var tokenizer = TokenizerFiles.Load(parse.GetValue(tokenizerPath)!);
            var ids = ParseIds(Console.In.ReadToEnd());
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(tokenizer.DecodeBytes(ids.ToArray()));
            return 0;
        });
    }

    /// <summary>Numbers in any of "[1, 2, 3]", "1 2 3" or "1,2,3" (one or several arrays).</summary>
    internal static List<int> ParseIds(string text)
    {
        var ids = new List<int>();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsAsciiDigit(c) || c == '-')
            {
                int start = i++;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                if (!int.TryParse(text.AsSpan(start, i - start), out int id) || id < 0) throw new UserError($"not a token id: {text[start..i]}");
                ids.Add(id);
            }
            else if (char.IsWhiteSpace(c) || c is ',' or '[' or ']') i++;
            else throw new UserError($"unexpected character '{c}' in the ids at position {i} (expected numbers, spaces, commas or brackets)");
        }
        return ids;
    }
}
