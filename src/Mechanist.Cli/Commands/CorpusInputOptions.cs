using System.CommandLine;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>The options of every command that reads a corpus (`tokenizer train`, `corpus prepare`): one definition, one help text.</summary>
sealed class CorpusInputOptions
{
    public Option<string[]> Input { get; } = new("--input")
    {
        Description = "Text files, folders (searched recursively), JSON Lines or Parquet files, or a quoted glob ('data/train-*.parquet'); " +
                      "text and JSON Lines may be .gz or .zst. Other binary files are refused. Repeatable.",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string> TextField { get; } = new("--text-field", "--field")
    {
        Description = "The JSON Lines field or Parquet column holding each document's text; dots reach nested fields (meta.body).",
        DefaultValueFactory = _ => "text",
    };

    public Option<string?> SourceField { get; } = new("--source-field")
    {
        Description = "The field or column labelling each document's source, kept in the token store (default: meta.pile_set_name or " +
                      "meta.source where a document has one, else the file's name).",
    };

    public Option<string[]> Include { get; } = new("--include")
    {
        Description = "File-name patterns read from folders (default: *.txt *.md *.jsonl *.ndjson, their .gz and .zst, and *.parquet).",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<bool> SkipBadRows { get; } = new("--skip-bad-rows")
    {
        Description = "Skip bad rows (invalid JSON or UTF-8, a missing field, a line that is not an object) and report how many, " +
                      "instead of stopping at the first with an error naming it. A damaged file (truncated, corrupt) always stops.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(TextField);
        command.Options.Add(SourceField);
        command.Options.Add(Include);
        command.Options.Add(SkipBadRows);
    }

    public IReadOnlyList<string> Inputs(ParseResult parse) => parse.GetValue(Input)!;

    public CorpusOptions Options(ParseResult parse)
    {
        var patterns = parse.GetValue(Include);
        return new CorpusOptions
        {
            TextField = parse.GetValue(TextField)!,
            SourceField = parse.GetValue(SourceField),
            Include = patterns is { Length: > 0 } ? patterns : CorpusOptions.DefaultInclude,
            SkipBadRows = parse.GetValue(SkipBadRows),
        };
    }
}
