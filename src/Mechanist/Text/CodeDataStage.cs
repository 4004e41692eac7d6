using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Text;

/// <summary>What `mechanist sparse data` (and `sparse train` without --data) asks for.</summary>
public sealed record CodeDataStageOptions
{
    /// <summary>Code to read (folders, .py files, JSON Lines); none: the Python standard library (<see cref="PythonCorpus"/>).</summary>
    public IReadOnlyList<string>? Inputs { get; init; }
    public required string OutDir { get; init; }
    /// <summary>The paper's tokenizer has 2,048 tokens (256 bytes, 1,791 merges, &lt;|endoftext|&gt; = 2047).</summary>
    public int VocabSize { get; init; } = 2048;
    public bool Force { get; init; }
}

/// <param name="Reused">The folder already held data made from the same inputs and vocabulary.</param>
public sealed record CodeDataStageResult(string TokenizerDir, string TokensDir, IReadOnlyList<string> Inputs, bool Reused, long TrainTokens, long ValidTokens);

/// <summary>
/// The data of the weight-sparse models in one folder: a BPE tokenizer learned from the code (<see cref="BpeTrainer"/>)
/// in OUT/tokenizer and the code encoded with it in OUT/tokens (a token store, 2 % of the files held out as "valid").
/// OUT/data.json records the inputs; a second run with the same inputs reuses the folder.
/// </summary>
public static class CodeDataStage
{
    public const string TokenizerFolder = "tokenizer", TokensFolder = "tokens", RecordFile = "data.json";

    public static CodeDataStageResult Run(CodeDataStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        var inputs = PythonCorpus.InputsOrDefault(o.Inputs).Select(Path.GetFullPath).ToList();
        string tokenizer = Path.Combine(o.OutDir, TokenizerFolder), tokens = Path.Combine(o.OutDir, TokensFolder), record = Path.Combine(o.OutDir, RecordFile);
        var wanted = new JsonObject { ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)i!).ToArray()), ["vocab_size"] = o.VocabSize };
        if (!o.Force && File.Exists(record))
        {
            var held = JsonNode.Parse(File.ReadAllText(record));
            if (!JsonNode.DeepEquals(held, wanted))
                throw new UserError($"{o.OutDir} holds data made from other inputs or another vocabulary ({record}); give another folder or --force to remake it");
            return Result(true);
        }
        // Remade from scratch (--force, or an interrupted run: without the record nothing here counts as finished).
        if (File.Exists(record)) File.Delete(record);
        foreach (string partial in new[] { tokenizer, tokens })
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        TokenizerTrainStage.Run(new TokenizerTrainStageOptions { Inputs = inputs, Corpus = PythonCorpus.Options, VocabSize = o.VocabSize, OutDir = tokenizer }, progress, cancel);
        CorpusPrepareStage.Run(new CorpusPrepareStageOptions
        {
            Inputs = inputs, Corpus = PythonCorpus.Options, Tokenizer = tokenizer, OutDir = tokens,
            Store = new TokenStoreOptions { ValidFraction = 0.02 },
        }, progress, cancel);
        AtomicFile.WriteAllText(record, wanted.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"); // last: the folder is complete
        return Result(false);

        CodeDataStageResult Result(bool reused)
        {
            long Count(string split) { try { using var s = TokenStore.Open(tokens, split); return s.Count; } catch (UserError) { return 0; } }
            return new CodeDataStageResult(tokenizer, tokens, inputs, reused, Count("train"), Count("valid"));
        }
    }
}
