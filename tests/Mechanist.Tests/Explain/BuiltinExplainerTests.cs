using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

public class BuiltinExplainerTests
{
    static (Explanation Explanation, ExplanationResult Result) Run(UnitEvidence unit)
    {
        var explanation = new BuiltinExplainer().Explain(unit, unit.Split());
        var run = new ExplainRun(new BuiltinExplainer(), new RuleSimulator(), new RuleSimulator());
        var result = run.ExplainUnitAsync(unit, CancellationToken.None).GetAwaiter().GetResult();
        return (explanation, result);
    }

    [Fact]
    public void Hebrew_unit_is_explained_by_its_script()
    {
        var (e, r) = Run(SyntheticUnits.HebrewUnit());
        Assert.Contains("Hebrew text", e.Text);
        Assert.Contains(e.Rule!.Clauses, c => c.Kind == "class" && c.Class == "Hebrew");
        Assert.True(r.Scores.SimulationPearson > 0.8, $"simulation {r.Scores.SimulationPearson}");
        // The script generalises over tokens the top-token control has seen too rarely.
        Assert.True(r.Scores.SimulationPearson > r.Scores.TopTokenPearson + 0.2, $"{r.Scores.SimulationPearson} vs {r.Scores.TopTokenPearson}");
        Assert.True(r.Scores.DetectionBalancedAccuracy > 0.9);
    }

    [Fact]
    public void Digit_unit_is_explained_as_digits()
    {
        var (e, r) = Run(SyntheticUnits.DigitUnit());
        Assert.Contains("digits", e.Text);
        Assert.True(r.Scores.SimulationPearson > 0.8, $"simulation {r.Scores.SimulationPearson}");
    }

    [Fact]
    public void Single_token_unit_names_the_token_and_is_flagged()
    {
        var (e, r) = Run(SyntheticUnits.TheUnit());
        Assert.Equal("the token ' the'", e.Text);
        Assert.True(r.SingleToken);
        Assert.True(r.Scores.SimulationPearson > 0.9);
        // For a single-token unit the control does as well as the explanation: the point of reporting it.
        Assert.True(r.Scores.TopTokenPearson > 0.9);
    }

    [Fact]
    public void A_rule_that_only_ties_the_token_set_keeps_it_and_so_matches_the_control()
    {
        // Three tokens with their own levels: three plain token clauses predict exactly what the token set does, so the
        // cross-validated scores tie. A tie must keep the token set (the control's own prediction), not the plain rule.
        foreach (var unit in new[] { SyntheticUnits.TheUnit(), SyntheticUnits.Unit(5, (tokens, t, rng) => tokens[t] switch
        {
            " the" => 4f + 0.5f * (float)rng.NextDouble(),
            " of" => 2f + 0.5f * (float)rng.NextDouble(),
            " and" => 1f + 0.5f * (float)rng.NextDouble(),
            _ => 0f,
        }) })
        {
            var (e, r) = Run(unit);
            Assert.NotNull(e.Rule!.Tokens);
            Assert.Empty(e.Rule.Clauses);
            Assert.Equal(r.Scores.TopTokenPearson!.Value, r.Scores.SimulationPearson!.Value, 1e-6);
        }
    }

    [Fact]
    public void Noise_unit_gets_honest_wording_and_scores_below_a_real_unit()
    {
        var (e, noise) = Run(SyntheticUnits.NoiseUnit());
        Assert.StartsWith("no simple pattern", e.Text);
        Assert.False(noise.SingleToken);
        var (_, hebrew) = Run(SyntheticUnits.HebrewUnit());
        Assert.True(hebrew.Scores.SimulationPearson > noise.Scores.SimulationPearson + 0.5,
            $"hebrew {hebrew.Scores.SimulationPearson} vs noise {noise.Scores.SimulationPearson}");
    }

    [Fact]
    public void Token_classes_find_scripts_and_runs()
    {
        var tokens = new[] { " see", " https", "://", "example", ".com", "/x", " and", " ACGT", "TGCA", "GG", " שלום", " 2019", "    ", " {" };
        var c = TokenClasses.Classify(tokens);
        Assert.True(c[1].HasFlag(TokenClass.Url) && c[4].HasFlag(TokenClass.Url));
        Assert.False(c[0].HasFlag(TokenClass.Url));
        Assert.True(c[8].HasFlag(TokenClass.Dna) && c[9].HasFlag(TokenClass.Dna));
        Assert.True(c[10].HasFlag(TokenClass.Hebrew));
        Assert.True(c[11].HasFlag(TokenClass.Digits));
        Assert.True(c[12].HasFlag(TokenClass.Whitespace));
        Assert.True(c[13].HasFlag(TokenClass.CodePunctuation));
        Assert.True(TokenClasses.Classify(["aGVsbG8gd29y", "bGQhIFRoaXMg", "aXMgYmFzZTY0"]).All(x => x.HasFlag(TokenClass.Base64)));
        Assert.DoesNotContain(TokenClasses.Classify([" international", "ization", " responsibilities"]), x => x.HasFlag(TokenClass.Base64));
        Assert.Equal(TokenClass.Hangul, TokenClasses.OfToken("한국어") & TokenClass.Hangul);
        Assert.Equal(TokenClass.Arabic, TokenClasses.OfToken(" مرحبا") & TokenClass.Arabic);
    }

    [Fact]
    public void Rule_survives_a_json_round_trip_and_predicts_the_same()
    {
        var unit = SyntheticUnits.HebrewUnit();
        var e = new BuiltinExplainer().Explain(unit, unit.Split());
        var result = new ExplanationResult { Rule = e.Rule, Explanation = e.Text };
        string json = System.Text.Json.JsonSerializer.Serialize(result, ExplanationResult.Json);
        var back = System.Text.Json.JsonSerializer.Deserialize<ExplanationResult>(json, ExplanationResult.Json)!;
        var record = unit.Top[0];
        Assert.Equal(e.Rule!.Predict(record), back.Rule!.Predict(record));
        Assert.Contains("\"clauses\"", json);
    }

    [Fact]
    public void Position_unit_is_explained_by_its_place_in_the_context()
    {
        var rng = new Random(3);
        ActivationRecord Context(int position)
        {
            var tokens = Enumerable.Range(0, 12).Select(_ => SyntheticUnits.English[rng.Next(SyntheticUnits.English.Length)]).ToArray();
            var acts = tokens.Select((_, t) => position + t == 0 ? 4f + (float)rng.NextDouble() : 0f).ToArray();
            return new ActivationRecord(tokens, acts, position);
        }
        var top = Enumerable.Range(0, 20).Select(_ => Context(0)).ToList();
        var random = Enumerable.Range(0, 20).Select(i => Context(i % 2 == 0 ? 0 : 40 + i)).Where(r => r.Max == 0).ToList();
        var unit = new UnitEvidence(9, "neuron", 0.01, 5, top, [], random);
        var e = new BuiltinExplainer().Explain(unit, unit.Split());
        Assert.Equal("the first token of the context", e.Text);
    }
}
