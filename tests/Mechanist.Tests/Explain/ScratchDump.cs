using Mechanist.Explain;
namespace Mechanist.Tests.Explain;
public class ScratchDump
{
    [Fact]
    public void Dump()
    {
        var run = new ExplainRun(new BuiltinExplainer(), new RuleSimulator(), new RuleSimulator());
        var lines = new List<string>();
        foreach (var u in new[] { SyntheticUnits.HebrewUnit(), SyntheticUnits.DigitUnit(), SyntheticUnits.TheUnit(), SyntheticUnits.NoiseUnit() })
        {
            var r = run.ExplainUnitAsync(u, default).GetAwaiter().GetResult();
            lines.Add(System.Text.Json.JsonSerializer.Serialize(r, ExplanationResult.Json));
        }
        File.WriteAllLines("/tmp/explain-dump.jsonl", lines);
        EvidenceFile.Write("/tmp/explain-evidence.jsonl", new[] { SyntheticUnits.HebrewUnit(), SyntheticUnits.DigitUnit(), SyntheticUnits.TheUnit(), SyntheticUnits.NoiseUnit() });
    }
}
