using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Universality;

/// <summary>
/// Models run over a token store, each to <c>mlp.hook_post</c> of every layer (nothing after the last MLP), or,
/// when opened at one hook point, to that point alone (the rows an SAE at that point reads):
/// consecutive windows of <c>context</c> tokens from the start of the split, <c>batchWindows</c> windows per
/// batch. Rows whose position the paper drops are left out (docs/METHODS.md §5.1): position 0 of each window (it
/// plays BOS: attention has only itself to read), <c>&lt;|endoftext|&gt;</c> (document separator and pad) and "\n".
/// </summary>
public sealed class ModelUnitBatches : IUnitBatches
{
    readonly Transformer<float>[] _models;
    readonly string[] _modelDirs;
    readonly TokenStore _tokens;
    readonly HashSet<int> _dropped;
    readonly long _windows;
    readonly int _context, _batchWindows;
    readonly string? _tokenizerPath;
    readonly HookPoint? _at;

    ModelUnitBatches(Transformer<float>[] models, string[] dirs, TokenStore tokens, HashSet<int> dropped, BpeTokenizer? tokenizer, string? tokenizerPath,
        long windows, int context, int batchWindows, HookPoint? at)
    {
        _models = models; _modelDirs = dirs; _tokens = tokens; _dropped = dropped; _tokenizerPath = tokenizerPath; Tokenizer = tokenizer;
        _windows = windows; _context = context; _batchWindows = batchWindows; _at = at;
        var c = models[0].Config;
        var layout = at is HookPoint point ? new UnitLayout(1, point.Width(c)) : new UnitLayout(c.Layers, c.DMlp);
        Layouts = Enumerable.Repeat(layout, models.Length).ToArray();
        BatchCount = (int)((windows + batchWindows - 1) / batchWindows);
        MaxTokens = batchWindows * context;
        ResidentBytes = models.Sum(m => 4 * m.Config.ParameterCount());
    }

    public IReadOnlyList<UnitLayout> Layouts { get; }
    public int BatchCount { get; }
    public int MaxTokens { get; }
    public long ResidentBytes { get; }

    /// <summary>The store's tokenizer when one was found (a model folder, the store's recorded one), for token texts.</summary>
    public BpeTokenizer? Tokenizer { get; }

    public int Context => _context;

    public Transformer<float> Model(int m) => _models[m];

    /// <summary>Batch <paramref name="batch"/>'s token ids ([windows, context]) and the positions kept (into ids).</summary>
    public (int[] Ids, List<int> Keep, int Windows) Tokens(int batch)
    {
        long first = (long)batch * _batchWindows;
        int windows = (int)Math.Min(_batchWindows, _windows - first);
        var ids = new int[windows * _context];
        _tokens.ReadWindow(first * _context, ids);
        var keep = new List<int>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
            if (i % _context != 0 && !_dropped.Contains(ids[i])) keep.Add(i);
        return (ids, keep, windows);
    }

    /// <summary>The token store's source labels (corpus subsets, e.g. meta.pile_set_name); empty when it keeps none.</summary>
    public IReadOnlyList<string> SourceLabels => _tokens.HasSources ? _tokens.SourceLabels : [];

    /// <summary>The source label index of the document that holds position <paramref name="index"/> of batch <paramref name="batch"/>'s ids (−1: none kept).</summary>
    public int SourceOf(int batch, int index) =>
        _tokens.HasSources ? _tokens.DocumentSource(_tokens.DocumentOf((long)batch * _batchWindows * _context + index)) : -1;

    /// <summary>Token ids whose rows are dropped (end-of-text and the newline token when the tokenizer is known).</summary>
    public IReadOnlyCollection<int> DroppedTokens => _dropped;

    /// <summary>
    /// Loads the models and checks them against each other and the token store: the same number of layers and
    /// MLP width (or, with <paramref name="at"/>, that point and the same width there), and the tokenizer that wrote
    /// the store (when a model folder carries one).
    /// </summary>
    public static ModelUnitBatches Open(IReadOnlyList<string> modelDirs, string tokenStoreDir, long tokens,
        string split = "train", int? context = null, int? batchWindows = null, HookPoint? at = null)
    {
        if (modelDirs.Count < 2) throw new UserError($"--models needs at least two model folders (model 0 and another seed), got {modelDirs.Count}");
        var configs = modelDirs.Select(ModelFiles.ReadConfig).ToArray();
        var c0 = configs[0];
        if (at is HookPoint point)
        {
            for (int i = 0; i < configs.Length; i++)
            {
                if (!configs[i].Has(point)) throw new UserError($"{modelDirs[i]}: the model has no hook point {point} (its points: {HookPoint.Describe(configs[i].HookPoints())})");
                if (point.Width(configs[i]) != point.Width(c0))
                    throw new UserError($"{modelDirs[i]}: {point.Width(configs[i])} values per token at {point}, but {modelDirs[0]} has {point.Width(c0)}: the models have different shapes");
            }
        }
        else
        {
            if (c0.AttentionOnly) throw new UserError($"{modelDirs[0]}: an attention-only model has no MLP neurons");
            for (int i = 1; i < configs.Length; i++)
                if (configs[i].Layers != c0.Layers || configs[i].DMlp != c0.DMlp || configs[i].AttentionOnly)
                    throw new UserError($"{modelDirs[i]}: {Shape(configs[i])} at mlp.hook_post, but {modelDirs[0]} has {Shape(c0)}: the models have different shapes");
        }
        var store = TokenStore.Open(tokenStoreDir, split);
        try
        {
            foreach (var (c, dir) in configs.Zip(modelDirs))
                if (store.VocabSize > c.Vocab)
                    throw new UserError($"the token store {tokenStoreDir} has a vocabulary of {store.VocabSize:N0} but {dir} reads {c.Vocab:N0} tokens: another tokenizer");
            var (tokenizer, tokenizerPath) = FindTokenizer(modelDirs, store);
            var dropped = new HashSet<int> { store.EndOfText };
            if (tokenizer != null && tokenizer.Encode("\n") is [int newline]) dropped.Add(newline);
            int ctx = context ?? c0.Context;
            if (ctx < 2 || ctx > configs.Min(c => c.Context))
                throw new UserError($"--context {ctx}: must be between 2 and the models' context ({configs.Min(c => c.Context)})");
            long windows = (tokens + ctx - 1) / ctx;
            if (windows * ctx > store.Count)
                throw new UserError($"the {split} split of {tokenStoreDir} holds {store.Count:N0} tokens, fewer than the {windows * ctx:N0} asked for (--tokens, rounded up to windows of {ctx})");
            int perBatch = batchWindows ?? Math.Max(1, 4096 / ctx);
            var models = modelDirs.Select(ModelFiles.Load).ToArray();
            return new ModelUnitBatches(models, modelDirs.Select(Path.GetFullPath).ToArray(), store, dropped, tokenizer, tokenizerPath, windows, ctx, perBatch, at);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    static string Shape(TransformerConfig c) => c.AttentionOnly ? "no MLP (attention-only)" : $"{c.Layers} layers × {c.DMlp:N0} neurons";

    /// <summary>A tokenizer in a model folder must be the store's; the first found (models, then the store's recorded one) names "\n".</summary>
    static (BpeTokenizer?, string?) FindTokenizer(IReadOnlyList<string> modelDirs, TokenStore store)
    {
        (BpeTokenizer, string)? found = null;
        foreach (string dir in modelDirs)
        {
            if (!HasTokenizer(dir)) continue;
            var bpe = TokenizerFiles.Load(dir);
            if (bpe.Hash != store.TokenizerHash)
                throw new UserError($"the tokenizer in {dir} is not the one that wrote the token store {store.Directory}: the store was made with another tokenizer");
            found ??= (bpe, Path.GetFullPath(dir));
        }
        if (found != null) return found.Value;
        foreach (string? dir in new[] { RecordedTokenizer(store.Directory), store.Directory })
            if (dir != null && HasTokenizer(dir))
            {
                var bpe = TokenizerFiles.Load(dir);
                if (bpe.Hash == store.TokenizerHash) return (bpe, Path.GetFullPath(dir));
            }
        return (null, null);
    }

    static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, TokenizerFiles.VocabFile)) || File.Exists(Path.Combine(dir, TokenizerFiles.HuggingFaceFile));

    static string? RecordedTokenizer(string tokenStoreDir)
    {
        try { return JsonNode.Parse(File.ReadAllText(Path.Combine(tokenStoreDir, TokenStoreWriter.MetaFile)))?["tokenizer"]?["path"]?.GetValue<string>(); }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }

    public int Read(int batch, float[][] dst)
    {
        var (ids, keep, windows) = Tokens(batch);
        var layout = Layouts[0];
        if (_at is HookPoint point)
        {
            for (int m = 0; m < _models.Length; m++)
            {
                Tensor acts;
                using (Autograd.Tape.NoGrad()) acts = _models[m].RunToHook(ids, windows, _context, point);
                var all = acts.Span;
                for (int r = 0; r < keep.Count; r++) all.Slice(keep[r] * layout.Width, layout.Width).CopyTo(dst[m].AsSpan(r * layout.Width, layout.Width));
            }
            return keep.Count;
        }
        for (int m = 0; m < _models.Length; m++)
        {
            var hooks = new Hooks<float>();
            var target = dst[m];
            for (int l = 0; l < layout.Layers; l++)
            {
                int layer = l;
                hooks.Read(HookPoint.MlpPost(l), t =>
                {
                    var all = t.Span;
                    for (int r = 0; r < keep.Count; r++)
                        all.Slice(keep[r] * layout.Width, layout.Width).CopyTo(target.AsSpan(r * layout.Units + layer * layout.Width, layout.Width));
                });
            }
            using (Autograd.Tape.NoGrad())
                _models[m].RunToHook(ids, windows, _context, HookPoint.MlpPost(layout.Layers - 1), hooks);
        }
        return keep.Count;
    }

    public JsonObject Describe() => new()
    {
        ["kind"] = "models",
        ["models"] = new JsonArray(_modelDirs.Select(d => (JsonNode)new JsonObject
        {
            ["path"] = d,
            ["hash"] = ContentHash.OfFile(Path.Combine(d, ModelFiles.WeightsFile), fast: true),
        }).ToArray()),
        ["data"] = _tokens.Directory,
        ["split"] = _tokens.Split,
        ["tokenizer_hash"] = _tokens.TokenizerHash,
        ["tokenizer"] = _tokenizerPath,
        ["windows"] = _windows,
        ["context"] = _context,
        ["batch_windows"] = _batchWindows,
        ["hook"] = _at?.Name,
        ["dropped_token_ids"] = new JsonArray(_dropped.Order().Select(i => (JsonNode)i).ToArray()),
    };

    public void Dispose() => _tokens.Dispose();
}
