using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// The fused SAE forward and backward pass, for every architecture (<see cref="Create"/>). The encoder product is
/// one GEMM; everything after it works on each token's active latents: decoding, the gradients of the decoder,
/// encoder and biases, and the input gradient touch L0 rows per token instead of d_sae. When many latents fire
/// (a fresh relu or jumprelu SAE), the steps after selection run as dense GEMMs instead (<see cref="DenseAbove"/>).
/// The shared engine is <see cref="SaeEngine{T, TArch}"/>; what differs per architecture is in Architectures/
/// (<see cref="ISaeArchitecture{TSelf, T}"/>). Generic in T so float64 gradient checks run the very same code.
///
/// Loss (B tokens, METHODS.md §2):  L = (1/B) Σ_t ‖x̂_t − x_t‖² + penalty + auxiliary term, where the penalty is
/// λ(1/B)Σ f (relu), λ(1/B)Σ H(z − θ) (jumprelu), λ(1/B)Σ ReLU(π_gate) (gated), none (topk, batchtopk); the
/// auxiliary term is AuxK (topk, batchtopk; <see cref="AuxK{T}"/>) or gated's gate-path reconstruction.
/// Gradients are written (not accumulated) into the gradient tensors.
/// </summary>
public abstract class SaeKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected readonly SaeBatch<T> Batch;

    private protected SaeKernel(SaeArchitecture architecture, int dIn, int dSae)
    {
        Architecture = architecture;
        Batch = new SaeBatch<T>(dIn, dSae);
    }

    /// <summary>The kernel of one architecture, for d_in → d_sae.</summary>
    public static SaeKernel<T> Create(SaeArchitecture architecture, int dIn, int dSae, double denseAbove = 0.2)
    {
        SaeKernel<T> kernel = architecture switch
        {
            SaeArchitecture.Relu => new SaeEngine<T, ReluArchitecture<T>>(dIn, dSae),
            SaeArchitecture.TopK => new SaeEngine<T, TopKArchitecture<T>>(dIn, dSae),
            SaeArchitecture.BatchTopK => new SaeEngine<T, BatchTopKArchitecture<T>>(dIn, dSae),
            SaeArchitecture.JumpRelu => new SaeEngine<T, JumpReluArchitecture<T>>(dIn, dSae),
            SaeArchitecture.Gated => new SaeEngine<T, GatedArchitecture<T>>(dIn, dSae),
            _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
        };
        kernel.DenseAbove = denseAbove;
        return kernel;
    }

    public SaeArchitecture Architecture { get; }

    /// <summary>
    /// Share of active (token, latent) pairs above which the pass after the encoder runs as dense GEMMs instead of
    /// per-entry loops. A freshly initialised relu or jumprelu SAE has half its latents on for its first steps,
    /// where the loops are slow (they stream a decoder and an encoder row per entry). Measured at 512 → 4,096,
    /// batch 4,096 (2 threads): L0 2,047 takes 1.9 s a step in loops and 0.6–1.0 s dense, L0 1,072 1.1 s vs 0.66 s,
    /// L0 416 0.47 s vs 0.55 s, L0 184 0.27 s vs 0.49 s: the crossover is near a fifth of the latents.
    /// Set to 0 (always dense) or above 1 (never) to compare the two paths.
    /// </summary>
    public double DenseAbove { get; set; } = 0.2;

    /// <summary>Whether the last pass ran dense (see <see cref="DenseAbove"/>).</summary>
    public bool LastPassDense { get; private protected set; }

    /// <summary>Tokens each latent fired on in the last batch.</summary>
    public ReadOnlySpan<int> LatentCounts => Batch.LatentCount;

    /// <summary>After a pass without gradients: the reconstruction x̂ of token t.</summary>
    public ReadOnlySpan<T> Reconstruction(int t) => Batch.Rows.AsSpan(t * Batch.D, Batch.D);

    /// <summary>After a pass: token t's active latents and their activations.</summary>
    public ReadOnlySpan<int> ActiveIndices(int t) => Batch.Index.AsSpan(Batch.Offset[t], Batch.Count[t]);
    public ReadOnlySpan<T> ActiveValues(int t) => Batch.Value.AsSpan(Batch.Offset[t], Batch.Count[t]);

    /// <summary>
    /// Runs the SAE on <paramref name="x"/> ([batch, d_in] row-major). With <paramref name="grads"/> the
    /// backward pass writes ∂L/∂w into it; without, the pass is inference only and
    /// <see cref="Reconstruction"/> holds x̂. <paramref name="projectDecoder"/> removes from each decoder
    /// row's gradient its component along the row (<see cref="DecoderGradientProjection"/>).
    /// </summary>
    public abstract SaeBatchStats Run(SaeTensors<T> w, Tensor<T> x, SaeLossSettings s,
        SaeTensors<T>? grads = null, bool projectDecoder = false);
}
