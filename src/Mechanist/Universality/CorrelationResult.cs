using System.Text.Json.Nodes;

namespace Mechanist.Universality;

/// <summary>
/// A finished correlation run: for each target (another model, or its baseline), every model-0 neuron's best
/// correlation with any of that target's neurons, over <see cref="Tokens"/> tokens.
/// </summary>
public sealed record CorrelationResult(
    IReadOnlyList<UnitLayout> Layouts,
    IReadOnlyList<CorrelationTarget> Targets,
    IReadOnlyList<RowMaxima> Maxima,
    long Tokens,
    CorrelationOptions Options,
    JsonObject Inputs,
    CorrelationPlan Plan,
    double GemmSeconds,
    double GemmFlops)
{
    public int Models => Layouts.Count;

    /// <summary>Sustained speed of the cross-product GEMMs (NaN when none ran here, e.g. a merge).</summary>
    public double GemmGflops => GemmSeconds > 0 ? GemmFlops / GemmSeconds / 1e9 : double.NaN;

    public RowMaxima For(int model, CorrelationBaseline? baseline) =>
        Maxima[Targets.ToList().IndexOf(new CorrelationTarget(model, baseline))];
}
