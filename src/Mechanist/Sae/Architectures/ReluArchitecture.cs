using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// ReLU + L1 (Towards Monosemanticity; METHODS §2.1): f = ReLU(z), penalty λ(1/B)Σ_t Σ_i f_ti, whose gradient is
/// λ/B on every active latent.
/// </summary>
internal struct ReluArchitecture<T> : ISaeArchitecture<ReluArchitecture<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static ReluArchitecture<T> Create(int dIn, int dSae) => default;
    public static SaeArchitecture Kind => SaeArchitecture.Relu;
    public static bool FixedSlots => false;
    public static bool UsesAuxK => false;
    public static bool MayRunDense => true;

    public T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers)
    {
        LatentSelection.Select(b, new PositiveTest<T>(), w.BEnc, workers);
        return T.Zero;
    }

    public double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats) => lambda * stats.L1;

    public double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB)
    {
        b.DecoderDots(w, t, gradXhat, lambdaOverB);
        return 0;
    }

    public double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB)
    {
        b.MaskDenseGradient(workers, lambdaOverB);
        return 0;
    }

    public void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g) { }
}
