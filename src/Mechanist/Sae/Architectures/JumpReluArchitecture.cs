using System.Numerics;
using System.Runtime.Intrinsics;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// JumpReLU (Rajamanoharan et al. 2024; METHODS §2.4): f = z·H(z − θ) with a learned threshold per latent,
/// θ = exp(log θ) (kept positive), and penalty λ(1/B)Σ H(z − θ), the L0. The step has no gradient in θ, so θ
/// takes the straight-through estimate with the rectangle kernel K(u) = 1[|u| &lt; ½] of bandwidth ε:
/// ∂(zH)/∂θ = −(θ/ε)K((z−θ)/ε), ∂H/∂θ = −(1/ε)K((z−θ)/ε). z gets its gradient through zH only.
/// </summary>
internal struct JumpReluArchitecture<T> : ISaeArchitecture<JumpReluArchitecture<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    T[] _theta;
    // The (token, latent) pairs inside the estimator's window |z − θ| < ε/2, token-major, with ∂L/∂θ per pair.
    int[] _windowOffset, _windowCount, _windowIndex;
    T[] _windowCoef;
    T _invWidth;

    public static JumpReluArchitecture<T> Create(int dIn, int dSae) => new()
    {
        _theta = new T[dSae], _windowOffset = [], _windowCount = [], _windowIndex = [], _windowCoef = [],
    };
    public static SaeArchitecture Kind => SaeArchitecture.JumpRelu;
    public static bool FixedSlots => false;
    public static bool UsesAuxK => false;
    public static bool MayRunDense => true;

    /// <summary>z > θ.</summary>
    readonly struct Above(T[] theta) : ILatentTest<T>
    {
        public Vector512<T> Passes(Vector512<T> z, int q) => Vector512.GreaterThan(z, Vector512.LoadUnsafe(ref theta[0], (nuint)q));
        public bool Passes(T z, int q) => z > theta[q];
    }

    /// <summary>|z − θ| &lt; ε/2: inside the straight-through window.</summary>
    readonly struct InWindow(T[] theta, T halfWidth) : ILatentTest<T>
    {
        readonly Vector512<T> _halfWidth = Vector512.Create(halfWidth);
        public Vector512<T> Passes(Vector512<T> z, int q) => Vector512.LessThan(Vector512.Abs(z - Vector512.LoadUnsafe(ref theta[0], (nuint)q)), _halfWidth);
        public bool Passes(T z, int q) => T.Abs(z - theta[q]) < halfWidth;
    }

    public T Select(SaeBatch<T> b, SaeTensors<T> w, SaeLossSettings s, bool backward, int workers)
    {
        for (int i = 0; i < b.M; i++) _theta[i] = T.Exp(w.LogThreshold![i]);
        _invWidth = T.One / T.CreateTruncating(s.Bandwidth);
        LatentSelection.Select(b, new Above(_theta), w.BEnc, workers);
        if (backward) FindWindow(b, T.CreateTruncating(s.Bandwidth / 2), workers);
        return T.Zero;
    }

    void FindWindow(SaeBatch<T> b, T halfWidth, int workers)
    {
        int batch = b.Size, m = b.M;
        if (_windowCount.Length < batch) { _windowCount = new int[batch]; _windowOffset = new int[batch + 1]; }
        var test = new InWindow(_theta, halfWidth);
        var pre = b.Pre; var count = _windowCount;
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++) count[t] = LatentSelection.Count(pre.AsSpan(t * m, m), test);
        });
        long total = 0;
        for (int t = 0; t < batch; t++) { _windowOffset[t] = (int)total; total += count[t]; }
        if (_windowIndex.Length < total) { _windowIndex = new int[total]; _windowCoef = new T[total]; }
        var offset = _windowOffset; var index = _windowIndex;
        VectorMath.ForRanges(batch, workers, (start, end, _) =>
        {
            for (int t = start; t < end; t++) LatentSelection.Fill(pre.AsSpan(t * m, m), test, index.AsSpan(offset[t]), Span<T>.Empty);
        });
    }

    public double Penalty(SaeBatch<T> b, double lambda, in SaeBatchStats stats) => lambda * stats.L0;

    public double TokenGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int t, ReadOnlySpan<T> gradXhat, T lambdaOverB, T twoOverB)
    {
        b.DecoderDots(w, t, gradXhat, T.Zero);
        for (int e = _windowOffset[t]; e < _windowOffset[t] + _windowCount[t]; e++)
        {
            int i = _windowIndex[e];
            _windowCoef[e] = ThresholdCoefficient(i, VectorMath.Dot<T>(w.WDec.Row(i), gradXhat), lambdaOverB);
        }
        return 0;
    }

    /// <summary>∂L/∂θ_i from one pair in the window, given ∂L/∂f_i = <paramref name="gradF"/>: −(θ/ε)·∂L/∂f − (λ/B)/ε.</summary>
    readonly T ThresholdCoefficient(int i, T gradF, T lambdaOverB) => -(_theta[i] * _invWidth) * gradF - lambdaOverB * _invWidth;

    public double DenseGradients(SaeBatch<T> b, SaeTensors<T> w, Tensor<T> x, int workers, T lambdaOverB, T twoOverB)
    {
        // Pre holds ∂L/∂x̂·W_decᵀ = ∂L/∂f for every pair: read the window's before masking.
        for (int t = 0; t < b.Size; t++)
            for (int e = _windowOffset[t]; e < _windowOffset[t] + _windowCount[t]; e++)
            {
                int i = _windowIndex[e];
                _windowCoef[e] = ThresholdCoefficient(i, b.Pre[t * b.M + i], lambdaOverB);
            }
        b.MaskDenseGradient(workers, T.Zero);
        return 0;
    }

    public void ParameterGradients(SaeBatch<T> b, SaeTensors<T> w, SaeTensors<T> g)
    {
        var gLog = g.LogThreshold!.Span;
        gLog.Clear();
        for (int t = 0; t < b.Size; t++)
            for (int e = _windowOffset[t]; e < _windowOffset[t] + _windowCount[t]; e++)
                gLog[_windowIndex[e]] += _windowCoef[e] * _theta[_windowIndex[e]]; // dθ/d log θ = θ
    }
}
