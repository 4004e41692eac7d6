using System.Diagnostics;

namespace Mechanist.Text;

/// <summary>What `mechanist tokenizer train` (and the demo's tokenizer stage) asks for.</summary>
public sealed record TokenizerTrainStageOptions
{
    /// <summary>Text files, folders, JSON Lines or Parquet files (<see cref="CorpusReader"/>).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }
    public CorpusOptions Corpus { get; init; } = new();
    /// <summary>256 bytes + merges + &lt;|endoftext|&gt;.</summary>
    public int VocabSize { get; init; } = 8192;
    /// <summary>Folder for vocab.json, merges.txt and tokenizer.json.</summary>
    public required string OutDir { get; init; }
    /// <summary>Replace a tokenizer already in <see cref="OutDir"/>.</summary>
    public bool Force { get; init; }
}

public sealed record TokenizerTrainStageResult(BpeTokenizer Tokenizer, string OutDir, CorpusSummary Corpus, double Seconds);

/// <summary>The tokenizer stage as one call: learns a byte-level BPE vocabulary from a corpus (<see cref="BpeTrainer"/>) and saves it (<see cref="TokenizerFiles"/>).</summary>
public static class TokenizerTrainStage
{
    public static TokenizerTrainStageResult Run(TokenizerTrainStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        if (File.Exists(o.OutDir)) throw new UserError($"--out {o.OutDir} is a file, not a folder");
        if (File.Exists(Path.Combine(o.OutDir, TokenizerFiles.VocabFile)) && !o.Force)
            throw new UserError($"{o.OutDir} already holds a tokenizer; use --force to replace it");
        var corpus = new CorpusReader(o.Inputs, o.Corpus);
        var clock = Stopwatch.StartNew();
        var tokenizer = BpeTrainer.Train(corpus, o.VocabSize, progress, cancel);
        TokenizerFiles.Save(tokenizer, o.OutDir);
        return new TokenizerTrainStageResult(tokenizer, o.OutDir, CorpusSummary.Of(corpus), clock.Elapsed.TotalSeconds);
    }
}
