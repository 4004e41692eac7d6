using Mechanist.Explain;
using Mechanist.IO;
using Mechanist.Pipeline;
using Mechanist.Tests.Explain;
using Mechanist.Tests.Features;

namespace Mechanist.Tests.Demo;

/// <summary>The demo's site stage over a built feature store: when it is up to date, and when it must export again.</summary>
public class DemoSiteStageTests
{
    [Fact]
    public async Task An_explainer_run_added_after_the_demo_exports_the_site_again()
    {
        string root = TestPaths.NewTempDir("mechanist-site-stage");
        try
        {
            // A corpus is named only so that the pipeline has no corpus stage; the site stage never reads it.
            var pipeline = new DemoPipeline(new DemoOptions { OutDir = root, Corpus = [Path.Combine(root, "corpus.txt")], ExportHtml = true });
            FixtureStore.Build(pipeline.FeaturesDir);
            // The records the demo's features and explain stages leave in the store.
            foreach (string record in new[] { Manifest.PathIn(pipeline.FeaturesDir), Path.Combine(pipeline.FeaturesDir, DemoPipeline.ExplainRecord) })
                File.WriteAllText(record, new Manifest { Stage = "demo" }.ToJson());
            var site = pipeline.Stages(_ => { }).Single(s => s.Name == "site");
            var runner = new DemoRunner(root, IProgressReporter.None, _ => { });
            Assert.False(runner.Run([site], default)[0].Skipped);
            Assert.True(runner.Run([site], default)[0].Skipped, "nothing changed: the site is up to date");

            // `mechanist explain --features OUT/features --llm ...` after the demo: a second explainer's file.
            using (var server = new ScriptedChatServer(r => r.System.Contains("[EXPLANATION]")
                       ? new Reply.Chat("[EXPLANATION]: words about unit " + r.LastUser.Length)
                       : new Reply.Chat("not json")))
            {
                var settings = new ExplainSettings { Llm = new ChatOptions(server.BaseUrl, "tiny-chat", null) { MaxRetries = 0 }, Kind = "feature", Ids = new HashSet<int> { 0 } };
                await ExplainStage.RunAsync(pipeline.FeaturesDir, settings, IProgressReporter.None, default);
            }
            Assert.Contains(ExplanationFiles.InStore(pipeline.FeaturesDir), f => Path.GetFileName(f) == "explanations.llm-tiny-chat-seed0.jsonl");

            Assert.False(runner.Run([site], default)[0].Skipped, "the store gained an explainer's file: the site must be exported again");
            string page = File.ReadAllText(Path.Combine(pipeline.SiteDir, "feature", "0.html"));
            Assert.Contains("words about unit", page);
            Assert.Contains("Other explanations (1)", page);
            Assert.True(runner.Run([site], default)[0].Skipped);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
