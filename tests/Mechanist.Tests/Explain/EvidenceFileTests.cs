using System.Text.Json;
using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

public class EvidenceFileTests
{
    [Fact]
    public async Task Round_trips_units_and_the_run_gives_the_same_results()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "evidence.jsonl");
        var units = new[] { SyntheticUnits.HebrewUnit(1), SyntheticUnits.TheUnit(2) };
        EvidenceFile.Write(path, units);
        var back = EvidenceFile.Read(path).ToList();
        Assert.Equal(2, back.Count);
        Assert.Equal(units[0].Top[0].Tokens, back[0].Top[0].Tokens);
        Assert.Equal(units[0].Top[0].Activations, back[0].Top[0].Activations);
        Assert.Equal(units[0].Intervals[3].Label, back[0].Intervals[3].Label);
        Assert.Equal(units[1].Random.Count, back[1].Random.Count);
        Assert.Equal(units[0].Top[0].Position, back[0].Top[0].Position);
        Assert.DoesNotContain("\"max\"", File.ReadAllText(path));

        // Position is optional in the file: absent means unknown (−1).
        File.WriteAllText(path, """{"id":4,"kind":"neuron","density":0.1,"max_activation":1,"top":[{"tokens":["a"],"activations":[1]}],"intervals":[],"random":[]}""" + "\n");
        Assert.Equal(-1, EvidenceFile.Read(path).Single().Top[0].Position);

        var run = new ExplainRun(new BuiltinExplainer(), new RuleSimulator(), new RuleSimulator());
        var a = await run.ExplainUnitAsync(units[0], default);
        var b = await run.ExplainUnitAsync(back[0], default);
        Assert.Equal(a.Explanation, b.Explanation);
        Assert.Equal(a.Scores.SimulationPearson, b.Scores.SimulationPearson);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("""{"id":1,"kind":"feature","density":0.1,"max_activation":1,"top":[{"tokens":["a","b"],"activations":[1]}],"intervals":[],"random":[]}""", "line 1 (unit 1): top[0]: 2 tokens but 1 activations")]
    [InlineData("""{"id":1,"kind":"features","density":0.1,"max_activation":1,"top":[],"intervals":[],"random":[]}""", "line 1 (unit 1): kind: 'features' is not feature or neuron")]
    [InlineData("""{"id":1,"kind":"feature","density":2,"max_activation":1,"top":[],"intervals":[],"random":[]}""", "line 1 (unit 1): density: 2 is not in [0, 1]")]
    [InlineData("""{"id":1,"kind":"feature","density":0.1,"max_activation":1,"top":[],"intervals":[],"random":[]}""" + "\n{oops", "line 2: not a unit's evidence")]
    public void Bad_evidence_names_file_line_and_field(string content, string expected)
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "evidence.jsonl");
        File.WriteAllText(path, content + "\n");
        var e = Assert.Throws<DataFormatError>(() => EvidenceFile.Read(path).ToList());
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Result_lines_carry_the_fields_the_feature_store_reads()
    {
        var run = new ExplainRun(new BuiltinExplainer(), new RuleSimulator(), new RuleSimulator());
        var result = await run.ExplainUnitAsync(SyntheticUnits.HebrewUnit(7), default);
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(result, ExplanationResult.Json));
        var root = doc.RootElement;
        Assert.Equal("feature", root.GetProperty("kind").GetString());
        Assert.Equal(7, root.GetProperty("id").GetInt32());
        Assert.Equal(JsonValueKind.String, root.GetProperty("explanation").ValueKind);
        Assert.Equal(root.GetProperty("scores").GetProperty("simulation_pearson").GetDouble(), root.GetProperty("score").GetDouble());
        foreach (var name in new[] { "simulation_spearman", "detection_balanced_accuracy", "top_token_pearson", "top_token_spearman", "pearson_over_top_token" })
            Assert.Equal(JsonValueKind.Number, root.GetProperty("scores").GetProperty(name).ValueKind);
        Assert.Equal("builtin", root.GetProperty("explainer").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("errors").ValueKind);
    }
}
