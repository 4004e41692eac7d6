using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// An SAE's tensors in Mechanist's layout: one row per latent for both encoder and decoder, so a latent's
/// weights are contiguous (W_enc [d_sae, d_in] = SAELens' W_enc transposed; W_dec [d_sae, d_in] as in SAELens).
/// The same type holds gradients. Generic so float64 finite-difference checks run the very same kernel.
/// For gated SAEs W_enc is W_gate, <see cref="BEnc"/> is b_gate, and <see cref="RMag"/>, <see cref="BMag"/> are set.
/// </summary>
public sealed class SaeTensors<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SaeTensors(int dIn, int dSae, bool withThreshold)
        : this(new Tensor<T>(dSae, dIn), new Tensor<T>(dSae), new Tensor<T>(dSae, dIn), new Tensor<T>(dIn),
            withThreshold ? new Tensor<T>(dSae) : null) { }

    /// <summary>Zero tensors with the extras <paramref name="architecture"/> needs (jumprelu: log θ; gated: r_mag, b_mag).</summary>
    public SaeTensors(int dIn, int dSae, SaeArchitecture architecture)
        : this(new Tensor<T>(dSae, dIn), new Tensor<T>(dSae), new Tensor<T>(dSae, dIn), new Tensor<T>(dIn),
            architecture == SaeArchitecture.JumpRelu ? new Tensor<T>(dSae) : null,
            architecture == SaeArchitecture.Gated ? new Tensor<T>(dSae) : null,
            architecture == SaeArchitecture.Gated ? new Tensor<T>(dSae) : null) { }

    public SaeTensors(Tensor<T> wEnc, Tensor<T> bEnc, Tensor<T> wDec, Tensor<T> bDec, Tensor<T>? logThreshold,
        Tensor<T>? rMag = null, Tensor<T>? bMag = null)
    {
        int m = wEnc.Dim(0), d = wEnc.Dim(1);
        if (wEnc.Rank != 2 || !wDec.SameShape(wEnc) || bEnc.Length != m || bDec.Length != d || (logThreshold != null && logThreshold.Length != m)
            || (rMag == null) != (bMag == null) || (rMag != null && (rMag.Length != m || bMag!.Length != m)))
            throw new ArgumentException($"SAE tensor shapes disagree: W_enc {wEnc.ShapeString}, b_enc {bEnc.ShapeString}, W_dec {wDec.ShapeString}, b_dec {bDec.ShapeString}");
        WEnc = wEnc; BEnc = bEnc; WDec = wDec; BDec = bDec; LogThreshold = logThreshold; RMag = rMag; BMag = bMag;
    }

    public int DIn => WEnc.Dim(1);
    public int DSae => WEnc.Dim(0);
    /// <summary>Encoder, one row per latent [d_sae, d_in] (gated: W_gate).</summary>
    public Tensor<T> WEnc { get; }
    /// <summary>Encoder bias (gated: b_gate).</summary>
    public Tensor<T> BEnc { get; }
    /// <summary>Decoder, one row per latent [d_sae, d_in] (the paper's columns d_i).</summary>
    public Tensor<T> WDec { get; }
    /// <summary>Decoder bias, also subtracted from the input before encoding (pre-encoder bias).</summary>
    public Tensor<T> BDec { get; }
    /// <summary>JumpReLU: log θ per latent (θ = exp of it keeps thresholds positive); null for other architectures.</summary>
    public Tensor<T>? LogThreshold { get; }
    /// <summary>Gated: the magnitude path's log scale per latent (W_mag rows = exp(r_mag_i)·W_gate rows); null otherwise.</summary>
    public Tensor<T>? RMag { get; }
    /// <summary>Gated: the magnitude path's bias; null otherwise.</summary>
    public Tensor<T>? BMag { get; }

    public IEnumerable<Tensor<T>> All()
    {
        yield return WEnc; yield return BEnc; yield return WDec; yield return BDec;
        if (LogThreshold != null) yield return LogThreshold;
        if (RMag != null) { yield return RMag; yield return BMag!; }
    }
}
