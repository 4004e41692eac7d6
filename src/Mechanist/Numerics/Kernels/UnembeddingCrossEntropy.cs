using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Mechanist.Numerics.Kernels;

/// <summary>
/// Fused unembedding and cross-entropy: loss_i = logsumexp(x_i·Wᵀ) − x_i·w_{target_i} for rows x [N, d] and
/// unembedding rows W [V, d], made block by block of <see cref="BlockRows"/> rows, so the [N, V] logits (and
/// their gradient) never exist whole: a block's logits (8 MiB at V = 8,192) stay in the cache while they are
/// turned in place into their gradient g·(softmax − onehot) and multiplied back into dX = G·W and dW += Gᵀ·X.
/// The same three products as the unfused pair, none repeated; what goes is the write, re-read and second copy
/// of a [N, V] tensor per step (268 MB at toy-1l's 4,096 tokens).
/// </summary>
public static unsafe class UnembeddingCrossEntropy
{
    /// <summary>Rows per block: 256 rows × 8,192 logits × 4 bytes = 8 MiB, a quarter of the 32 MiB L3 measured here.</summary>
    public const int BlockRows = 256;

    /// <summary>
    /// Writes each row's loss (0 where the target is <paramref name="ignoreIndex"/>). When <paramref name="dx"/>
    /// [N, d] and <paramref name="dw"/> [V, d] are given, also the gradients of Σ_i g·loss_i (g =
    /// <paramref name="gradScale"/>, ignored rows contributing nothing), overwriting both.
    /// </summary>
    /// <param name="logitBias">Optional table [R, V] of which row <paramref name="logitBiasRows"/>[i] is added to row i's
    /// logits (WS25's bigram table, indexed by the current token); its gradient is added into <paramref name="dLogitBias"/>.</param>
    public static void Run<T>(Tensor<T> x, Tensor<T> w, ReadOnlySpan<int> targets, int ignoreIndex, Span<T> loss,
        T gradScale = default, Tensor<T>? dx = null, Tensor<T>? dw = null, int blockRows = BlockRows,
        Tensor<T>? logitBias = null, ReadOnlySpan<int> logitBiasRows = default, Tensor<T>? dLogitBias = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (logitBias != null && (logitBias.Columns != w.RowCount || logitBiasRows.Length != x.RowCount))
            throw new ArgumentException($"logit bias {logitBias.ShapeString} with {logitBiasRows.Length} row ids does not fit {x.RowCount} rows of {w.RowCount} logits");
        int n = x.RowCount, d = x.Columns, vocab = w.RowCount;
        if (w.Columns != d) throw new ArgumentException($"unembedding {w.ShapeString} does not match rows of width {d}");
        if (targets.Length != n || loss.Length != n) throw new ArgumentException($"cross-entropy: {n} rows but {targets.Length} targets");
        foreach (int t in targets)
            if (t != ignoreIndex && (uint)t >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} is outside the vocabulary of {vocab}");
        bool grad = dx != null || dw != null || dLogitBias != null;
        if (n == 0) { dw?.Clear(); return; } // no rows: the loop below would leave dw as it was, not overwrite it with 0
        int rowsPerBlock = Math.Max(1, Math.Min(blockRows, n));
        var block = Scratch<T>.Get((long)rowsPerBlock * vocab);
        var xs = x.Span;
        var ws = w.Span;
        fixed (T* pb = block) fixed (int* pt = targets) fixed (T* pl = loss)
        {
            T* blockp = pb, lossp = pl;
            int* tp = pt;
            for (int r0 = 0; r0 < n; r0 += rowsPerBlock)
            {
                int rows = Math.Min(rowsPerBlock, n - r0);
                var logits = new Span<T>(blockp, rows * vocab);
                Gemm.Multiply(false, true, rows, vocab, d, T.One, xs.Slice(r0 * d, rows * d), d, ws, d, T.Zero, logits, vocab);
                if (logitBias != null)
                    for (int r = 0; r < rows; r++)
                    {
                        var row = logits.Slice(r * vocab, vocab);
                        TensorPrimitives.Add(row, logitBias.Row(logitBiasRows[r0 + r]), row);
                    }
                int first = r0;
                RowParallel.For(rows, 16, (s, e) =>
                {
                    for (int r = s; r < e; r++)
                        lossp[first + r] = Row(blockp + (long)r * vocab, vocab, tp[first + r], ignoreIndex, grad, gradScale);
                });
                if (!grad) continue;
                if (dLogitBias != null) // the block now holds each row's logit gradient
                    for (int r = 0; r < rows; r++)
                    {
                        var dst = dLogitBias.Row(logitBiasRows[r0 + r]);
                        TensorPrimitives.Add(dst, logits.Slice(r * vocab, vocab), dst);
                    }
                if (dx != null)
                    Gemm.Multiply(false, false, rows, d, vocab, T.One, logits, vocab, ws, d, T.Zero, dx.Span.Slice(r0 * d, rows * d), d);
                if (dw != null)
                    Gemm.Multiply(true, false, vocab, d, rows, T.One, logits, vocab, xs.Slice(r0 * d, rows * d), d, r0 == 0 ? T.Zero : T.One, dw.Span, d);
            }
        }
    }

    /// <summary>
    /// One row of logits: returns its loss; when <paramref name="grad"/>, overwrites the row with
    /// g·(softmax − onehot(target)) (zeros for an ignored row). logsumexp is max + log Σ exp(l − max).
    /// </summary>
    static T Row<T>(T* row, int vocab, int target, int ignoreIndex, bool grad, T g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (target == ignoreIndex)
        {
            if (grad) new Span<T>(row, vocab).Clear();
            return T.Zero;
        }
        T max = TensorPrimitives.Max(new ReadOnlySpan<T>(row, vocab));
        T atTarget = row[target];
        int j = 0;
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(max);
            var acc = Vector512<T>.Zero;
            for (; j + Vector512<T>.Count <= vocab; j += Vector512<T>.Count)
            {
                var e = VectorMath.Exp(Vector512.Load(row + j) - m);
                acc += e;
                if (grad) e.Store(row + j);
            }
            sum = Vector512.Sum(acc);
        }
        for (; j < vocab; j++)
        {
            T e = T.Exp(row[j] - max);
            sum += e;
            if (grad) row[j] = e;
        }
        if (grad)
        {
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(row, vocab), g / sum, new Span<T>(row, vocab));
            row[target] -= g;
        }
        return max + T.Log(sum) - atTarget;
    }

    /// <summary>One block buffer per thread and element type, kept between steps (no 8 MiB allocation per call).</summary>
    static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] static T[]? _buffer;

        public static T[] Get(long length)
        {
            if (_buffer == null || _buffer.Length < length) _buffer = GC.AllocateUninitializedArray<T>((int)length, pinned: true);
            return _buffer;
        }
    }
}
