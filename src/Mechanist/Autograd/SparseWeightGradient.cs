namespace Mechanist.Autograd;

/// <summary>
/// Which weight gradient <see cref="Ops.SparseLinear{T}"/> computes (docs/METHODS.md §6.2 and bench/README.md
/// "Sparse kernels" for the cost of each).
/// </summary>
public enum SparseWeightGradient
{
    /// <summary>
    /// dW = dyᵀ·x for every weight, kept or pruned (one dense GEMM), as dense training with a top-k after each
    /// step computes it: Adam moments of pruned weights keep moving, so a pruned weight can grow back into the
    /// top-k. Faithful to the paper.
    /// </summary>
    Dense,

    /// <summary>
    /// dW at the kept weights only (a sampled product, SDDMM), zero elsewhere: the exact gradient of x·(W∘M)ᵀ with
    /// the mask M fixed. Cheaper, but a pruned weight then never gets a gradient and cannot grow back.
    /// </summary>
    KeptOnly,
}
