namespace Mechanist.Text;

/// <summary>What a stage read of a corpus: documents, bytes, source labels, and the bad rows it skipped (null when none).</summary>
public sealed record CorpusSummary(long Documents, long Bytes, IReadOnlyList<string> SourceLabels, string? Issues)
{
    public static CorpusSummary Of(CorpusReader corpus) => new(corpus.Documents, corpus.TotalBytes, corpus.SourceLabels, corpus.Issues.Summary());
}
