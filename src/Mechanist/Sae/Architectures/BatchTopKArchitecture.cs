using System.Numerics;
using System.Runtime.Intrinsics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// BatchTopK (Bussmann et al. 2024; METHODS §2.3): the B·k largest positive pre-activations of the whole batch fire,
/// so a token's L0 varies around k; at inference a fixed threshold θ (an average of the training batches' ones)
/// replaces the batch selection. No penalty; AuxK (<see cref="AuxK{T}"/>) trains the dead latents.
/// </summary>
internal struct BatchTopKArchitecture<T> : ISaeArchitecture<BatchTopKArchitecture<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static BatchTopKArchitecture<T> Create(int dIn, int dSae) => default;
    public static SaeArchitecture Kind => SaeArchitecture.BatchTopK;
    public static bool FixedSlots => false;
    public static bool UsesAuxK => true;
    public static bool MayRunDense => true;

    /// <summary>z > 0 and z ≥ the batch threshold.</summary>
    readonly struct AtLeast(T threshold) : ILatentTest<T>
    {
        readonly Vector512<T> _threshold = Vector512.Create(threshold);
        public Vector512<T> Passes(Vector512<T> z, int q) =>
            Vector512.GreaterThan(z, Vector512<T>.Zero) & Vector512.GreaterThanOrEqual(z, _threshold);
        public bool Passes(T z, int q) => z > T.Zero && z >= threshold;
    }

    public T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers)
    {
        b.AddEncoderBias(w, workers);
        T threshold = s.FixedThreshold is double fixedT && !backward
            ? T.CreateTruncating(fixedT)
            : BatchThreshold(b, (long)s.K * b.Size, workers);
        LatentSelection.Select(b, new AtLeast(threshold), null, workers);
        return threshold;
    }

    /// <summary>The rank-th largest positive pre-activation in the batch (a radix select on float bits).</summary>
    static T BatchThreshold(SaeBatch<T> b, long rank, int workers)
    {
        const int Bins = 1 << 15;
        int m = b.M;
        var pre = b.Pre;
        var hist = new int[workers * Bins];
        long n = (long)b.Size * m;
        VectorMath.ForRanges(b.Size, workers, (start, end, worker) =>
        {
            var h = hist.AsSpan(worker * Bins, Bins);
            foreach (T v in pre.AsSpan(start * m, (end - start) * m))
                if (v > T.Zero) h[Key(v)]++;
        });
        long above = 0;
        int bin = -1;
        for (int k = Bins - 1; k >= 0 && bin < 0; k--)
        {
            long inBin = 0;
            for (int wk = 0; wk < workers; wk++) inBin += hist[wk * Bins + k];
            if (above + inBin >= rank) bin = k;
            else above += inBin;
        }
        if (bin < 0) return T.Epsilon; // fewer positives than the budget: every positive one is active
        var candidates = new List<T>();
        foreach (T v in pre.AsSpan(0, (int)n))
            if (v > T.Zero && Key(v) == bin) candidates.Add(v);
        candidates.Sort((x, y) => y.CompareTo(x));
        return candidates[(int)(rank - above - 1)];

        static int Key(T v) => (int)(BitConverter.SingleToUInt32Bits(float.CreateTruncating(v)) >> 16);
    }

    public double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats) => 0;

    public double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB)
    {
        b.DecoderDots(w, t, gradXhat, T.Zero);
        return 0;
    }

    public double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB)
    {
        b.MaskDenseGradient(workers, T.Zero);
        return 0;
    }

    public void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g) { }
}
