using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>`sae eval` as one call: metrics on the last rows of stored activations, the synthetic comparison, the JSON and histogram files, and its refusals.</summary>
public class SaeEvalStageTests
{
    [Fact]
    public void Metrics_on_the_last_rows_and_the_synthetic_comparison_land_in_one_json_with_its_histogram()
    {
        string root = TestPaths.NewTempDir();
        string acts = Path.Combine(root, "acts.npy");
        string truth = SyntheticData.Write(new SyntheticOptions { D = 6, Features = 12, L0 = 2, Rows = 100, Seed = 4 }, acts, overwrite: false);
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, 6, 12, seed: 2);
        string saeDir = Path.Combine(root, "sae");
        sae.Save(saeDir);
        string outFile = Path.Combine(root, "nested", "eval.json");

        var r = SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Acts = acts, Rows = 30, Truth = truth, Out = outFile }, IProgressReporter.None, default);

        Tensor all;
        using (var f = NpyFile.Open(acts)) all = f.ReadFloat();
        var expected = SaeMetrics.Evaluate(sae, [all.Rows(70, 30)]);
        Assert.Equal(30, r.Metrics!.Tokens);
        Assert.Equal(expected.Mse, r.Metrics.Mse, 12);
        Assert.Equal(expected.Density, r.Metrics.Density);
        var (mmcs, recovered) = SyntheticData.Compare(SyntheticData.LoadDictionary(truth), sae.WDec.Value);
        var json = r.Json;
        Assert.Equal(saeDir, (string)json["sae"]!);
        Assert.Equal("relu", (string)json["architecture"]!);
        Assert.Equal(6, (int)json["d_in"]!);
        Assert.Equal(12, (int)json["d_sae"]!);
        Assert.Equal(Path.GetFullPath(acts), (string)json["acts"]!);
        Assert.Equal(expected.Mse, (double)json["mse"]!, 12);
        Assert.Equal(mmcs, (double)json["mmcs"]!);
        Assert.Equal(recovered, (double)json["recovered_at_0.9"]!);
        Assert.Null(r.Splice);

        string written = File.ReadAllText(outFile);
        Assert.Contains("\n  \"mmcs\"", written); // indented
        Assert.Equal(json.ToJsonString(), JsonNode.Parse(written)!.ToJsonString());
        Assert.True(File.Exists(Path.Combine(root, "nested", "eval.density.json")));
        Assert.Contains("feature density (30 tokens)", File.ReadAllText(Path.Combine(root, "nested", "eval.density.svg")));

        // All rows, and the rows training holds out (the last 5 %).
        Assert.Equal(100, SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Acts = acts }, IProgressReporter.None, default).Metrics!.Tokens);
        Assert.Equal(100, SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Acts = acts, Rows = 500 }, IProgressReporter.None, default).Metrics!.Tokens);
        Assert.Equal(5, SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Acts = acts, HeldOut = true }, IProgressReporter.None, default).Metrics!.Tokens);
        // Truth alone: no metrics, no histogram.
        var t = SaeEvalStage.Run(new SaeEvalStageOptions { Sae = saeDir, Truth = truth }, IProgressReporter.None, default);
        Assert.Null(t.Metrics);
        Assert.Equal(mmcs, (double)t.Json["mmcs"]!);
    }

    [Fact]
    public void Impossible_requests_are_refused_with_the_option_named()
    {
        string root = TestPaths.NewTempDir();
        string acts = Path.Combine(root, "acts.npy");
        SyntheticData.Write(new SyntheticOptions { D = 6, Features = 12, L0 = 2, Rows = 20, Seed = 4 }, acts, overwrite: false);
        string saeDir = Path.Combine(root, "sae");
        SparseAutoencoder.Create(SaeArchitecture.Relu, 8, 12, seed: 2).Save(saeDir);
        UserError Refused(SaeEvalStageOptions o) => Assert.ThrowsAny<UserError>(() => SaeEvalStage.Run(o, IProgressReporter.None, default));
        Assert.Contains("--rows -1", Refused(new SaeEvalStageOptions { Sae = saeDir, Acts = acts, Rows = -1 }).Message);
        Assert.Contains("give --acts, --model and/or --truth", Refused(new SaeEvalStageOptions { Sae = saeDir }).Message);
        Assert.Contains("rows have 6 values, the SAE reads 8", Refused(new SaeEvalStageOptions { Sae = saeDir, Acts = acts }).Message);
        Assert.Contains("--model needs --data", Refused(new SaeEvalStageOptions { Sae = saeDir, Model = root }).Message);
    }
}
