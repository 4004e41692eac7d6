using System.Diagnostics;

namespace Mechanist.Text;

/// <summary>What `mechanist corpus prepare` (and the demo's tokens stage) asks for.</summary>
public sealed record CorpusPrepareStageOptions
{
    /// <summary>Text files, folders, JSON Lines or Parquet files (<see cref="CorpusReader"/>).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }
    public CorpusOptions Corpus { get; init; } = new();
    /// <summary>Tokenizer folder (vocab.json + merges.txt, or tokenizer.json) or a tokenizer.json file; recorded in the store.</summary>
    public required string Tokenizer { get; init; }
    public required string OutDir { get; init; }
    /// <summary>Split fraction, seed, --force, shard size; its TokenizerPath is set to <see cref="Tokenizer"/>'s full path.</summary>
    public TokenStoreOptions Store { get; init; } = new();
}

public sealed record CorpusPrepareStageResult(TokenStoreMeta Meta, string OutDir, CorpusSummary Corpus, double Seconds);

/// <summary>The token-store stage as one call: loads the tokenizer, encodes the corpus and writes the store (<see cref="TokenStoreWriter.Prepare"/>).</summary>
public static class CorpusPrepareStage
{
    public static CorpusPrepareStageResult Run(CorpusPrepareStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        var tokenizer = TokenizerFiles.Load(o.Tokenizer);
        var corpus = new CorpusReader(o.Inputs, o.Corpus);
        var clock = Stopwatch.StartNew();
        var meta = TokenStoreWriter.Prepare(corpus, tokenizer, o.OutDir, o.Store with { TokenizerPath = Path.GetFullPath(o.Tokenizer) }, progress, cancel);
        return new CorpusPrepareStageResult(meta, o.OutDir, CorpusSummary.Of(corpus), clock.Elapsed.TotalSeconds);
    }
}
