using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// What one SAE architecture adds to the shared engine (<see cref="SaeEngine{T, TArch}"/>), SAELens's
/// encode / coefficients / auxiliary-loss methods fused into the kernel: which latents fire and with what values,
/// its penalty and the penalty's gradient, its own parameters (JumpReLU's θ; gated's r_mag, b_mag) and its
/// auxiliary term (gated's gate-path reconstruction; AuxK, shared by topk and batchtopk, is <see cref="AuxK{T}"/>).
/// Implemented by structs and passed as a type argument, so the JIT compiles one engine per architecture with
/// these calls inlined: no virtual call per entry. An architecture keeps its per-pass state (θ = exp(log θ), the
/// gate values) in arrays of its own, set in <see cref="Select"/>.
/// </summary>
internal interface ISaeArchitecture<TSelf, T>
    where TSelf : struct, ISaeArchitecture<TSelf, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract TSelf Create(int dIn, int dSae);
    static abstract SaeArchitecture Kind { get; }
    /// <summary>Every token keeps exactly k entry slots, at t·k (topk), instead of a counted, variable number.</summary>
    static abstract bool FixedSlots { get; }
    /// <summary>The AuxK term applies when the loss settings name dead latents (topk, batchtopk).</summary>
    static abstract bool UsesAuxK { get; }
    /// <summary>The dense path may run when many latents fire (all but topk, whose L0 is k by construction).</summary>
    static abstract bool MayRunDense { get; }

    /// <summary>
    /// Turns the encoder product in <see cref="SaeBatch{T}.Pre"/> into pre-activations (adding b_enc) and fills each
    /// token's entries with the latents that fire and their values f. Returns the batch threshold (batchtopk; else 0).
    /// </summary>
    T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers);

    /// <summary>The sparsity term as it enters the loss, with λ = <paramref name="lambda"/> (the mean L0 and L1 are in <paramref name="stats"/>).</summary>
    double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats);

    /// <summary>
    /// Sparse path, token t: from ∂L/∂x̂ (<paramref name="gradXhat"/>, = 2e/B) writes ∂L/∂(pre-activation) for the
    /// token's entries into <see cref="SaeBatch{T}.GradPre"/>, with the penalty's share. Returns the token's share of
    /// the architecture's auxiliary loss times B (gated; 0 for the others).
    /// </summary>
    double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB);

    /// <summary>
    /// Dense path: <see cref="SaeBatch{T}.Pre"/> holds ∂L/∂x̂·W_decᵀ; leaves there ∂L/∂(encoder row · x̄) per (token,
    /// latent), zero off the entries. Returns the architecture's auxiliary loss (gated; 0 for the others).
    /// </summary>
    double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB);

    /// <summary>After the shared gradients: the gradients of the architecture's own parameters (θ; b_gate, r_mag, b_mag).</summary>
    void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g);
}
