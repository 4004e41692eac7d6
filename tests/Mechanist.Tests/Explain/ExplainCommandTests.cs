using System.CommandLine;
using Mechanist.Cli;
using Mechanist.Cli.Commands;
using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

/// <summary>`mechanist explain` end to end, in process: built-in explainer, resume, LLM server, user errors.</summary>
public class ExplainCommandTests
{
    static int Run(params string[] args)
    {
        var root = new RootCommand("test") { ExplainCommands.Create() };
        return CommandLine.Run(root, args, new StringWriter());
    }

    [Fact]
    public void Builtin_run_writes_every_unit_and_a_rerun_skips_them()
    {
        string dir = TestPaths.NewTempDir();
        EvidenceFile.Write(Path.Combine(dir, "evidence.jsonl"),
            [SyntheticUnits.HebrewUnit(0), SyntheticUnits.DigitUnit(1), SyntheticUnits.TheUnit(2), SyntheticUnits.NoiseUnit(3)]);
        Assert.Equal(0, Run("explain", "--features", dir, "--ids", "0-2"));
        string results = Path.Combine(dir, "explanations.jsonl");
        Assert.Equal([0, 1, 2], ExplanationStore.ReadAll(results).Select(r => r.Id));
        var before = File.ReadAllText(results);

        Assert.Equal(0, Run("explain", "--features", dir));
        var all = ExplanationStore.ReadAll(results);
        Assert.Equal([0, 1, 2, 3], all.Select(r => r.Id));
        Assert.StartsWith(before, File.ReadAllText(results)); // appended, nothing rewritten
        Assert.Equal(4, File.ReadAllLines(results).Length);

        // Another split (or explainer, or model) writes its own file beside the first ...
        Assert.Equal(0, Run("explain", "--features", dir, "--seed", "1"));
        Assert.Equal(4, ExplanationStore.ReadAll(Path.Combine(dir, "explanations.builtin-seed1.jsonl")).Count);
        Assert.Equal(4, File.ReadAllLines(results).Length);
        // ... and mixing incomparable scores in one file given with --out is refused.
        Assert.Equal(1, Run("explain", "--features", dir, "--seed", "2", "--out", results));
        Assert.Equal(4, File.ReadAllLines(results).Length);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Llm_run_against_a_loopback_server()
    {
        string dir = TestPaths.NewTempDir();
        EvidenceFile.Write(Path.Combine(dir, "evidence.jsonl"), [SyntheticUnits.TheUnit(5)]);
        using var server = new ScriptedChatServer(r => r.System.Contains("[EXPLANATION]")
            ? new Reply.Chat("[EXPLANATION]: the word the")
            : new Reply.Chat("not json"));
        Environment.SetEnvironmentVariable("MECHANIST_TEST_KEY", "sk-abc");
        Assert.Equal(0, Run("explain", "--features", dir, "--llm", server.BaseUrl + "/v1", "--llm-model", "m", "--api-key-env", "MECHANIST_TEST_KEY", "--retries", "0"));
        var r = Assert.Single(ExplanationStore.ReadAll(Path.Combine(dir, "explanations.llm-m-seed0.jsonl")));
        Assert.Equal("the word the", r.Explanation);
        Assert.True(r.Errors["unparseable"] > 0); // the simulator's replies were never JSON
        Assert.All(server.Requests, q => Assert.Equal("Bearer sk-abc", q.Authorization));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("--ids", "1-x")]
    [InlineData("--api-key-env", "MECHANIST_SURELY_UNSET_VARIABLE")]
    [InlineData("--limit", "-1")]
    [InlineData("--concurrency", "0")]
    [InlineData("--timeout", "0")]
    [InlineData("--retries", "-1")]
    public void Mistakes_are_user_errors(string option, string value)
    {
        string dir = TestPaths.NewTempDir();
        EvidenceFile.Write(Path.Combine(dir, "evidence.jsonl"), [SyntheticUnits.TheUnit(5)]);
        var error = new StringWriter();
        Assert.Equal(1, CommandLine.Run(new RootCommand("test") { ExplainCommands.Create() },
            ["explain", "--features", dir, "--llm", "http://127.0.0.1:9", option, value], error));
        Assert.Contains(option, error.ToString()); // refused for this option, not because the server is unreachable
        Assert.Equal(1, Run("explain", "--features", Path.Combine(dir, "missing")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void An_empty_evidence_file_is_a_user_error_that_writes_no_results()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "evidence.jsonl"), "\n");
        var error = new StringWriter();
        Assert.Equal(1, CommandLine.Run(new RootCommand("test") { ExplainCommands.Create() }, ["explain", "--features", dir], error));
        Assert.Contains("evidence.jsonl: no units to explain", error.ToString());
        Assert.Equal(["evidence.jsonl"], Directory.GetFiles(dir).Select(Path.GetFileName));
        Directory.Delete(dir, true);
    }
}

/// <summary>The explain stage reading a real feature store and writing explanations the store and browser show.</summary>
public class FeatureStoreExplainTests
{
    [Fact]
    public void Explains_every_unit_of_a_feature_store_and_the_store_shows_them()
    {
        string dir = Mechanist.Tests.Features.FixtureStore.Build(TestPaths.NewTempDir());
        string results = Path.Combine(dir, "explanations.jsonl");
        // The fixture ships explanations by a "fixture" explainer; resuming into them is refused, not mixed.
        Assert.Equal(1, CommandLine.Run(new RootCommand { ExplainCommands.Create() }, ["explain", "--features", dir], new StringWriter()));
        File.Delete(results);

        Assert.Equal(0, CommandLine.Run(new RootCommand { ExplainCommands.Create() }, ["explain", "--features", dir], new StringWriter()));
        using var store = Mechanist.Features.FeatureStore.Open(dir);
        int features = store.UnitCount(Mechanist.Features.UnitKind.Feature), neurons = store.UnitCount(Mechanist.Features.UnitKind.Neuron);
        Assert.Equal(features + neurons, ExplanationStore.ReadAll(results).Count);
        Assert.Equal(features + neurons, store.ExplanationCount);

        var feature0 = store.GetSummary(Mechanist.Features.UnitKind.Feature, 0).Explanation!;
        Assert.Contains($"' {Mechanist.Tests.Features.FixtureStore.PreferredWord(0)}'", feature0.Text);
        Assert.Equal("builtin", feature0.Explainer);
        Assert.NotNull(feature0.Score);
        Assert.True(feature0.Scores.ContainsKey("top_token_pearson"));
        var summary = KindSummary.Of(ExplanationStore.ReadAll(results));
        Assert.Equal(["feature", "neuron"], summary.Select(k => k.Kind));
        Assert.Equal(features - features / 12, summary[0].Units); // every 12th fixture feature is dead: left out
        Assert.All(summary, k => Assert.InRange(k.SimulationPearson, 0.5, 1));
        var dead = store.GetSummary(Mechanist.Features.UnitKind.Feature, 11).Explanation!;
        Assert.Equal(BuiltinExplainer.NeverFires, dead.Text);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void An_llm_run_after_the_builtin_one_sits_beside_it_resumes_and_is_shown_first()
    {
        string dir = Mechanist.Tests.Features.FixtureStore.Build(TestPaths.NewTempDir());
        File.Delete(Path.Combine(dir, "explanations.jsonl")); // the fixture's own explainer
        var feature = Mechanist.Features.UnitKind.Feature;
        int Explain(params string[] more) => CommandLine.Run(new RootCommand { ExplainCommands.Create() }, ["explain", "--features", dir, .. more], new StringWriter());
        Assert.Equal(0, Explain());
        string builtin = File.ReadAllText(Path.Combine(dir, "explanations.jsonl"));

        // The demo's situation: the built-in explainer has run; an LLM explainer now adds its own file.
        using var server = new ScriptedChatServer(r => r.System.Contains("[EXPLANATION]")
            ? new Reply.Chat("[EXPLANATION]: words about unit " + r.LastUser.Length)
            : new Reply.Chat("not json"));
        string[] llm = ["--llm", server.BaseUrl, "--llm-model", "tiny-chat", "--retries", "0", "--kind", "feature", "--ids", "0-3"];
        Assert.Equal(0, Explain(llm));
        string llmFile = Path.Combine(dir, "explanations.llm-tiny-chat-seed0.jsonl");
        Assert.Equal([0, 1, 2, 3], ExplanationStore.ReadAll(llmFile).Select(r => r.Id));
        Assert.Equal(builtin, File.ReadAllText(Path.Combine(dir, "explanations.jsonl")));

        // Re-running the same explainer resumes: nothing is asked again.
        int asked = server.Requests.Count;
        Assert.Equal(0, Explain(llm));
        Assert.Equal(asked, server.Requests.Count);
        Assert.Equal(4, File.ReadAllLines(llmFile).Length);

        using var store = Mechanist.Features.FeatureStore.Open(dir);
        var shown = store.GetSummary(feature, 1);
        Assert.Equal("llm", shown.Explanation!.Explainer);
        Assert.Equal(["llm", "builtin"], shown.Explanations.Select(e => e.Explainer));
        Assert.Equal("builtin", store.GetSummary(feature, 4).Explanation!.Explainer); // only the built-in explained it

        // The static export shows the same: the LLM's explanation and the built-in one listed under it.
        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        Mechanist.Browser.StaticExport.Export(dir, site, IProgressReporter.None);
        string page = File.ReadAllText(Path.Combine(site, "feature", "1.html"));
        Assert.Contains(System.Net.WebUtility.HtmlEncode(shown.Explanation.Text), page);
        Assert.Contains("Other explanations (1)", page);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(shown.Explanations[1].Text), page);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Adapter_keeps_examples_and_labels_intervals()
    {
        string dir = Mechanist.Tests.Features.FixtureStore.Build(TestPaths.NewTempDir());
        using var store = Mechanist.Features.FeatureStore.Open(dir);
        var record = store.GetUnit(Mechanist.Features.UnitKind.Feature, 3);
        var unit = FeatureStoreEvidence.FromRecord(record);
        Assert.Equal((3, "feature"), (unit.Id, unit.Kind));
        Assert.Equal(record.TopExamples.Length, unit.Top.Count);
        Assert.Equal(record.TopExamples[0].Tokens, unit.Top[0].Tokens);
        Assert.Equal(record.TopExamples[0].Activations, unit.Top[0].Activations);
        Assert.Equal(record.RandomExamples.Length, unit.Random.Count);
        Assert.Matches(@"^[0-9.]+–[0-9.]+, contains [0-9.]+ %$", unit.Intervals[0].Label);
        var neurons = FeatureStoreEvidence.Read(store, Mechanist.Features.UnitKind.Neuron, id => id < 3).ToList();
        Assert.Equal([0, 1, 2], neurons.Select(n => n.Id));
        Assert.All(neurons, n => Assert.Equal("neuron", n.Kind));
        Directory.Delete(dir, true);
    }
}
