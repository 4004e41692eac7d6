using Mechanist.Cli.Commands;
using Mechanist.Explain;
using Mechanist.Features;

namespace Mechanist.Tests.Features;

/// <summary>`features build` into a folder that holds an explained store: the old explanations describe the old units.</summary>
[Collection("console-alone")]
public class FeatureRebuildTests
{
    [Fact]
    public async Task Rebuilding_a_store_removes_the_old_stores_explanations_and_says_so()
    {
        var (root, modelDir, saeDir, tokenDir) = StatisticsBuildTests.Inputs();
        try
        {
            string outDir = Path.Combine(root, "features");
            string[] build = ["features", "build", "--sae", saeDir, "--model", modelDir, "--data", tokenDir, "--out", outDir, "--tokens", "320", "--neurons", "false"];
            Assert.Equal(0, CliRun.Capture(FeaturesCommands.Create(), build).Code);
            await ExplainStage.RunAsync(outDir, new ExplainSettings { Limit = 4 }, IProgressReporter.None, default);
            string explanations = Path.Combine(outDir, "explanations.jsonl"), failures = Path.Combine(outDir, "explanations.failures.jsonl");
            File.WriteAllText(failures, """{"kind": "feature", "id": 5, "explanation": null}""" + "\n");
            using (var store = FeatureStore.Open(outDir)) Assert.Equal(4, store.ExplanationCount);

            // A build that fails keeps the store it would have replaced, explanations and all.
            Assert.Equal(1, CliRun.Capture(FeaturesCommands.Create(), [.. build[..3], Path.Combine(root, "no-such-sae"), .. build[4..]]).Code);
            Assert.True(File.Exists(explanations));

            var (code, output, _) = CliRun.Capture(FeaturesCommands.Create(), build);
            Assert.Equal(0, code);
            Assert.False(File.Exists(explanations));
            Assert.False(File.Exists(failures));
            Assert.Contains("removed the earlier explanations.jsonl", output);
            using (var store = FeatureStore.Open(outDir)) Assert.Equal(0, store.ExplanationCount);

            // A build into a folder without explanations says nothing about them.
            (code, output, _) = CliRun.Capture(FeaturesCommands.Create(), build);
            Assert.Equal(0, code);
            Assert.DoesNotContain("explanations", output);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
