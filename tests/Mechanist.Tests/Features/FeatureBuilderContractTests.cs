using Mechanist.Sae;
using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Tests.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Features;

/// <summary>
/// <see cref="FeatureBuilder"/>'s promises on a micro model built in memory over a small sourced token store: which
/// hook and context it picks, what it refuses, what the manifest and summary record, and the per-source masses
/// against a brute-force pass.
/// </summary>
public sealed class FeatureBuilderContractTests : IDisposable
{
    static readonly int Vocab = Gpt2.Tokenizer.VocabSize;
    readonly string root = TestPaths.NewTempDir("mechanist-featcontract");
    readonly TokenStore tokens;
    readonly string tokenDir;

    public FeatureBuilderContractTests()
    {
        string[] sources = ["Pile-CC", "Github", "FreeLaw"];
        var docs = Enumerable.Range(0, 12).Select(i =>
            (string.Concat(Enumerable.Repeat($"Document {i} says {new string((char)('a' + i), 3)} and more words. ", 2 + i % 3)), sources[i % 3]));
        tokenDir = Path.Combine(root, "tokens");
        TokenStoreWriter.Prepare(new CorpusReader([CorpusFiles.WriteJsonl(Path.Combine(root, "docs.jsonl"), docs)]), Gpt2.Tokenizer, tokenDir,
            new TokenStoreOptions { ValidFraction = 0 }, IProgressReporter.None);
        tokens = TokenStore.Open(tokenDir);
    }

    public void Dispose()
    {
        tokens.Dispose();
        Directory.Delete(root, recursive: true);
    }

    static Transformer<float> Model(int layers = 1, int vocab = 0) =>
        Transformer<float>.Create(TransformerConfig.Preset("micro", vocab == 0 ? Vocab : vocab) with { Layers = layers }, seed: 1);

    static SparseAutoencoder Sae(HookPoint? hook, int? contextSize = 8, int dIn = 64)
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, dIn, 40, seed: 2, k: 4);
        sae.Metadata = new SaeMetadata { Hook = hook, ContextSize = contextSize };
        return sae;
    }

    static string[] Names(int n) => Enumerable.Range(0, n).Select(i => $"t{i}").ToArray();

    int built;

    FeatureBuildSummary Build(Transformer<float> model, SparseAutoencoder sae, FeatureBuildOptions options, IReadOnlyList<string>? vocabulary = null) =>
        FeatureBuilder.Build(model, sae, tokens, vocabulary ?? Names(model.Config.Vocab), Path.Combine(root, $"out{built++}"),
            new FeatureStoreSource(), options, IProgressReporter.None);

    static readonly FeatureBuildOptions Few = new() { Tokens = 64, LogitTokens = 2, Nearest = 2, RandomExamples = 1 };

    [Fact]
    public void TheContextIsTheOptionElseTheSaesWhenItFitsElseTheModels()
    {
        var model = Model();
        Assert.Equal(8, Build(model, Sae(HookPoint.MlpPost(0), 8), Few).Context);
        Assert.Equal(4, Build(model, Sae(HookPoint.MlpPost(0), 8), Few with { Context = 4 }).Context);
        Assert.Equal(1, Build(model, Sae(HookPoint.MlpPost(0), 1), Few with { Tokens = 3 }).Context);
        Assert.Equal(1, Build(model, Sae(HookPoint.MlpPost(0), 8), Few with { Context = 1, Tokens = 3 }).Context);
        Assert.Equal(32, Build(model, Sae(HookPoint.MlpPost(0), 32), Few).Context);
        Assert.Equal(32, Build(model, Sae(HookPoint.MlpPost(0), 33), Few).Context);
        Assert.Equal(32, Build(model, Sae(HookPoint.MlpPost(0), null), Few with { Context = 32 }).Context);
        foreach (int bad in new[] { 0, 33 })
            Assert.Equal($"--context {bad} must be in [1, 32] (the model's context)",
                Assert.Throws<UserError>(() => Build(model, Sae(HookPoint.MlpPost(0)), Few with { Context = bad })).Message);
    }

    [Fact]
    public void TheTokensAreWholeWindowsAtLeastOneAtMostTheSplit()
    {
        var model = Model();
        var sae = Sae(HookPoint.MlpPost(0));
        Assert.Equal(8, Build(model, sae, Few with { Tokens = 15 }).Tokens);
        Assert.Equal(tokens.Count / 8 * 8, Build(model, sae, Few with { Tokens = 1_000_000_000 }).Tokens);
        Assert.StartsWith("need at least one window of 8 tokens: asked for 7 tokens",
            Assert.Throws<UserError>(() => Build(model, sae, Few with { Tokens = 7 })).Message);
        Assert.Equal("--random must be ≥ 0", Assert.Throws<UserError>(() => Build(model, sae, Few with { RandomExamples = -1 })).Message);
        Assert.Equal(8, Build(model, sae, Few with { Tokens = 8, RandomExamples = 0 }).Tokens);
    }

    [Fact]
    public void AModelWithMoreTokenIdsThanTheStoreIsFineFewerIsRefused()
    {
        var sae = Sae(HookPoint.MlpPost(0));
        Assert.Equal(64, Build(Model(vocab: Vocab + 3), sae, Few).Tokens);
        Assert.Equal($"the token store's vocabulary ({Vocab}) is larger than the model's ({Vocab - 1})",
            Assert.Throws<UserError>(() => Build(Model(vocab: Vocab - 1), sae, Few)).Message);
        Assert.Equal($"vocabulary has 3 strings, the model {Vocab} tokens",
            Assert.Throws<ArgumentException>(() => Build(Model(), sae, Few, vocabulary: ["a", "b", "c"])).Message);
    }

    [Fact]
    public void TheHookIsTheOptionElseTheSaesElseTheFirstMlp()
    {
        var model = Model(layers: 2);
        FeatureStoreSource SourceOf(FeatureBuildSummary s) { using var store = FeatureStore.Open(s.Directory); return store.Source; }
        Assert.Equal("blocks.1.mlp.hook_post", SourceOf(Build(model, Sae(HookPoint.MlpPost(1)), Few)).Hook);
        Assert.Equal("blocks.0.mlp.hook_post", SourceOf(Build(model, Sae(HookPoint.MlpPost(1)), Few with { Hook = HookPoint.MlpPost(0) })).Hook);
        Assert.Equal("blocks.0.mlp.hook_post", SourceOf(Build(model, Sae(null), Few)).Hook);
    }

    [Fact]
    public void AHookWithNoDirectPathToTheLogitsHasNoLogitEffectsAndNoNeurons()
    {
        var model = Model();
        var summary = Build(model, Sae(HookPoint.Q(0), dIn: 32), Few);
        Assert.Equal(0, summary.Neurons);
        using (var store = FeatureStore.Open(summary.Directory))
        {
            Assert.Equal([UnitKind.Feature], store.Kinds);
            Assert.All(Enumerable.Range(0, 40), u => Assert.Empty(store.GetUnit(UnitKind.Feature, u).Logits.Top));
            Assert.Equal(2, store.GetUnit(UnitKind.Feature, 0).Nearest.Length);
        }
        var manifest = Manifest.Load(summary.Directory);
        Assert.Equal("none (hook does not write to the residual stream)", manifest.Contents["logit_effects"]!.GetValue<string>());
        Assert.Equal(0, manifest.Contents["neurons"]!.GetValue<int>());

        var noNeurons = Build(model, Sae(HookPoint.MlpPost(0)), Few with { Neurons = false });
        Assert.Equal(0, noNeurons.Neurons);
        Assert.Equal(0, Manifest.Load(noNeurons.Directory).Contents["neurons"]!.GetValue<int>());
    }

    [Fact]
    public void TheManifestAndSummaryRecordTheSettingsAndWhatWasBuilt()
    {
        var options = new FeatureBuildOptions
        {
            Tokens = 80, BatchTokens = 24, RandomExamples = 2, LogitTokens = 3, Nearest = 2,
            Statistics = new StatisticsSettings { TopExamples = 4, ContextRadius = 2, Intervals = 3, SamplesPerInterval = 2, HistogramBins = 7, Seed = 5 },
        };
        var summary = Build(Model(), Sae(HookPoint.MlpPost(0)), options); // 10 windows in batches of 3, 3, 3, 1
        Assert.Equal(80, summary.Tokens);
        Assert.Equal(40, summary.Features);
        Assert.Equal(64, summary.Neurons);
        Assert.Equal(4.0, summary.MeanL0, 6);
        using (var store = FeatureStore.Open(summary.Directory))
        {
            int dead = Enumerable.Range(0, 40).Count(u => store.GetUnit(UnitKind.Feature, u).Density == 0);
            Assert.Equal(dead, summary.DeadFeatures);
            Assert.Equal(80, store.Source.TokensAnalysed);
        }
        Assert.Equal(Directory.GetFiles(summary.Directory).Sum(f => new FileInfo(f).Length), summary.StoreBytes);

        var manifest = Manifest.Load(summary.Directory);
        Assert.Equal(FeatureBuilder.Stage, manifest.Stage);
        var expected = new Dictionary<string, string>
        {
            ["tokens"] = "80", ["context"] = "8", ["split"] = "\"train\"", ["hook"] = "\"blocks.0.mlp.hook_post\"", ["top_examples"] = "4",
            ["context_radius"] = "2", ["intervals"] = "3", ["samples_per_interval"] = "2", ["histogram_bins"] = "7", ["random_examples"] = "2",
            ["logit_tokens"] = "3", ["nearest"] = "2", ["seed"] = "5", ["neurons"] = "true",
        };
        Assert.Equal(expected.OrderBy(p => p.Key), manifest.Settings.Select(p => KeyValuePair.Create(p.Key, p.Value!.ToJsonString())).OrderBy(p => p.Key));
        Assert.Equal(40, manifest.Contents["features"]!.GetValue<int>());
        Assert.Equal(64, manifest.Contents["neurons"]!.GetValue<int>());
        Assert.Equal(summary.DeadFeatures, manifest.Contents["dead_features"]!.GetValue<int>());
        Assert.Equal(4.0, manifest.Contents["mean_l0"]!.GetValue<double>(), 6);
        Assert.StartsWith("direct path: ", manifest.Contents["logit_effects"]!.GetValue<string>());
        Assert.Equal("cosine of W_out rows", manifest.Contents["neuron_neighbours"]!.GetValue<string>());
        var outputs = manifest.Outputs.Select(o => o.Path).ToArray();
        Assert.Equal(Directory.GetFiles(summary.Directory).Select(Path.GetFileName).Where(f => f != Manifest.FileName).Order(StringComparer.Ordinal), outputs);
    }

    [Fact]
    public void SourceSharesMatchABruteForcePassOverTheAnalysedTokens()
    {
        var model = Model();
        var sae = Sae(HookPoint.MlpPost(0));
        var summary = Build(model, sae, Few with { Tokens = 96, BatchTokens = 32 });
        int n = (int)summary.Tokens;
        var ids = new int[n];
        tokens.ReadWindow(0, ids);
        var neurons = model.RunToHook(ids, n / 8, 8, HookPoint.MlpPost(0)).Reshape(-1, 64);
        var features = sae.Encode(neurons).ToDense();
        var label = Enumerable.Range(0, n).Select(t => tokens.SourceLabels[tokens.DocumentSource(tokens.DocumentOf(t))]).ToArray();
        Assert.True(label.Distinct().Count() > 1, "the analysed tokens span several sources");
        var corpus = label.GroupBy(l => l).ToDictionary(g => g.Key, g => (float)g.Count() / n);

        using var store = FeatureStore.Open(summary.Directory);
        foreach (var (kind, acts) in new[] { (UnitKind.Feature, features), (UnitKind.Neuron, neurons) })
        {
            int checkedUnits = 0;
            for (int u = 0; u < acts.Columns; u++)
            {
                var mass = new Dictionary<string, double>();
                for (int t = 0; t < n; t++)
                    if (acts[t * acts.Columns + u] is > 0f and var v) mass[label[t]] = mass.GetValueOrDefault(label[t]) + v;
                if (mass.Count == 0) continue;
                double total = mass.Values.Sum();
                var shares = store.GetUnit(kind, u).Sources;
                Assert.Equal(corpus.Keys.Order(), shares.Select(s => s.Label).Order());
                foreach (var s in shares)
                {
                    Assert.Equal(corpus[s.Label], s.CorpusShare, 4);
                    Assert.Equal(mass.GetValueOrDefault(s.Label) / total, s.ActivationShare, 3);
                }
                checkedUnits++;
            }
            Assert.True(checkedUnits > 3, $"{kind}: only {checkedUnits} units fired");
        }
    }

    [Fact]
    public void VocabularyComesFromTheFirstPlaceThatHoldsTheTokenizer()
    {
        string empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
        string missing = Path.Combine(root, "missing");

        // The model folder (and a token store folder that cannot be read is just skipped); ids past the tokenizer get a placeholder.
        var names = FeatureBuilder.Vocabulary(null, Gpt2.Dir, missing, tokens, Vocab + 2);
        Assert.Equal(Vocab + 2, names.Count);
        Assert.Equal(Gpt2.Tokenizer.TokenText(Vocab - 1), names[Vocab - 1]);
        Assert.Equal([$"<{Vocab}>", $"<{Vocab + 1}>"], names.Skip(Vocab));

        // A tokenizer saved in the token store folder itself.
        string withTokenizer = Path.Combine(root, "store-with-tokenizer");
        Directory.CreateDirectory(withTokenizer);
        foreach (string f in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(Gpt2.Dir, f), Path.Combine(withTokenizer, f));
        Assert.Equal(Gpt2.Tokenizer.TokenText(7), FeatureBuilder.Vocabulary(null, empty, withTokenizer, tokens, Vocab)[7]);

        Assert.Equal($"--tokenizer {missing}: no tokenizer there (vocab.json + merges.txt, or tokenizer.json)",
            Assert.Throws<UserError>(() => FeatureBuilder.Vocabulary(missing, Gpt2.Dir, tokenDir, tokens, Vocab)).Message);
        var e = Assert.Throws<UserError>(() => FeatureBuilder.Vocabulary(null, empty, tokenDir, tokens, Vocab));
        Assert.Equal($"no tokenizer found for display strings (looked in {empty}, {tokenDir}); pass --tokenizer", e.Message);
    }
}
