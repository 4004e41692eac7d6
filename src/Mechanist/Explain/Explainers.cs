using System.Collections.Concurrent;

namespace Mechanist.Explain;

/// <summary>
/// An explanation of one unit. <see cref="Rule"/> is set by the built-in explainer (its structured form,
/// which the rule simulator predicts from); <see cref="Fit"/> is the built-in rule's in-sample Pearson.
/// <see cref="Text"/> is null when the explainer failed (errors say why).
/// </summary>
public sealed record Explanation(string? Text, string Explainer, string? Model, BuiltinRule? Rule = null, double? Fit = null);

/// <summary>Writes an explanation from a unit's explanation examples (never its held-out ones).</summary>
public interface IExplainer
{
    Task<Explanation> ExplainAsync(UnitEvidence unit, EvidenceSplit split, UnitErrors errors, CancellationToken cancel);
}

/// <summary>Predicts 0–10 activations for every token of a record from the explanation alone.</summary>
public interface ISimulator
{
    string Name { get; }
    /// <returns>One value per token, or null when no usable prediction came back (counted in errors).</returns>
    Task<float[]?> SimulateAsync(Explanation explanation, ActivationRecord record, UnitErrors errors, CancellationToken cancel);
}

/// <summary>Says for each context whether the explanation predicts the unit fires in it: 1, 0, or −1 on failure.</summary>
public interface IDetector
{
    string Name { get; }
    Task<int[]> DetectAsync(Explanation explanation, IReadOnlyList<ActivationRecord> contexts, UnitErrors errors, CancellationToken cancel);
}

/// <summary>
/// Failures met while explaining and scoring one unit, counted by kind ("timeout", "unreachable",
/// "http_500", "unparseable", ...). Every failed attempt counts, including ones a retry recovered from.
/// </summary>
public sealed class UnitErrors
{
    readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public void Add(string kind, int count = 1) => _counts.AddOrUpdate(kind, count, (_, c) => c + count);

    public int Total => _counts.Values.Sum();

    public SortedDictionary<string, int> Snapshot() => new(_counts, StringComparer.Ordinal);
}

/// <summary>
/// Simulates with a built-in explanation's rule: exact, free, and the fair comparison for the top-token
/// control. Without a rule (an LLM explanation) it cannot simulate and returns null.
/// </summary>
public sealed class RuleSimulator : ISimulator, IDetector
{
    public string Name => "rule";

    public Task<float[]?> SimulateAsync(Explanation explanation, ActivationRecord record, UnitErrors errors, CancellationToken cancel) =>
        Task.FromResult(explanation.Rule?.Predict(record));

    /// <summary>A context is predicted to activate when any clause of the rule matches one of its tokens.</summary>
    public Task<int[]> DetectAsync(Explanation explanation, IReadOnlyList<ActivationRecord> contexts, UnitErrors errors, CancellationToken cancel) =>
        Task.FromResult(contexts.Select(r => explanation.Rule is null ? -1 : explanation.Rule.Predict(r).Any(v => v > 0) ? 1 : 0).ToArray());
}
