using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>Softmax over the last axis, and the fused log-softmax + cross-entropy over a vocabulary.</summary>
public static unsafe class Softmax
{
    /// <summary>y = softmax(x) row by row (x and y may be the same tensor).</summary>
    public static void Forward<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount, d = x.Columns;
        T* px = x.Pointer, py = y.Pointer;
        RowParallel.For(rows, 64, (s, e) =>
        {
            for (int r = s; r < e; r++) Row(px + (long)r * d, py + (long)r * d, d);
        });
    }

    /// <summary>Softmax of one row of length n in place or into y (max-subtracted for stability).</summary>
    public static void Row<T>(T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        var xs = new ReadOnlySpan<T>(x, n);
        var ys = new Span<T>(y, n);
        T max = TensorPrimitives.Max(xs);
        TensorPrimitives.Subtract(xs, max, ys);
        TensorPrimitives.Exp<T>(ys, ys);
        TensorPrimitives.Multiply<T>(ys, T.One / TensorPrimitives.Sum<T>(ys), ys);
    }

    /// <summary>dx += y·(dy − Σ dy·y), row by row.</summary>
    public static void Backward<T>(Tensor<T> y, Tensor<T> dy, Tensor<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = y.RowCount, d = y.Columns;
        T* py = y.Pointer, pdy = dy.Pointer, pdx = dx.Pointer;
        RowParallel.For(rows, 64, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                T* yr = py + (long)r * d, dyr = pdy + (long)r * d, dxr = pdx + (long)r * d;
                T dot = VectorMath.Dot(yr, dyr, d);
                for (int j = 0; j < d; j++) dxr[j] += yr[j] * (dyr[j] - dot);
            }
        });
    }

    /// <summary>
    /// Cross-entropy of each row of logits [N, V] against its target: loss[i] = logsumexp(row) − row[target],
    /// and 0 where target == ignoreIndex. Writes logsumexp per row for the backward pass.
    /// </summary>
    public static void CrossEntropyForward<T>(Tensor<T> logits, ReadOnlySpan<int> targets, int ignoreIndex, Span<T> loss, Span<T> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = logits.RowCount, vocab = logits.Columns;
        if (targets.Length != rows || loss.Length != rows || logSumExp.Length != rows)
            throw new ArgumentException($"cross-entropy: {rows} rows of logits but {targets.Length} targets");
        foreach (int t in targets)
            if (t != ignoreIndex && (uint)t >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} is outside the vocabulary of {vocab}");
        T* pl = logits.Pointer;
        fixed (int* pt = targets) fixed (T* ploss = loss) fixed (T* plse = logSumExp)
        {
            int* tp = pt;
            T* lossp = ploss, lsep = plse;
            RowParallel.For(rows, 16, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    T* row = pl + (long)r * vocab;
                    T lse = LogSumExp(row, vocab);
                    lsep[r] = lse;
                    lossp[r] = tp[r] == ignoreIndex ? T.Zero : lse - row[tp[r]];
                }
            });
        }
    }

    /// <summary>log Σ exp(row), max-subtracted, vectorised.</summary>
    public static T LogSumExp<T>(T* row, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = TensorPrimitives.Max(new ReadOnlySpan<T>(row, n));
        int j = 0;
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(max);
            var acc = Vector512<T>.Zero;
            for (; j + Vector512<T>.Count <= n; j += Vector512<T>.Count)
                acc += VectorMath.Exp(Vector512.Load(row + j) - m);
            sum = Vector512.Sum(acc);
        }
        for (; j < n; j++) sum += T.Exp(row[j] - max);
        return max + T.Log(sum);
    }

    /// <summary>dlogits[i] += g[i]·(softmax(row i) − onehot(target i)); rows with g[i] = 0 (ignored) are skipped.</summary>
    public static void CrossEntropyBackward<T>(Tensor<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> logSumExp,
        ReadOnlySpan<T> rowGrad, Tensor<T> dLogits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = logits.RowCount, vocab = logits.Columns;
        T* pl = logits.Pointer, pd = dLogits.Pointer;
        fixed (int* pt = targets) fixed (T* plse = logSumExp) fixed (T* pg = rowGrad)
        {
            int* tp = pt;
            T* lsep = plse, gp = pg;
            RowParallel.For(rows, 16, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    T g = gp[r];
                    if (g == T.Zero) continue;
                    T* row = pl + (long)r * vocab, drow = pd + (long)r * vocab;
                    T lse = lsep[r];
                    int j = 0;
                    if (Vector512.IsHardwareAccelerated)
                    {
                        var vl = Vector512.Create(lse);
                        var vg = Vector512.Create(g);
                        for (; j + Vector512<T>.Count <= vocab; j += Vector512<T>.Count)
                            VectorMath.Fma(vg, VectorMath.Exp(Vector512.Load(row + j) - vl), Vector512.Load(drow + j)).Store(drow + j);
                    }
                    for (; j < vocab; j++) drow[j] += g * T.Exp(row[j] - lse);
                    drow[tp[r]] -= g;
                }
            });
        }
    }
}
