using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mechanist.Explain;

/// <summary>
/// Scores of one explanation on the unit's held-out examples; null where not measured. Every score sits
/// beside the top-token control's, because single-token units score high for free (docs/METHODS.md §4.4).
/// </summary>
public sealed class ExplanationScores
{
    public double? SimulationPearson { get; set; }
    public double? SimulationSpearman { get; set; }
    public int? SimulationTokens { get; set; }
    public int? SimulationRecords { get; set; }
    public int? SimulationFailedRecords { get; set; }
    public double? DetectionBalancedAccuracy { get; set; }
    public double? DetectionPrecision { get; set; }
    public double? DetectionRecall { get; set; }
    public double? DetectionF1 { get; set; }
    public int? DetectionContexts { get; set; }
    public int? DetectionFailed { get; set; }
    public double? TopTokenPearson { get; set; }
    public double? TopTokenSpearman { get; set; }
    /// <summary>simulation_pearson − top_token_pearson: what the explanation adds over the control.</summary>
    public double? PearsonOverTopToken { get; set; }
    /// <summary>The built-in rule's Pearson on its own explanation examples (in-sample).</summary>
    public double? BuiltinFitPearson { get; set; }
}

/// <summary>One line of explanations.jsonl: a unit, its explanation, who wrote and scored it, scores, errors.</summary>
public sealed class ExplanationResult
{
    public string Kind { get; set; } = "feature";
    public int Id { get; set; }
    /// <summary>Null when the explainer failed; a later run retries such units.</summary>
    public string? Explanation { get; set; }
    /// <summary>The headline score the browser sorts by: simulation Pearson (read-only; see <see cref="Scores"/>).</summary>
    public double? Score => Scores.SimulationPearson;
    public string Explainer { get; set; } = "";
    public string? Model { get; set; }
    public string? Server { get; set; }
    /// <summary>Seed of the split into explanation and held-out examples.</summary>
    public int Seed { get; set; }
    public string? Simulator { get; set; }
    public string? Detector { get; set; }
    public BuiltinRule? Rule { get; set; }
    public ExplanationScores Scores { get; set; } = new();
    /// <summary>TM23's single-token test: the max-activating token is the same in every top example.</summary>
    public bool SingleToken { get; set; }
    /// <summary>The top-token control's own "explanation": the tokens with the highest mean activation.</summary>
    public List<string> TopTokens { get; set; } = [];
    public SortedDictionary<string, int> Errors { get; set; } = [];
    public DateTime FinishedUtc { get; set; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>Medians of one kind's scores: the line that compares features with neurons, each against its control.</summary>
public sealed record KindSummary(string Kind, int Units, double SimulationPearson, double TopTokenPearson, double? DetectionBalancedAccuracy)
{
    public double Difference => SimulationPearson - TopTokenPearson;

    /// <summary>Per kind, over units with a simulation score (units that never fire are left out).</summary>
    public static IReadOnlyList<KindSummary> Of(IEnumerable<ExplanationResult> results) =>
        results.Where(r => r.Scores.SimulationPearson is not null && r.Explanation != BuiltinExplainer.NeverFires)
            .GroupBy(r => r.Kind).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new KindSummary(g.Key, g.Count(),
                Median(g.Select(r => r.Scores.SimulationPearson!.Value)),
                Median(g.Select(r => r.Scores.TopTokenPearson ?? 0)),
                g.Any(r => r.Scores.DetectionBalancedAccuracy is not null)
                    ? Median(g.Where(r => r.Scores.DetectionBalancedAccuracy is not null).Select(r => r.Scores.DetectionBalancedAccuracy!.Value)) : null))
            .ToList();

    static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? 0 : v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }
}
