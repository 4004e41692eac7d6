using System.Numerics;
using System.Numerics.Tensors;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// Layer norm and RMS norm over the last axis, row by row. Forward saves per-row statistics (mean and
/// 1/σ, or 1/rms) so backward recomputes the normalised row instead of storing it.
/// </summary>
public static unsafe class Norms
{
    /// <summary>y = (x − μ)/σ·g + b with σ = √(var + eps); writes mean and rstd = 1/σ per row.</summary>
    public static void LayerNormForward<T>(Tensor<T> x, Tensor<T> gain, Tensor<T>? bias, T eps, Tensor<T> y, Span<T> mean, Span<T> rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        T* px = x.Pointer, py = y.Pointer, pg = gain.Pointer, pb = bias == null ? null : bias.Pointer;
        fixed (T* pm = mean) fixed (T* pr = rstd)
        {
            T* pmean = pm, prstd = pr;
            RowParallel.For(rows, 256, (s, e) =>
            {
                var g = new ReadOnlySpan<T>(pg, d);
                for (int r = s; r < e; r++)
                {
                    var xr = new ReadOnlySpan<T>(px + (long)r * d, d);
                    var yr = new Span<T>(py + (long)r * d, d);
                    T mu = TensorPrimitives.Sum(xr) / T.CreateTruncating(d);
                    TensorPrimitives.Subtract(xr, mu, yr);
                    T var = TensorPrimitives.SumOfSquares<T>(yr) / T.CreateTruncating(d);
                    T inv = T.One / T.Sqrt(var + eps);
                    pmean[r] = mu;
                    prstd[r] = inv;
                    TensorPrimitives.Multiply<T>(yr, inv, yr);
                    if (pb != null) TensorPrimitives.FusedMultiplyAdd<T>(yr, g, new ReadOnlySpan<T>(pb, d), yr);
                    else TensorPrimitives.Multiply<T>(yr, g, yr);
                }
            });
        }
    }

    /// <summary>
    /// dx += rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·g; dg += Σ dy·x̂; db += Σ dy.
    /// Any of dx, dGain, dBias may be null when not wanted.
    /// </summary>
    public static void LayerNormBackward<T>(Tensor<T> x, Tensor<T> gain, ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd, Tensor<T> dy,
        Tensor<T>? dx, Tensor<T>? dGain, Tensor<T>? dBias) where T : unmanaged, IFloatingPointIeee754<T>
        => NormBackward(x, gain, mean, rstd, dy, dx, dGain, dBias, center: true);

    /// <summary>y = x·rstd·g with rstd = 1/√(mean(x²) + eps).</summary>
    public static void RmsNormForward<T>(Tensor<T> x, Tensor<T> gain, T eps, Tensor<T> y, Span<T> rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        T* px = x.Pointer, py = y.Pointer, pg = gain.Pointer;
        fixed (T* pr = rstd)
        {
            T* prstd = pr;
            RowParallel.For(rows, 256, (s, e) =>
            {
                var g = new ReadOnlySpan<T>(pg, d);
                for (int r = s; r < e; r++)
                {
                    var xr = new ReadOnlySpan<T>(px + (long)r * d, d);
                    var yr = new Span<T>(py + (long)r * d, d);
                    T inv = T.One / T.Sqrt(TensorPrimitives.SumOfSquares(xr) / T.CreateTruncating(d) + eps);
                    prstd[r] = inv;
                    TensorPrimitives.Multiply(xr, inv, yr);
                    TensorPrimitives.Multiply<T>(yr, g, yr);
                }
            });
        }
    }

    /// <summary>dx += rstd·(dx̂ − x̂·mean(dx̂·x̂)) with dx̂ = dy·g, x̂ = x·rstd; dg += Σ dy·x̂.</summary>
    public static void RmsNormBackward<T>(Tensor<T> x, Tensor<T> gain, ReadOnlySpan<T> rstd, Tensor<T> dy, Tensor<T>? dx, Tensor<T>? dGain)
        where T : unmanaged, IFloatingPointIeee754<T>
        => NormBackward(x, gain, default, rstd, dy, dx, dGain, null, center: false);

    static void NormBackward<T>(Tensor<T> x, Tensor<T> gain, ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd, Tensor<T> dy,
        Tensor<T>? dx, Tensor<T>? dGain, Tensor<T>? dBias, bool center) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        int workers = RowParallel.Workers(rows, 256);
        // Per-worker partial sums for the gain and bias gradients, added up after the parallel part.
        var partial = new T[workers * 2 * d];
        T* px = x.Pointer, pg = gain.Pointer, pdy = dy.Pointer, pdx = dx == null ? null : dx.Pointer;
        fixed (T* pm = mean) fixed (T* pr = rstd) fixed (T* pp = partial)
        {
            T* pmean = pm, prstd = pr, ppart = pp;
            RowParallel.For(rows, 256, (worker, s, e) =>
            {
                var dgAcc = new Span<T>(ppart + worker * 2 * d, d);
                var dbAcc = new Span<T>(ppart + worker * 2 * d + d, d);
                var xhat = new T[d];
                var dxhat = new T[d];
                var g = new ReadOnlySpan<T>(pg, d);
                for (int r = s; r < e; r++)
                {
                    var xr = new ReadOnlySpan<T>(px + (long)r * d, d);
                    var dyr = new ReadOnlySpan<T>(pdy + (long)r * d, d);
                    T inv = prstd[r];
                    if (center) TensorPrimitives.Subtract(xr, pmean[r], xhat);
                    else xr.CopyTo(xhat);
                    TensorPrimitives.Multiply<T>(xhat, inv, xhat);
                    TensorPrimitives.FusedMultiplyAdd<T>(dyr, xhat, dgAcc, dgAcc);
                    if (center) TensorPrimitives.Add<T>(dbAcc, dyr, dbAcc);
                    if (pdx == null) continue;
                    TensorPrimitives.Multiply(dyr, g, dxhat);
                    T n = T.CreateTruncating(d);
                    T meanDxhat = center ? TensorPrimitives.Sum<T>(dxhat) / n : T.Zero;
                    T meanDot = TensorPrimitives.Dot<T>(dxhat, xhat) / n;
                    // dx = inv·(dxhat − meanDxhat − xhat·meanDot)
                    var dxr = new Span<T>(pdx + (long)r * d, d);
                    for (int j = 0; j < d; j++) dxr[j] += inv * (dxhat[j] - meanDxhat - xhat[j] * meanDot);
                }
            });
        }
        for (int w = 0; w < workers; w++)
        {
            if (dGain != null) TensorPrimitives.Add<T>(dGain.Span, partial.AsSpan(w * 2 * d, d), dGain.Span);
            if (dBias != null) TensorPrimitives.Add<T>(dBias.Span, partial.AsSpan(w * 2 * d + d, d), dBias.Span);
        }
    }
}
