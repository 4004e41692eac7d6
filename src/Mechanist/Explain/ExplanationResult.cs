using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mechanist.Explain;

/// <summary>
/// Scores of one explanation on the unit's held-out examples; null where not measured. Every score sits
/// beside the top-token control's, because single-token units score high for free (METHODS.md §4.4).
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
