using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Sae;
using Mechanist.Text;

namespace Mechanist.Browser;

/// <summary>How the page's copy of the weights is stored: float32, or half the bytes as float16 / bfloat16.</summary>
public enum WebPrecision { F32, F16, BF16 }

/// <summary>
/// The files a page needs to run the model itself (Assets/wm-*.js): the tokenizer (JSON), the model as
/// model.safetensors (Hugging Face GPT-2 names) and the SAE as sae_weights.safetensors (SAELens names), each cut into
/// script chunks that call <c>Mechanist.chunk(file, index, base64)</c>, because a page opened from file:// may load
/// scripts beside it but not fetch them. <c>webmodel.js</c> is the manifest: the config, each file's size and chunks,
/// and the limit. Above <see cref="DefaultLimitBytes"/> only the manifest is written and the page says the model is too
/// large instead of loading it. Served at /model/ by the browser server, written to model/ by the static export.
/// </summary>
public sealed class WebModelFiles
{
    /// <summary>The most the page loads (tokenizer + model + SAE, as stored): 128 MiB holds every preset up to small-6l with a 16k-latent SAE in f16.</summary>
    public const long DefaultLimitBytes = 128L << 20;

    /// <summary>Bytes per chunk script (before base64).</summary>
    public const int ChunkBytes = 4 << 20;

    /// <summary>A 16-bit export is refused when it moves any logit of the probe sequence by more than this.</summary>
    public const double MaxLogitChange16 = 1e-3;

    public const string ManifestFile = "webmodel.js";

    readonly Dictionary<string, byte[]> files = new(StringComparer.Ordinal);

    /// <summary>File name (in the model folder) → contents.</summary>
    public IReadOnlyDictionary<string, byte[]> Files => files;
    public WebPrecision Precision { get; }
    public long TokenizerBytes { get; }
    public long ModelBytes { get; }
    public long SaeBytes { get; }
    public long TotalBytes => TokenizerBytes + ModelBytes + SaeBytes;
    public long LimitBytes { get; }
    /// <summary>Over the limit: only the manifest was written; the page shows why.</summary>
    public bool TooLarge => TotalBytes > LimitBytes;
    /// <summary>For a 16-bit export, the largest change of a logit it causes on the probe sequence.</summary>
    public double? LogitChange { get; }
    /// <summary>Whether an SAE was packed (the Generate page's features and the static playground need one).</summary>
    public bool HasSae => SaeBytes > 0;

    WebModelFiles(WebPrecision precision, long tokenizerBytes, long modelBytes, long saeBytes, long limit, double? logitChange)
    {
        (Precision, TokenizerBytes, ModelBytes, SaeBytes, LimitBytes, LogitChange) = (precision, tokenizerBytes, modelBytes, saeBytes, limit, logitChange);
    }

    /// <summary>One line for the console: sizes, precision and where the limit stands.</summary>
    public string Summary =>
        $"in-page model: {Mb(TotalBytes)} ({Mb(ModelBytes)} model, {(HasSae ? Mb(SaeBytes) + " SAE, " : "")}{Mb(TokenizerBytes)} tokenizer; " +
        $"{Precision.ToString().ToLowerInvariant()}{(LogitChange is double c ? string.Create(CultureInfo.InvariantCulture, $", logits within {c:G2}") : "")})" +
        (TooLarge ? $" is over the page's limit of {Mb(LimitBytes)}: the Generate page will say so instead of loading it" : "");

    static string Mb(long bytes) => (bytes / 1048576.0).ToString(bytes < 10 << 20 ? "0.0" : "0", CultureInfo.InvariantCulture) + " MB";

    /// <summary>
    /// Why the page cannot run a model of <paramref name="c"/>, or null when it can. The page's forward pass
    /// (Assets/wm-model.js) is GPT-2's: LayerNorm, learned positions, no bigram table, no sink, no AbsTopK. A
    /// weight-sparse model's weights would load but give other logits, so they are never packed.
    /// </summary>
    public static string? Unsupported(TransformerConfig c)
    {
        if (c.IsGpt2) return null;
        var parts = new List<string>();
        if (c.Norm == NormKind.RmsNorm) parts.Add("RMSNorm");
        if (c.Bigram) parts.Add("a bigram table");
        if (c.AttentionSink) parts.Add("attention sinks");
        if (!c.LearnedPositions) parts.Add("no learned positions");
        if (c.ActivationFraction > 0) parts.Add("AbsTopK activation sparsity");
        return $"the page's in-browser model runs GPT-2-style models only, and this is a weight-sparse-family model ({string.Join(", ", parts)}); " +
               "`mechanist browse` still serves its features and playground from C#";
    }

    /// <summary>Packs the model, its tokenizer and (optionally) the SAE reading <paramref name="hook"/>.</summary>
    /// <exception cref="UserError">A model the page cannot run (<see cref="Unsupported"/>), an SAE it cannot run, or a 16-bit copy that moves the logits.</exception>
    public static WebModelFiles Build(Transformer<float> model, BpeTokenizer tokenizer, SparseAutoencoder? sae, HookPoint? hook,
        WebPrecision precision = WebPrecision.F32, long limitBytes = DefaultLimitBytes)
    {
        var c = model.Config;
        if (Unsupported(c) is string why) throw new UserError($"cannot pack this model for the page: {why}");
        if (tokenizer.VocabSize > c.Vocab) throw new UserError($"the tokenizer has {tokenizer.VocabSize} tokens, the model only {c.Vocab}");
        if (sae != null)
        {
            if (hook is not HookPoint point) throw new UserError("the SAE does not say which hook it reads (hook_name)");
            c.Check(point);
            if (!PageSites.Contains(point.Site))
                throw new UserError($"the page cannot run the SAE's hook '{point}' (it runs blocks.L.{{{string.Join(", ", PageSites.Select(s => HookPoint.At(s, 0).Name["blocks.0.".Length..]))}}})");
            int width = point.Width(c);
            if (width != sae.DIn) throw new UserError($"the SAE reads {sae.DIn} values per token but {hook} of this model has {width}");
        }
        var dtype = precision switch { WebPrecision.F16 => DType.F16, WebPrecision.BF16 => DType.BF16, _ => DType.F32 };
        double? change = precision == WebPrecision.F32 ? null : LogitChangeOf(model, dtype);
        if (change > MaxLogitChange16)
            throw new UserError(string.Create(CultureInfo.InvariantCulture,
                $"a {precision.ToString().ToLowerInvariant()} copy of this model moves its logits by up to {change:G3} (more than {MaxLogitChange16:G1}); export it as f32"));

        byte[] tokenizerJson = Encoding.UTF8.GetBytes(TokenizerJson(tokenizer).ToJsonString());
        var modelEntries = model.Weights.Select(w => SafeTensorsEntry.Float(w.Name, w.Weight.Value, dtype)).ToList();
        var saeEntries = sae == null ? null : SaeLensFormat.WeightEntries(sae, dtype);
        long modelBytes = modelEntries.Sum(e => e.ByteLength), saeBytes = saeEntries?.Sum(e => e.ByteLength) ?? 0;
        var result = new WebModelFiles(precision, tokenizerJson.Length, modelBytes, saeBytes, limitBytes, change);
        var manifestFiles = new JsonArray();
        if (!result.TooLarge)
        {
            // The sizes above leave out the safetensors headers; the manifest gives each file's exact length.
            manifestFiles.Add(result.AddChunks("tokenizer", tokenizerJson));
            manifestFiles.Add(result.AddChunks("model", SafeTensorsBytes(modelEntries)));
            if (saeEntries != null) manifestFiles.Add(result.AddChunks("sae", SafeTensorsBytes(saeEntries)));
        }
        var manifest = new JsonObject
        {
            ["version"] = 1,
            ["precision"] = precision.ToString().ToLowerInvariant(),
            ["totalBytes"] = result.TotalBytes,
            ["limitBytes"] = limitBytes,
            ["tooLarge"] = result.TooLarge,
            ["logitChange"] = change,
            ["files"] = manifestFiles,
            ["config"] = new JsonObject
            {
                ["layers"] = c.Layers, ["dModel"] = c.DModel, ["heads"] = c.Heads, ["dMlp"] = c.DMlp, ["context"] = c.Context, ["vocab"] = c.Vocab,
                ["activation"] = c.AttentionOnly ? "relu" : TransformerConfig.ActivationName(c.Activation), ["attnOnly"] = c.AttentionOnly,
                ["tied"] = c.TiedEmbeddings, ["scaleByLayer"] = c.ScaleAttnByInverseLayerIdx, ["eps"] = c.LayerNormEps,
            },
            ["sae"] = sae == null ? null : new JsonObject
            {
                ["architecture"] = sae.Architecture.CliName(), ["dIn"] = sae.DIn, ["dSae"] = sae.DSae, ["k"] = sae.K,
                ["batchThreshold"] = sae.BatchThreshold, ["hook"] = hook?.Name,
            },
        };
        result.files[ManifestFile] = Encoding.UTF8.GetBytes("window.MECHANIST_WEBMODEL = " + manifest.ToJsonString() + ";\n");
        return result;
    }

    /// <summary>Writes every file into <paramref name="dir"/> (created).</summary>
    public void WriteTo(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    JsonObject AddChunks(string name, byte[] bytes)
    {
        var chunks = new JsonArray();
        for (int i = 0, at = 0; at < bytes.Length || i == 0; i++, at += ChunkBytes)
        {
            string file = $"{name}-{i:D3}.js";
            string base64 = Convert.ToBase64String(bytes, at, Math.Min(ChunkBytes, bytes.Length - at));
            files[file] = Encoding.ASCII.GetBytes($"Mechanist.chunk(\"{name}\", {i}, \"{base64}\");\n");
            chunks.Add(file);
        }
        return new JsonObject { ["name"] = name, ["bytes"] = bytes.Length, ["chunks"] = chunks };
    }

    static byte[] SafeTensorsBytes(List<SafeTensorsEntry> entries)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, entries);
        return stream.ToArray();
    }

    /// <summary>The hook points wm-transformer.js can act on (its HOOKS table).</summary>
    static readonly HookSite[] PageSites =
        [HookSite.ResidPre, HookSite.Z, HookSite.AttnOut, HookSite.ResidMid, HookSite.MlpPre, HookSite.MlpPost, HookSite.MlpOut, HookSite.ResidPost];

    /// <summary>
    /// The tokenizer as the page reads it: each token's bytes as a Latin-1 string (null for special tokens), the merges as
    /// id pairs in rank order, the special tokens, the pre-tokenizer's class of every code point as run lengths, and each
    /// token's display text.
    /// </summary>
    static JsonObject TokenizerJson(BpeTokenizer tokenizer)
    {
        var tokens = new JsonArray();
        var display = new JsonArray();
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            tokens.Add(tokenizer.IsSpecial(id) ? null : (JsonNode)Encoding.Latin1.GetString(tokenizer.TokenBytes(id)));
            display.Add(tokenizer.TokenText(id));
        }
        var merges = new JsonArray();
        foreach (var (left, right) in tokenizer.Merges) { merges.Add(left); merges.Add(right); }
        var special = new JsonObject();
        foreach (var (text, id) in tokenizer.SpecialTokens) special[text] = id;
        var classes = new JsonArray();
        int run = 0;
        byte current = PreTokenizer.ClassOf(0);
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            byte cls = PreTokenizer.ClassOf(cp);
            if (cls != current) { classes.Add(run); classes.Add(current); current = cls; run = 0; }
            run++;
        }
        classes.Add(run); classes.Add(current);
        return new JsonObject { ["tokens"] = tokens, ["merges"] = merges, ["special"] = special, ["classes"] = classes, ["display"] = display };
    }

    /// <summary>The largest change of any logit over a fixed probe sequence when the weights are rounded to <paramref name="dtype"/>.</summary>
    static double LogitChangeOf(Transformer<float> model, DType dtype)
    {
        var c = model.Config;
        var rounded = Transformer<float>.Empty(c);
        for (int w = 0; w < model.Weights.Count; w++)
        {
            var from = model.Weights[w].Weight.Value.Span;
            var bytes = new byte[from.Length * dtype.Size()];
            ElementConversion.FromFloat(from, dtype, bytes);
            ElementConversion.ToFloat(bytes, dtype, rounded.Weights[w].Weight.Value.Span);
        }
        int n = Math.Min(c.Context, 64);
        var probe = Enumerable.Range(0, n).Select(i => (int)((i * 7919L + 11) % c.Vocab)).ToArray();
        using var _ = Tape.NoGrad();
        var a = model.Forward(probe, 1, n).Value.Span;
        var b = rounded.Forward(probe, 1, n).Value.Span;
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
