using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// TopK (Gao et al. 2024; METHODS §2.2): each token keeps its k largest pre-activations, those above 0, at their
/// values; no penalty (k sets the sparsity); AuxK (<see cref="AuxK{T}"/>) trains the dead latents.
/// </summary>
internal struct TopKArchitecture<T> : ISaeArchitecture<TopKArchitecture<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TopKArchitecture<T> Create(int dIn, int dSae) => default;
    public static SaeArchitecture Kind => SaeArchitecture.TopK;
    public static bool FixedSlots => true;
    public static bool UsesAuxK => true;
    public static bool MayRunDense => false;

    public T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers)
    {
        int k = s.K, m = b.M;
        var pre = b.Pre; var index = b.Index; var value = b.Value; var count = b.Count;
        VectorMath.ForRanges(b.Size, workers, (start, end, _) =>
        {
            var heapValue = new T[k];
            var heapIndex = new int[k];
            var bias = w.BEnc.Span;
            for (int t = start; t < end; t++)
            {
                var z = pre.AsSpan(t * m, m);
                VectorMath.Axpy(T.One, bias, z);
                int n = TopKHeap<T>.Masked(z, k, heapValue, heapIndex), o = t * k, c = 0;
                for (int h = 0; h < n; h++)
                    if (heapValue[h] > T.Zero) { index[o + c] = heapIndex[h]; value[o + c] = heapValue[h]; c++; }
                count[t] = c;
            }
        });
        for (int t = 0; t < b.Size; t++)
        {
            b.Offset[t] = t * k;
            Array.Sort(b.Index, b.Value, t * k, b.Count[t]); // ascending latent order: cache-friendly decode
        }
        return T.Zero;
    }

    public double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats) => 0;

    public double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB)
    {
        b.DecoderDots(w, t, gradXhat, T.Zero);
        return 0;
    }

    public double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB) =>
        throw new InvalidOperationException("topk never runs the dense path");

    public void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g) { }
}
