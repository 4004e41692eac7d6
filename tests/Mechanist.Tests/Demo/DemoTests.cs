using System.CommandLine;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Cli;
using Mechanist.Cli.Commands;
using Mechanist.Pipeline;
using Mechanist.Features;
using Mechanist.IO;

namespace Mechanist.Tests.Demo;

/// <summary>Runs `mechanist demo --preset tiny --ab --no-browse --export-html` once on a slice of the SDK documentation, for the tests below.</summary>
public sealed class TinyDemoRun : IDisposable
{
    public string Root { get; } = TestPaths.NewTempDir("mechanist-demo");
    public string Out => Path.Combine(Root, "run");
    public string Corpus => Path.Combine(Root, "corpus.jsonl.gz");
    public int FirstExitCode { get; }
    public string FirstError { get; }
    public Dictionary<string, string> RecordsAfterFirstRun { get; } = [];

    public static readonly string[] Stages = ["tokenizer", "tokens", "model", "acts", "sae", "eval", "features", "b/model", "b/acts", "b/sae", "universal", "sae-widths", "splits"];

    public TinyDemoRun()
    {
        WriteCorpus(Corpus, 300_000);
        (FirstExitCode, FirstError) = Run("demo", "--preset", "tiny", "--ab", "--no-browse", "--export-html", "--out", Out, "--corpus", Corpus);
        foreach (string path in RecordPaths().Where(File.Exists)) RecordsAfterFirstRun[path] = File.ReadAllText(path);
    }

    public IEnumerable<string> RecordPaths() =>
        Stages.Select(s => Manifest.PathIn(Path.Combine(Out, s)))
            .Append(Path.Combine(Out, "features", DemoPipeline.ExplainRecord))
            .Append(Manifest.PathIn(Path.Combine(Out, "site")));

    public static (int Code, string Error) Run(params string[] args)
    {
        var root = new RootCommand { DemoCommand.Create() };
        var error = new StringWriter();
        int code = CommandLine.Run(root, args, error);
        return (code, error.ToString());
    }

    /// <summary>About <paramref name="chars"/> characters of the SDK's API documentation (deterministic for one SDK).</summary>
    static void WriteCorpus(string path, int chars)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
        long written = 0;
        foreach (string xml in DotnetDocsCorpus.FindDocumentationFiles().Where(f => f.Contains("System.Collections") || f.Contains("System.Linq") || f.Contains("System.Text")))
            foreach (string doc in DotnetDocsCorpus.ReadDocuments(xml))
            {
                writer.WriteLine(new JsonObject { ["text"] = doc }.ToJsonString());
                if ((written += doc.Length) >= chars) return;
            }
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

// The demo prints to Console.Out, which command-line tests redirect: run alone.
[Collection("console-alone")]
public class DemoTests(TinyDemoRun run) : IClassFixture<TinyDemoRun>
{
    [Fact]
    public void EveryStageLeavesItsFolderWithAManifest()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        foreach (string path in run.RecordPaths()) Assert.True(File.Exists(path), $"{path} missing");
        Assert.True(File.Exists(Path.Combine(run.Out, "tokenizer", "vocab.json")));
        Assert.True(File.Exists(Path.Combine(run.Out, "tokens", "meta.json")));
        Assert.True(File.Exists(Path.Combine(run.Out, "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run.Out, "model", "vocab.json")), "the model folder carries its tokenizer");
        Assert.True(File.Exists(Path.Combine(run.Out, "sae", "topk-w64-k8", "sae_weights.safetensors")));
        Assert.True(File.Exists(Path.Combine(run.Out, "eval", "eval.json")));
        Assert.True(File.Exists(Path.Combine(run.Out, "eval", "eval.density.svg")));
        Assert.True(File.Exists(Path.Combine(run.Out, "features", "explanations.jsonl")));
        Assert.True(File.Exists(Path.Combine(run.Out, "site", "index.html")));
        // The stages' own readers accept what the demo wrote.
        using var acts = Mechanist.Activations.ActivationStore.Open(Path.Combine(run.Out, "acts"));
        Assert.Equal(64, acts.Width);   // the micro model's MLP width
        Assert.True(acts.RowCount >= DemoPreset.Tiny.HarvestTokens - 32);
    }

    [Fact]
    public void SummaryHoldsSaneNumbers()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        var s = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Out, "summary.json")))!.AsObject();
        // Bounds from measured tiny runs (seed 0, 2026-12-03), with a margin on each side. Trained: validation
        // loss 5.08, explained variance 0.43, CE loss score 0.968 (clean 5.22, zero-ablated 6.27), 0 dead. Model
        // learning rate 1e-30 (untrained): loss 6.23 ≈ ln 512, zero-ablation costs 0.003 nats. SAE learning rate
        // 1e-30 (initial weights): explained variance 0.23. Each of those fails below.
        double loss = s["model_validation_loss"]!.GetValue<double>();
        Assert.InRange(loss, 3.5, 5.6);
        Assert.InRange(s["explained_variance"]!.GetValue<double>(), 0.33, 1);
        Assert.InRange(s["l0"]!.GetValue<double>(), 7.999, 8.0001);      // top-8
        Assert.Equal(64, s["latents"]!.GetValue<int>());
        Assert.InRange(s["dead"]!.GetValue<int>(), 0, 8);
        Assert.InRange(s["ultralow"]!.GetValue<int>(), 0, 16);
        double ce = s["ce_loss_score"]!.GetValue<double>();
        Assert.InRange(ce, 0.9, 1.05);
        double clean = s["ce_clean"]!.GetValue<double>(), zero = s["ce_zero"]!.GetValue<double>();
        Assert.True(zero - clean > 0.5, $"zero-ablating a trained model's MLP should hurt: clean {clean}, zero-ablated {zero}");
        Assert.InRange(s["feature_simulation_pearson"]!.GetValue<double>(), 0.45, 1);
        var examples = s["examples"]!.AsArray();
        Assert.NotEmpty(examples);
        foreach (var e in examples) Assert.False(string.IsNullOrWhiteSpace(e!["explanation"]!.GetValue<string>()));
        var stages = s["stages"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()).ToArray();
        Assert.Equal(["tokenizer", "tokens", "model", "acts", "sae", "eval", "features", "explain", "model-b", "acts-b", "sae-b", "universal", "sae-widths", "splits", "site"], stages);
    }

    /// <summary>`--ab` (issue 15 item 6): model B and its dictionary, A's smaller widths, the matches and the split families
    /// with their map, attached to A's store so the exported site has the A/B and Map pages.</summary>
    [Fact]
    public void AbStagesAttachMatchesFamiliesAndTheMapToTheSite()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        Assert.True(File.Exists(Path.Combine(run.Out, "b", "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run.Out, "b", "sae", "topk-w64-k8", "sae_weights.safetensors")));
        Assert.Equal(["topk-w16-k8", "topk-w32-k8"], Directory.GetDirectories(Path.Combine(run.Out, "sae-widths"), "topk-*").Select(d => Path.GetFileName(d)!).Order().ToArray());
        var ab = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Out, "universal", "summary.json")))!;
        // Both medians exist: features of A against B's, and the two models' neurons as the baseline.
        Assert.InRange((double)ab["median_max_corr_features"]!, 0.05, 1);
        Assert.InRange((double)ab["median_max_corr_neurons"]!, 0.05, 1);
        var splits = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Out, "splits", "summary.json")))!;
        Assert.Equal([16, 32, 64], splits["widths"]!.AsArray().Select(w => (int)w!).ToArray());
        Assert.True((int)splits["map_points"]! > 16, "the map has enough live latents to lay out");

        using var store = FeatureStore.Open(Path.Combine(run.Out, "features"));
        Assert.True(store.Attachments.HasAb);
        Assert.True(store.Attachments.HasSplits);
        Assert.NotNull(store.Attachments.MapFile);
        foreach (string page in new[] { "ab.html", "map.html", Path.Combine("data", "map.js") })
            Assert.True(File.Exists(Path.Combine(run.Out, "site", page)), $"site/{page} missing");
        var s = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Out, "summary.json")))!.AsObject();
        Assert.Contains(s["stages"]!.AsArray(), o => (string)o!["name"]! == "universal" && ((string)o["summary"]!).Contains("median best correlation"));
    }

    [Fact]
    public void BuiltinExplainerMatchesOrBeatsTheTopTokenControl()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        // Medians over each kind's units on this real (tiny) run; 1e-6 allows for float rounding where the
        // rule is the token set itself, whose predictions are the control's up to a scale.
        var results = Mechanist.Explain.ExplanationStore.ReadAll(Path.Combine(run.Out, "features", "explanations.jsonl"));
        var kinds = Mechanist.Explain.KindSummary.Of(results);
        Assert.Equal(["feature", "neuron"], kinds.Select(k => k.Kind));
        foreach (var k in kinds)
            Assert.True(k.SimulationPearson >= k.TopTokenPearson - 1e-6, $"{k.Kind}s: built-in {k.SimulationPearson:F4} below the top-token control {k.TopTokenPearson:F4}");
        // Both are still reported, per unit and in the stage's record.
        Assert.All(results.Where(r => r.Scores.SimulationPearson is not null), r => Assert.NotNull(r.Scores.TopTokenPearson));
        var record = Manifest.Load(Path.Combine(run.Out, "features", DemoPipeline.ExplainRecord)).Contents["demo"]!["results"]!;
        Assert.NotNull(record["feature_top_token_pearson"]);
        Assert.NotNull(record["neuron_simulation_pearson"]);
    }

    [Fact]
    public void SecondRunSkipsEveryStage()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        var (code, error) = TinyDemoRun.Run("demo", "--preset", "tiny", "--ab", "--no-browse", "--export-html", "--out", run.Out, "--corpus", run.Corpus);
        Assert.True(code == 0, error);
        foreach (var (path, text) in run.RecordsAfterFirstRun) Assert.Equal(text, File.ReadAllText(path));
        var s = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Out, "summary.json")))!.AsObject();
        Assert.All(s["stages"]!.AsArray(), o => Assert.True(o!["skipped"]!.GetValue<bool>()));
    }

    [Fact]
    public void TokenizerTrainAndCorpusPrepareOnTheDemosCorpusWriteWhatTheDemoWrote()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        string tokenizer = Path.Combine(run.Root, "tokenizer-cli"), tokens = Path.Combine(run.Root, "tokens-cli");
        var (code, _, error) = CliRun.Capture(TokenizerCommands.Create(), "tokenizer", "train", "--input", run.Corpus, "--vocab-size", DemoPreset.Tiny.VocabSize.ToString(), "--out", tokenizer);
        Assert.True(code == 0, error);
        foreach (string file in new[] { "vocab.json", "merges.txt", "tokenizer.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(run.Out, "tokenizer", file)), File.ReadAllBytes(Path.Combine(tokenizer, file)));

        // The demo's tokenizer folder, so that the store records the same tokenizer path.
        (code, _, error) = CliRun.Capture(CorpusCommands.Create(), "corpus", "prepare", "--input", run.Corpus, "--tokenizer", Path.Combine(run.Out, "tokenizer"),
            "--valid-fraction", DemoPreset.Tiny.ValidFraction.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", tokens);
        Assert.True(code == 0, error);
        var demoFiles = Directory.GetFiles(Path.Combine(run.Out, "tokens")).Select(f => Path.GetFileName(f)!).Where(f => f != Manifest.FileName).Order().ToList();
        Assert.Equal(demoFiles, Directory.GetFiles(tokens).Select(f => Path.GetFileName(f)!).Order().ToList());
        foreach (string file in demoFiles)
            Assert.True(File.ReadAllBytes(Path.Combine(run.Out, "tokens", file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(tokens, file))), file);
    }

    [Fact]
    public void SaeTrainOnTheDemosActivationsWritesTheSameMetadataAsTheDemo()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        string outDir = Path.Combine(run.Root, "sae-cli");
        var (code, _, error) = CliRun.Capture(SaeCommands.Create(), "sae", "train", "--acts", Path.Combine(run.Out, "acts"),
            "--arch", "topk", "--width", "64", "--k", "8", "--tokens", "2048", "--batch-size", "512", "--out", outDir);
        Assert.True(code == 0, error);
        var demo = Mechanist.Sae.SaeLensFormat.Load(Path.Combine(run.Out, "sae", "topk-w64-k8")).Metadata;
        var cli = Mechanist.Sae.SaeLensFormat.Load(Path.Combine(outDir, "topk-w64-k8")).Metadata;
        Assert.Equal(demo, cli);
        Assert.Equal(Path.Combine(run.Out, "model"), cli.ModelName);
        Assert.Equal(Path.Combine(run.Out, "tokens"), cli.DatasetPath);   // a folder: readers find the tokens and their tokenizer
        Assert.Equal(DemoPreset.Hook, cli.Hook);
        Assert.NotNull(cli.ContextSize);
    }

    [Fact]
    public void SaeEvalOnTheDemosFoldersWritesWhatTheDemosEvalStageWrote()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        string Dir(string stage) => Path.Combine(run.Out, stage);
        string outFile = Path.Combine(run.Root, "eval-cli", "eval.json");
        var (code, _, error) = CliRun.Capture(SaeCommands.Create(), "sae", "eval", "--sae", Path.Combine(Dir("sae"), "topk-w64-k8"), "--acts", Dir("acts"), "--held-out",
            "--model", Dir("model"), "--data", Dir("tokens"), "--windows", DemoPreset.Tiny.EvalWindows.ToString(), "--hook", DemoPreset.Hook.Name, "--out", outFile, "--json");
        Assert.True(code == 0, error);
        var demo = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("eval"), "eval.json")))!;
        var cli = JsonNode.Parse(File.ReadAllText(outFile))!;
        Assert.True(JsonNode.DeepEquals(demo, cli), $"demo:\n{demo}\ncli:\n{cli}");
        // The activation metrics are the held-out rows', the losses the spliced validation windows'.
        using var acts = Mechanist.Activations.ActivationStore.Open(Dir("acts"));
        Assert.Equal(Mechanist.Sae.HeldOutRows.Of(acts.RowCount, 0), cli["tokens"]!.GetValue<long>());
        Assert.True(cli["scored_tokens"]!.GetValue<long>() > 0);
        Assert.True(File.ReadAllBytes(Path.Combine(Dir("eval"), "eval.density.json")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(run.Root, "eval-cli", "eval.density.json"))));
    }

    [Fact]
    public void PlaygroundEncoderRunsTextThroughModelAndSae()
    {
        Assert.True(run.FirstExitCode == 0, run.FirstError);
        using var store = FeatureStore.Open(Path.Combine(run.Out, "features"));
        var encoder = ModelFeatureEncoder.ForStore(store, out string? why);
        Assert.True(encoder != null, why);
        var tokens = encoder!.Encode("Returns the number of elements in the collection.");
        Assert.True(tokens.Count > 3);
        Assert.Equal("Returns the number of elements in the collection.", string.Concat(tokens.Select(t => t.Token)));
        Assert.Contains(tokens, t => t.Top.Count > 0);
        foreach (var t in tokens)
        {
            Assert.InRange(t.Top.Count, 0, 5);
            Assert.All(t.Top, f => Assert.InRange(f.Id, 0, 63));
            Assert.True(t.Top.Zip(t.Top.Skip(1)).All(p => p.First.Activation >= p.Second.Activation), "strongest first");
        }
        // Text longer than the model's context (32 tokens for micro) is encoded window by window.
        string longText = string.Concat(Enumerable.Repeat("The list holds items. ", 40));
        Assert.Equal(longText, string.Concat(encoder.Encode(longText).Select(t => t.Token)));
    }
}

public class DemoRunnerTests
{
    [Fact]
    public void ChangedSettingsRerunThatStageAndEveryLaterOne()
    {
        string dir = TestPaths.NewTempDir("mechanist-runner");
        try
        {
            var runs = new List<string>();
            List<DemoStage> Stages(int bSetting) =>
            [
                Stage("a", dir, 1, [], runs),
                Stage("b", dir, bSetting, [Manifest.PathIn(Path.Combine(dir, "a"))], runs),
                Stage("c", dir, 1, [Manifest.PathIn(Path.Combine(dir, "b"))], runs),
            ];
            var runner = new DemoRunner(dir, IProgressReporter.None, _ => { });
            runner.Run(Stages(1), default);
            Assert.Equal(["a", "b", "c"], runs);
            runs.Clear();
            var again = runner.Run(Stages(1), default);
            Assert.Empty(runs);
            Assert.All(again, o => Assert.True(o.Skipped));
            Assert.Equal("a done", again[0].Summary);
            runner.Run(Stages(2), default);
            Assert.Equal(["b", "c"], runs);
            runs.Clear();
            File.Delete(Manifest.PathIn(Path.Combine(dir, "c")));   // an interrupted last stage
            runner.Run(Stages(2), default);
            Assert.Equal(["c"], runs);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static DemoStage Stage(string name, string dir, int setting, IReadOnlyList<string> inputs, List<string> runs) => new()
    {
        Name = name, Folder = Path.Combine(dir, name), Inputs = inputs, Settings = new JsonObject { ["x"] = setting },
        Run = _ => { runs.Add(name); return new DemoStageResult($"{name} done"); },
    };
}
