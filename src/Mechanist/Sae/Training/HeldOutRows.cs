namespace Mechanist.Sae;

/// <summary>
/// The one definition of how many activation rows an SAE is held out from (evaluated on, never trained on):
/// the number asked for (--holdout), else 5 % of the rows, at least 1 and at most 65,536. A stored activation
/// store holds out its last rows, a stream from a model its first; the demo's eval stage reads the same rows.
/// </summary>
public static class HeldOutRows
{
    public const long Max = 65_536;

    public static long Of(long rows, long requested = 0) => requested > 0 ? requested : Math.Clamp(rows / 20, 1, Max);
}
