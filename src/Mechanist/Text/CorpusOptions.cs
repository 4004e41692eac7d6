namespace Mechanist.Text;

/// <summary>How to read a corpus.</summary>
public sealed record CorpusOptions
{
    /// <summary>The field (JSON Lines) or column (Parquet) that holds each document's text; dots reach into
    /// nested objects and structs (<c>meta.body</c>).</summary>
    public string TextField { get; init; } = "text";

    /// <summary>
    /// The field or column whose value labels each document's source (e.g. <c>meta.pile_set_name</c>);
    /// null: <see cref="DefaultSourceFields"/> where a document has one, else the file's name.
    /// </summary>
    public string? SourceField { get; init; }

    /// <summary>File-name patterns (<c>*</c>, <c>?</c>) picked up when an input is a folder; files named directly are always read.</summary>
    public IReadOnlyList<string> Include { get; init; } = DefaultInclude;

    /// <summary>Skip a bad row (invalid JSON or UTF-8, missing field, not an object) and count it instead of stopping.</summary>
    public bool SkipBadRows { get; init; }

    public static readonly IReadOnlyList<string> DefaultInclude =
    [
        "*.txt", "*.text", "*.md", "*.jsonl", "*.ndjson",
        "*.txt.gz", "*.text.gz", "*.md.gz", "*.jsonl.gz", "*.ndjson.gz",
        "*.txt.zst", "*.text.zst", "*.md.zst", "*.jsonl.zst", "*.ndjson.zst",
        "*.parquet",
    ];

    /// <summary>Where the Pile (<c>pile_set_name</c>) and its derivatives (<c>source</c>) name a document's subset.</summary>
    public static readonly IReadOnlyList<string> DefaultSourceFields = ["meta.pile_set_name", "meta.source"];
}
