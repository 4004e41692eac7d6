using System.CommandLine;
using Mechanist.Cli;
using Mechanist.Cli.Commands;
using Mechanist.Sae;
using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Tests.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Features;

/// <summary>End to end on the tiniest real parts: a randomly initialised micro model, a random TopK SAE, GPT-2 tokens.</summary>
public class StatisticsBuildTests
{
    static readonly HookPoint Hook = HookPoint.MlpPost(0);
    const int Context = 16;

    internal static (string Root, string Model, string Sae, string Tokens) Inputs()
    {
        string root = TestPaths.NewTempDir("mechanist-featbuild");
        string docs = Path.Combine(root, "docs.jsonl");
        File.WriteAllLines(docs, Gpt2.Golden().Take(40).Select(g => g.Text).Where(t => t.Length > 0)
            .Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        string tokens = Path.Combine(root, "tokens");
        TokenStoreWriter.Prepare(new CorpusReader([docs]), Gpt2.Tokenizer, tokens,
            new TokenStoreOptions { ValidFraction = 0, TokenizerPath = Gpt2.Dir }, IProgressReporter.None);
        var model = Transformer<float>.Create(TransformerConfig.Preset("micro", Gpt2.Tokenizer.VocabSize), seed: 1);
        string modelDir = Path.Combine(root, "model");
        ModelFiles.Save(model, modelDir);
        var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, 64, 96, seed: 2, k: 6);
        sae.Metadata = new SaeMetadata { Hook = Hook, ContextSize = Context };
        string saeDir = Path.Combine(root, "sae");
        SaeLensFormat.Save(sae, saeDir);
        return (root, modelDir, saeDir, tokens);
    }

    [Fact]
    public void BuildsAStoreWhoseNumbersMatchAFreshRunOfModelAndSae()
    {
        var (root, modelDir, saeDir, tokenDir) = Inputs();
        try
        {
            string outDir = Path.Combine(root, "features");
            var options = new FeatureBuildOptions { Tokens = 1600, BatchTokens = 160, RandomExamples = 3 };
            var summary = FeatureBuilder.Build(saeDir, modelDir, tokenDir, outDir, options, IProgressReporter.None);
            Assert.Equal(1600, summary.Tokens);
            Assert.Equal(Context, summary.Context);
            Assert.Equal(96, summary.Features);
            Assert.Equal(64, summary.Neurons);
            Assert.Equal(6.0, summary.MeanL0, 6);

            // Brute force: the whole analysed stream in one forward pass, dense SAE codes.
            var model = ModelFiles.Load(modelDir);
            var sae = SaeLensFormat.Load(saeDir);
            using var tokens = TokenStore.Open(tokenDir);
            var ids = new int[1600];
            tokens.ReadWindow(0, ids);
            var neurons = model.RunToHook(ids, 1600 / Context, Context, Hook).Reshape(-1, 64);
            var features = sae.Encode(neurons).ToDense();

            using var store = FeatureStore.Open(outDir);
            Assert.Equal(96, store.UnitCount(UnitKind.Feature));
            Assert.Equal(64, store.UnitCount(UnitKind.Neuron));
            Assert.Equal(Hook.Name, store.Source.Hook);
            Assert.Equal(1600, store.Source.TokensAnalysed);
            Assert.Equal(Gpt2.Tokenizer.TokenText(ids[5]), store.Vocabulary[ids[5]]);
            foreach (var (kind, acts) in new[] { (UnitKind.Feature, features), (UnitKind.Neuron, neurons) })
            {
                for (int u = 0; u < acts.Columns; u++)
                {
                    var column = Enumerable.Range(0, 1600).Select(t => acts[t * acts.Columns + u]).ToArray();
                    var unit = store.GetUnit(kind, u);
                    int fired = column.Count(v => v > 0);
                    Assert.Equal((float)fired / 1600, unit.Density, 5);
                    if (fired == 0) { Assert.Empty(unit.TopExamples); continue; }
                    Assert.Equal(column.Max(), unit.MaxActivation, 3);
                    Assert.Equal(column.Where(v => v > 0).Average(), unit.MeanActivation, 3);
                    // The strongest context is centred on the strongest token: same token id, same activation (float16).
                    int argmax = Array.IndexOf(column, column.Max());
                    var best = unit.TopExamples[0];
                    int centre = Math.Min(8, argmax % Context);
                    Assert.Equal(ids[argmax], best.TokenIds[centre]);
                    Assert.Equal(column.Max(), best.Activations[centre], 2);
                    Assert.Equal(3, unit.RandomExamples.Length);
                    Assert.Equal(10, unit.Intervals.Length);
                    Assert.Equal(10, unit.Nearest.Length);
                    Assert.Equal(10, unit.Logits.Top.Length);
                    Assert.All(unit.Logits.Top.Concat(unit.Logits.Bottom), t => Assert.Contains(t.TokenId, ids));
                    Assert.Equal(fired, unit.ActivationHistogram.Total);
                }
            }

            // The store names the model and SAE it was built from, by full path.
            Assert.Equal(Path.GetFullPath(modelDir), store.Source.Model);
            Assert.Equal(Path.GetFullPath(saeDir), store.Source.Sae);

            var manifest = Manifest.Load(outDir);
            Assert.Equal(FeatureBuilder.Stage, manifest.Stage);
            Assert.Equal(3, manifest.Inputs.Count);
            // The token store is recorded by the fast hash (size and time, not its content), the model and SAE by content.
            Assert.StartsWith("fast-sha256:", manifest.Inputs.Single(i => i.Path == Path.GetFullPath(tokenDir)).Hash);
            Assert.StartsWith("sha256:", manifest.Inputs.Single(i => i.Path == Path.GetFullPath(modelDir)).Hash);
            Assert.Empty(manifest.ChangedInputs());
            Assert.Contains(manifest.Outputs, o => o.Path == "features.json");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void MismatchedSaeWidthOrTokenizerIsAUserError()
    {
        var (root, modelDir, saeDir, tokenDir) = Inputs();
        try
        {
            var wrong = SparseAutoencoder.Create(SaeArchitecture.TopK, 32, 40, seed: 2, k: 4);
            wrong.Metadata = new SaeMetadata { Hook = Hook };
            string wrongDir = Path.Combine(root, "wrong-sae");
            SaeLensFormat.Save(wrong, wrongDir);
            var options = new FeatureBuildOptions { Tokens = 320 };
            var e = Assert.Throws<UserError>(() => FeatureBuilder.Build(wrongDir, modelDir, tokenDir, Path.Combine(root, "out"), options, IProgressReporter.None));
            Assert.Contains("reads 32 values", e.Message);

            string otherTokenizer = Path.Combine(root, "other-tokenizer");
            TokenizerFiles.Save(BpeTrainer.Train(["some other text entirely"], 300), otherTokenizer);
            e = Assert.Throws<UserError>(() => FeatureBuilder.Build(saeDir, modelDir, tokenDir, Path.Combine(root, "out"),
                options with { Tokenizer = otherTokenizer }, IProgressReporter.None));
            Assert.Contains("not the one that wrote the token store", e.Message);
            Assert.False(Directory.Exists(Path.Combine(root, "out", "features.json")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void CommandBuildsAStoreFindingTheTokenizerThroughTheTokenStore()
    {
        var (root, modelDir, saeDir, tokenDir) = Inputs();
        try
        {
            int Run(params string[] args) => CommandLine.Run(new RootCommand("test") { FeaturesCommands.Create() }, args, new StringWriter());
            string outDir = Path.Combine(root, "features");
            string[] common = ["features", "build", "--sae", saeDir, "--model", modelDir, "--data", tokenDir, "--out", outDir];
            Assert.Equal(0, Run([.. common, "--tokens", "320", "--neurons", "false", "--top", "3", "--intervals", "4"]));
            using (var store = FeatureStore.Open(outDir))
            {
                Assert.Equal([UnitKind.Feature], store.Kinds);
                Assert.Equal(320, store.Source.TokensAnalysed);
                var unit = Enumerable.Range(0, 96).Select(u => store.GetUnit(UnitKind.Feature, u)).First(u => u.Density > 0);
                Assert.Equal(4, unit.Intervals.Length);
                Assert.InRange(unit.TopExamples.Length, 1, 3);
            }
            Assert.Equal(1, Run([.. common, "--tokens", "0"]));
            Assert.Equal(1, Run([.. common, "--tokens", "320", "--intervals", "0"]));
            Assert.Equal(1, Run([.. common[..3], Path.Combine(root, "no-such-sae"), .. common[4..]]));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
