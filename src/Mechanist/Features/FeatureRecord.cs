namespace Mechanist.Features;

/// <summary>What a unit is: an SAE feature (a dictionary latent) or one of the model's own neurons at the hook.</summary>
public enum UnitKind { Feature, Neuron }

public static class UnitKinds
{
    public static string Name(this UnitKind kind) => kind == UnitKind.Feature ? "feature" : "neuron";

    public static bool TryParse(string? name, out UnitKind kind)
    {
        kind = name == "neuron" ? UnitKind.Neuron : UnitKind.Feature;
        return name is "feature" or "neuron";
    }
}

/// <summary>
/// A window of tokens with the unit's activation on each. The writer reads <see cref="TokenIds"/> and
/// <see cref="Activations"/> (stored as float16); the store fills <see cref="Tokens"/> with display strings.
/// </summary>
/// <param name="Position">The token the window was taken for (its top or sampled activation); -1 when none.
/// Pages outline it; without it they outline the window's strongest token.</param>
public sealed record ActivationRecord(int[] TokenIds, float[] Activations, int Position = -1)
{
    /// <summary>Display strings for <see cref="TokenIds"/>; filled by <see cref="FeatureStore"/>, ignored by the writer.</summary>
    public string[] Tokens { get; init; } = [];

    public float MaxActivation => Activations.Length == 0 ? 0 : Activations.Max();
}

/// <summary>Equal-width histogram over [<see cref="Min"/>, <see cref="Max"/>]: bin i covers Min + i·width.</summary>
public sealed record Histogram(float Min, float Max, long[] Counts)
{
    public static Histogram Empty { get; } = new(0, 0, []);
    public long Total => Counts.Sum();
    public float BinWidth => Counts.Length == 0 ? 0 : (Max - Min) / Counts.Length;
}

/// <summary>
/// Samples from one equal-width activation interval [Lower, Upper): "Lower–Upper, contains Fraction of
/// the non-zero activations" (METHODS.md §3.2.3).
/// </summary>
public sealed record IntervalSamples(float Lower, float Upper, float Fraction, ActivationRecord[] Examples);

/// <summary>A vocabulary token with a value (a logit effect).</summary>
public sealed record TokenValue(int TokenId, float Value)
{
    public string Token { get; init; } = "";
}

/// <summary>
/// Direct-path logit effects of the decoder direction, median-subtracted (METHODS.md §3.2.5):
/// the most promoted tokens (descending), the most suppressed (ascending), and the histogram over the vocabulary.
/// </summary>
public sealed record LogitEffects(TokenValue[] Top, TokenValue[] Bottom, Histogram Histogram)
{
    public static LogitEffects Empty { get; } = new([], [], Histogram.Empty);
}

/// <summary>Another unit of the same kind and its cosine similarity (decoder directions for features).</summary>
public sealed record Neighbour(int Id, float Cosine);

/// <summary>
/// An explanation from one explainer run (the explain stage's `explanations*.jsonl` in the store), merged in
/// when present. <see cref="Score"/> is the simulation correlation; <see cref="Scores"/> every score by name.
/// </summary>
public sealed record Explanation(string Text, float? Score, string? Explainer, IReadOnlyDictionary<string, float> Scores)
{
    /// <summary>The language model that wrote it (null for the built-in explainer).</summary>
    public string? Model { get; init; }
    /// <summary>Who predicted the held-out activations for <see cref="Score"/>: "rule" (built-in) or "llm".</summary>
    public string? Simulator { get; init; }
    public int Seed { get; init; }
    /// <summary>The results file it came from.</summary>
    public string? Source { get; init; }

    /// <summary>"builtin", or "llm (model)".</summary>
    public string By => Explainer is null ? "unknown" : Model is null ? Explainer : $"{Explainer} ({Model})";
}

/// <summary>The per-unit numbers shown in lists: cheap, read from the fixed-size index.</summary>
public sealed record UnitSummary(UnitKind Kind, int Id, float Density, float MaxActivation, float MeanActivation,
    int[] TopTokenIds, Explanation? Explanation)
{
    /// <summary>Every explainer run's explanation of this unit, the shown one (<see cref="Explanation"/>) first.</summary>
    public IReadOnlyList<Explanation> Explanations { get; init; } = [];

    /// <summary>A unit that never fired over the analysed tokens.</summary>
    public bool IsDead => Density <= 0;
}

/// <summary>
/// Everything a feature (or neuron) page shows. The statistics builder fills one per unit and hands it to
/// <see cref="FeatureStoreWriter.Add"/>; <see cref="FeatureStore.GetUnit"/> returns it with token strings filled.
/// What the builder should put in (METHODS.md §3): 50-bin histograms; top 20 windows, deduplicated (no two
/// windows around the same token), strongest first; equal-width intervals of (0, max], 10 × 5 samples by the
/// issue's default (METHODS.md §3.2.3 prefers 12), each window centred on the sampled token; 10 random windows;
/// windows of ±16 tokens (pages show them whole; the explain stage may cut them to ±4); 10 logit effects each
/// way; 10 nearest units. Dead units: density 0,
/// empty lists (the page shows a stub). Size on disk is about 90 windows × (2 + 4 × window length) bytes per unit
/// plus ~1 KB, so ±16-token windows cost ~12 KB per unit (1.5 GB for 131,072 features).
/// </summary>
public sealed record FeatureRecord
{
    public required UnitKind Kind { get; init; }
    public required int Id { get; init; }
    /// <summary>Fraction of analysed tokens where the activation is non-zero (&gt; 0), in [0, 1].</summary>
    public required float Density { get; init; }
    public required float MaxActivation { get; init; }
    /// <summary>Mean over the non-zero activations.</summary>
    public required float MeanActivation { get; init; }
    /// <summary>Histogram of the non-zero activations (50 bins by convention).</summary>
    public Histogram ActivationHistogram { get; init; } = Histogram.Empty;
    /// <summary>Top-k activating windows, strongest first, deduplicated.</summary>
    public ActivationRecord[] TopExamples { get; init; } = [];
    /// <summary>Samples from equal-width intervals of (0, max], lowest interval first.</summary>
    public IntervalSamples[] Intervals { get; init; } = [];
    /// <summary>Windows drawn uniformly from all tokens (mostly zero): the explain stage's negatives.</summary>
    public ActivationRecord[] RandomExamples { get; init; } = [];
    public LogitEffects Logits { get; init; } = LogitEffects.Empty;
    /// <summary>Nearest units of the same kind, most similar first.</summary>
    public Neighbour[] Nearest { get; init; } = [];
    /// <summary>Filled by the store from its explanations files (the best one); ignored by the writer.</summary>
    public Explanation? Explanation { get; init; }
    /// <summary>Every explainer run's explanation, best first; ignored by the writer.</summary>
    public IReadOnlyList<Explanation> Explanations { get; init; } = [];
}
