using System.Text.Json.Nodes;
using Mechanist.Text;

namespace Mechanist.Models;

/// <summary>
/// Which tokenizer a model reads, by its content hash (<see cref="BpeTokenizer.Hash"/>), so that a token store
/// written by another vocabulary is refused: its ids would name other tokens, and training, evaluation or a
/// harvest on it would run without error and mean nothing.
/// </summary>
public static class ModelTokenizer
{
    /// <summary>Key of the token store's tokenizer hash in a training checkpoint's state.json.</summary>
    public const string StateKey = "tokenizer_hash";

    /// <summary>
    /// The hash of the tokenizer files in the model folder, else the one its training recorded in
    /// <c>checkpoint/state.json</c>, else null (an imported model without tokenizer files: nothing to check against).
    /// </summary>
    public static string? RecordedHash(string modelDir)
    {
        if (File.Exists(Path.Combine(modelDir, TokenizerFiles.VocabFile)) || File.Exists(Path.Combine(modelDir, TokenizerFiles.HuggingFaceFile)))
            return TokenizerFiles.Load(modelDir).Hash;
        string state = Path.Combine(modelDir, Trainer.CheckpointDir, Trainer.StateFile);
        if (!File.Exists(state)) return null;
        try { return (JsonNode.Parse(File.ReadAllText(state)) as JsonObject)?[StateKey]?.GetValue<string>(); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    /// <summary>Refuses (one clear line) a token store whose tokenizer is not the model's.</summary>
    public static void RequireMatch(string modelDir, TokenStore store)
    {
        if (RecordedHash(modelDir) is string hash) RequireSame(hash, $"the model {modelDir}", store);
    }

    /// <summary>Refuses a token store written by a tokenizer other than the one with <paramref name="hash"/>, described by <paramref name="whose"/>.</summary>
    public static void RequireSame(string hash, string whose, TokenStore store)
    {
        if (hash == store.TokenizerHash) return;
        throw new UserError($"the token store {store.Directory} was written by another tokenizer than {whose} reads " +
            $"(hash {Short(store.TokenizerHash)} vs {Short(hash)}): its ids would name other tokens; prepare the corpus with the model's tokenizer " +
            "(`mechanist corpus prepare --tokenizer MODEL`)");
    }

    static string Short(string hash) => hash.Length > 19 ? hash[..19] + "…" : hash;
}
