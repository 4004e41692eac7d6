namespace Mechanist.Universality;

/// <summary>
/// How the split graph's edges (sim above the threshold) make families (docs/METHODS.md §3.5).
/// </summary>
public enum SplitFamilyRule
{
    /// <summary>
    /// Each latent keeps only its best parent, the latent of the next smaller width it is most similar to (above the
    /// threshold): families are trees rooted at the smallest width where they appear, as TM23's split figures draw them.
    /// </summary>
    Tree,

    /// <summary>Every edge counts: families are connected components (they chain together on dictionaries whose latents fire together often).</summary>
    Components,
}
