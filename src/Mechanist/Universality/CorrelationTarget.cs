namespace Mechanist.Universality;

/// <summary>
/// One set of columns the row units (model 0's neurons) are correlated with: model <see cref="Model"/>'s
/// neurons as they are, or its <see cref="Baseline"/>.
/// </summary>
public readonly record struct CorrelationTarget(int Model, CorrelationBaseline? Baseline)
{
    /// <summary>"1" for seed model 1, "1.rotation" for its rotation baseline.</summary>
    public string Name => Baseline is { } b ? $"{Model}.{b.Name()}" : $"{Model}";

    /// <summary>Every model after the first, each followed by its baselines.</summary>
    public static IReadOnlyList<CorrelationTarget> For(int models, IReadOnlyList<CorrelationBaseline> baselines)
    {
        var list = new List<CorrelationTarget>();
        for (int m = 1; m < models; m++)
        {
            list.Add(new CorrelationTarget(m, null));
            foreach (var b in baselines) list.Add(new CorrelationTarget(m, b));
        }
        return list;
    }
}
