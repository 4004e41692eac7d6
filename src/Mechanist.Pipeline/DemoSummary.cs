using System.Text.Json.Nodes;
using Mechanist.Features;

namespace Mechanist.Pipeline;

/// <summary>One feature shown in the demo's summary: its explanation, score and strongest tokens.</summary>
public sealed record DemoFeatureExample(int Id, string Explanation, double Score, float Density, IReadOnlyList<string> TopTokens);

/// <summary>The numbers the demo ends with (read from the stages' records, so a re-run that skipped everything still has them).</summary>
public sealed record DemoSummary
{
    public double? ModelValidationLoss { get; init; }
    public long ModelTokens { get; init; }
    public double ExplainedVariance { get; init; }
    public double L0 { get; init; }
    public int Latents { get; init; }
    public int Dead { get; init; }
    public int Ultralow { get; init; }
    public double CeLossScore { get; init; }
    public double CeClean { get; init; }
    public double CeSae { get; init; }
    public double CeZero { get; init; }
    public double? FeatureSimulationPearson { get; init; }
    public double? FeatureTopTokenPearson { get; init; }
    public IReadOnlyList<DemoFeatureExample> Examples { get; init; } = [];
    public IReadOnlyList<DemoStageOutcome> Stages { get; init; } = [];

    public static DemoSummary From(IReadOnlyList<DemoStageOutcome> stages, string featuresDir, int examples = 6)
    {
        JsonObject Of(string name) => stages.FirstOrDefault(s => s.Name == name)?.Results ?? new JsonObject();
        double? D(JsonObject o, string key) => o[key]?.GetValue<double>();
        var model = Of("model");
        var eval = Of("eval");
        var explain = Of("explain");
        using var store = FeatureStore.Open(featuresDir);
        return new DemoSummary
        {
            ModelValidationLoss = D(model, "val_loss"),
            ModelTokens = model["tokens"]?.GetValue<long>() ?? 0,
            ExplainedVariance = D(eval, "explained_variance") ?? double.NaN,
            L0 = D(eval, "l0") ?? double.NaN,
            Latents = eval["latents"]?.GetValue<int>() ?? 0,
            Dead = eval["dead"]?.GetValue<int>() ?? 0,
            Ultralow = eval["ultralow"]?.GetValue<int>() ?? 0,
            CeLossScore = D(eval, "ce_loss_score") ?? double.NaN,
            CeClean = D(eval, "ce_clean") ?? double.NaN,
            CeSae = D(eval, "ce_sae") ?? double.NaN,
            CeZero = D(eval, "ce_zero") ?? double.NaN,
            FeatureSimulationPearson = D(explain, "feature_simulation_pearson"),
            FeatureTopTokenPearson = D(explain, "feature_top_token_pearson"),
            Examples = PickExamples(store, examples),
            Stages = stages,
        };
    }

    /// <summary>
    /// Well-explained live features: half the best-scored (often single-token features), half those whose
    /// explanation gains most over the top-token control (context matters), skipping repeated explanations and
    /// units that fire almost everywhere.
    /// </summary>
    public static IReadOnlyList<DemoFeatureExample> PickExamples(FeatureStore store, int count)
    {
        var candidates = new List<(UnitSummary Unit, float Score, float OverControl)>();
        foreach (int id in store.Order(UnitKind.Feature, UnitSort.Score))
        {
            var s = store.GetSummary(UnitKind.Feature, id);
            if (s.IsDead || s.Density > 0.2f || s.Explanation is not { Score: float score } e || !(score >= 0.3f)) continue;
            float over = e.Scores.TryGetValue("pearson_over_top_token", out float o) && float.IsFinite(o) ? o : float.NegativeInfinity;
            candidates.Add((s, score, over));
        }
        var picked = new List<DemoFeatureExample>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Take(IEnumerable<(UnitSummary Unit, float Score, float OverControl)> ranked, int limit)
        {
            foreach (var (unit, score, _) in ranked)
            {
                if (picked.Count >= limit) return;
                if (picked.Any(p => p.Id == unit.Id) || !seen.Add(unit.Explanation!.Text)) continue;
                picked.Add(new DemoFeatureExample(unit.Id, unit.Explanation.Text, score, unit.Density, unit.TopTokenIds.Take(5).Select(store.TokenString).ToList()));
            }
        }
        Take(candidates, (count + 1) / 2);
        Take(candidates.Where(c => c.OverControl > 0).OrderByDescending(c => c.OverControl).ThenBy(c => c.Unit.Id), count);
        Take(candidates, count);
        return picked;
    }
}
