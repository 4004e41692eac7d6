using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.Sae;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Features;

/// <summary>
/// The playground's encoder: tokenizer → model (run only as far as the SAE's hook) → SAE encode → each
/// token's strongest features. Text longer than the model's context is cut into consecutive windows of the
/// context length, each run on its own. One request at a time (the model and SAE reuse their buffers).
/// </summary>
public sealed class ModelFeatureEncoder : IFeatureEncoder
{
    /// <summary>Tokens encoded per request at most (longer text is cut).</summary>
    public const int MaxTokens = 2048;

    readonly Transformer<float> model;
    readonly SparseAutoencoder sae;
    readonly BpeTokenizer tokenizer;
    readonly HookPoint hook;
    readonly int top;
    readonly Lock gate = new();

    public ModelFeatureEncoder(Transformer<float> model, SparseAutoencoder sae, BpeTokenizer tokenizer, HookPoint hook, int top = 5)
    {
        int width = model.Config.Check(hook).Width(model.Config);
        if (width != sae.DIn) throw new UserError($"the SAE reads {sae.DIn} values per token but {hook} of this model has {width}");
        if (tokenizer.VocabSize > model.Config.Vocab) throw new UserError($"the tokenizer has {tokenizer.VocabSize} tokens, the model only {model.Config.Vocab}");
        (this.model, this.sae, this.tokenizer, this.hook, this.top) = (model, sae, tokenizer, hook, Math.Max(1, top));
    }

    /// <summary>The model, SAE, tokenizer and hook this encoder runs (the browser packs the same ones into its pages).</summary>
    public Transformer<float> Model => model;
    public SparseAutoencoder Sae => sae;
    public BpeTokenizer Tokenizer => tokenizer;
    public HookPoint Hook => hook;

    /// <summary>Loads the model, the SAE and a tokenizer (given, else the model folder's, else the one recorded with the SAE's token store).</summary>
    public static ModelFeatureEncoder Load(string modelDir, string saeDir, string? tokenizer = null, HookPoint? hook = null, int top = 5)
    {
        var sae = SaeLensFormat.Load(saeDir);
        var model = ModelFiles.Load(modelDir);
        string tokenizerPath = tokenizer ?? FindTokenizer(modelDir, sae)
            ?? throw new UserError($"no tokenizer for the playground: none in {modelDir}, and the SAE's dataset_path names no token store with one");
        return new ModelFeatureEncoder(model, sae, TokenizerFiles.Load(tokenizerPath),
            hook ?? sae.Metadata.Hook ?? throw new UserError($"{saeDir}: the SAE does not say which hook it reads (hook_name)"), top);
    }

    /// <summary>
    /// The encoder for a feature store's source (the model, SAE and hook it was built from), or null with the
    /// reason when they are not on this machine any more.
    /// </summary>
    public static ModelFeatureEncoder? ForStore(FeatureStore store, out string? reason)
    {
        var source = store.Source;
        reason = null;
        if (string.IsNullOrEmpty(source.Model) || !File.Exists(Path.Combine(source.Model, ModelFiles.ConfigFile)))
            reason = $"the store's model ({(string.IsNullOrEmpty(source.Model) ? "not recorded" : source.Model)}) is not there";
        else if (string.IsNullOrEmpty(source.Sae) || !File.Exists(Path.Combine(source.Sae, SaeLensFormat.ConfigFile)))
            reason = $"the store's SAE ({(string.IsNullOrEmpty(source.Sae) ? "not recorded" : source.Sae)}) is not there";
        if (reason != null) return null;
        try { return Load(source.Model, source.Sae, hook: string.IsNullOrEmpty(source.Hook) ? null : HookPoint.Parse(source.Hook)); }
        catch (UserError e) { reason = e.Message; return null; }
    }

    static string? FindTokenizer(string modelDir, SparseAutoencoder sae)
    {
        if (HasTokenizer(modelDir)) return modelDir;
        // The SAE records the token store its activations came from; the token store records its tokenizer.
        if (sae.Metadata.DatasetPath is string tokens && File.Exists(Path.Combine(tokens, TokenStoreWriter.MetaFile)))
        {
            try
            {
                string? recorded = JsonNode.Parse(File.ReadAllText(Path.Combine(tokens, TokenStoreWriter.MetaFile)))?["tokenizer"]?["path"]?.GetValue<string>();
                if (recorded != null && HasTokenizer(recorded)) return recorded;
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException) { }
        }
        return null;
    }

    static bool HasTokenizer(string path) => File.Exists(path)
        || File.Exists(Path.Combine(path, TokenizerFiles.VocabFile)) || File.Exists(Path.Combine(path, TokenizerFiles.HuggingFaceFile));

    public IReadOnlyList<TokenFeatures> Encode(string text)
    {
        int[] ids = tokenizer.Encode(text);
        if (ids.Length > MaxTokens) ids = ids[..MaxTokens];
        var result = new List<TokenFeatures>(ids.Length);
        int context = model.Config.Context;
        lock (gate)
        {
            using var noGrad = Tape.NoGrad();
            for (int start = 0; start < ids.Length; start += context)
            {
                int n = Math.Min(context, ids.Length - start);
                var window = ids.AsSpan(start, n).ToArray();
                var acts = model.RunToHook(window, 1, n, hook).Reshape(-1, sae.DIn);
                var codes = sae.Encode(acts);
                for (int t = 0; t < n; t++)
                    result.Add(new TokenFeatures(tokenizer.TokenText(window[t]), Strongest(codes.RowIndices(t), codes.RowValues(t))));
            }
        }
        return result;
    }

    FeatureActivation[] Strongest(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        var all = new FeatureActivation[indices.Length];
        for (int i = 0; i < all.Length; i++) all[i] = new FeatureActivation(indices[i], values[i]);
        return all.Where(f => f.Activation > 0).OrderByDescending(f => f.Activation).ThenBy(f => f.Id).Take(top).ToArray();
    }
}
