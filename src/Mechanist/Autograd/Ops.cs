using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using ActivationKernels = Mechanist.Numerics.Kernels.Activations;

namespace Mechanist.Autograd;

/// <summary>
/// Differentiable ops. Each computes its forward value with a kernel and, when a tape is recording and an
/// input requires a gradient, records a hand-written backward that accumulates into the inputs' gradients.
/// Matrices are read as [rows, last axis]; leading axes are flattened into rows.
/// </summary>
public static unsafe partial class Ops
{
    /// <summary>A value no gradient flows into (inputs, masks).</summary>
    public static Var<T> Constant<T>(Tensor<T> value) where T : unmanaged, IFloatingPointIeee754<T> => new(value, false);

    /// <summary>A leaf that collects a gradient (a trainable tensor that is not a <see cref="Parameter"/>).</summary>
    public static Var<T> Leaf<T>(Tensor<T> value) where T : unmanaged, IFloatingPointIeee754<T> => new(value, true);

    /// <summary>op(A)·op(B). Without transA the result keeps A's leading axes: [.., k]·[k, n] → [.., n].</summary>
    public static Var<T> MatMul<T>(Var<T> a, Var<T> b, bool transA = false, bool transB = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> A = a.Value, B = b.Value;
        int m = transA ? A.Columns : A.RowCount, k = transA ? A.RowCount : A.Columns;
        int kb = transB ? B.Columns : B.RowCount, n = transB ? B.RowCount : B.Columns;
        if (k != kb) throw new ArgumentException($"MatMul: op(A) is {m}×{k} but op(B) is {kb}×{n}");
        int[] shape = transA ? [m, n] : [.. A.Shape[..^1], n];
        var c = Tensor<T>.Uninitialized(shape); // β = 0: the product writes every element
        Gemm.Multiply(transA, transB, m, n, k, T.One, A.Span, A.Columns, B.Span, B.Columns, T.Zero, c.Span, n);
        bool record = Tape.ShouldRecord(a, b);
        var result = new Var<T>(c, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dc) return;
                MatMulBackward(A, B, transA, transB, m, n, k, dc, a.RequiresGrad ? a.GradForAccumulation() : null,
                    b.RequiresGrad ? b.GradForAccumulation() : null);
            });
        return result;
    }

    static void MatMulBackward<T>(Tensor<T> A, Tensor<T> B, bool transA, bool transB, int m, int n, int k, Tensor<T> dc,
        Tensor<T>? da, Tensor<T>? db) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lda = A.Columns, ldb = B.Columns;
        if (da != null)
        {
            if (!transA) // dA[m×k] += dC·op(B)ᵀ
                Gemm.Multiply(false, !transB, m, k, n, T.One, dc.Span, n, B.Span, ldb, T.One, da.Span, k);
            else         // dA[k×m] += op(B)·dCᵀ
                Gemm.Multiply(transB, true, k, m, n, T.One, B.Span, ldb, dc.Span, n, T.One, da.Span, m);
        }
        if (db != null)
        {
            if (!transB) // dB[k×n] += op(A)ᵀ·dC
                Gemm.Multiply(!transA, false, k, n, m, T.One, A.Span, lda, dc.Span, n, T.One, db.Span, n);
            else         // dB[n×k] += dCᵀ·op(A)
                Gemm.Multiply(true, transA, n, k, m, T.One, dc.Span, n, A.Span, lda, T.One, db.Span, k);
        }
    }

    /// <summary>x·W + b with W stored [in, out] (GPT-2's Conv1D layout); b may be null.</summary>
    public static Var<T> Linear<T>(Var<T> x, Var<T> weight, Var<T>? bias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> X = x.Value, W = weight.Value;
        int m = X.RowCount, k = X.Columns, n = W.Columns;
        if (W.RowCount != k) throw new ArgumentException($"Linear: input has {k} features but the weight is {W.ShapeString}");
        if (bias != null && bias.Value.Length != n) throw new ArgumentException($"Linear: bias {bias.Value.ShapeString} does not match {n} outputs");
        var y = Tensor<T>.Uninitialized([.. X.Shape[..^1], n]); // written whole: the bias rows, or the product with β = 0
        if (bias != null)
        {
            var b = bias.Value.Span;
            for (int r = 0; r < m; r++) b.CopyTo(y.Row(r));
        }
        Gemm.Multiply(false, false, m, n, k, T.One, X.Span, k, W.Span, n, bias != null ? T.One : T.Zero, y.Span, n);
        bool record = Tape.ShouldRecord(x, weight, bias);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                MatMulBackward(X, W, false, false, m, n, k, dy, x.RequiresGrad ? x.GradForAccumulation() : null,
                    weight.RequiresGrad ? weight.GradForAccumulation() : null);
                if (bias is { RequiresGrad: true }) SumRowsInto(dy, bias.GradForAccumulation().Span);
            });
        return result;
    }

    /// <summary>acc[j] += Σ_r x[r, j].</summary>
    static void SumRowsInto<T>(Tensor<T> x, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.RowCount;
        for (int r = 0; r < rows; r++) TensorPrimitives.Add<T>(acc, x.Row(r), acc);
    }

    /// <summary>
    /// a + b, where b has a's shape or a trailing part of it (b is then repeated over a's leading axes:
    /// a bias [d] over [.., d], positions [p, d] over [batch, p, d]), or is a single element.
    /// </summary>
    public static Var<T> Add<T>(Var<T> a, Var<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int repeat = BroadcastRepeat(a.Value, b.Value, "Add");
        var y = Tensor<T>.Uninitialized(a.Shape);
        int bl = b.Value.Length;
        for (int r = 0; r < repeat; r++)
            TensorPrimitives.Add<T>(a.Value.Span.Slice(r * bl, bl), b.Value.Span, y.Span.Slice(r * bl, bl));
        bool record = Tape.ShouldRecord(a, b);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                if (a.RequiresGrad) { var da = a.GradForAccumulation().Span; TensorPrimitives.Add<T>(da, dy.Span, da); }
                if (b.RequiresGrad)
                {
                    var db = b.GradForAccumulation().Span;
                    for (int r = 0; r < repeat; r++) TensorPrimitives.Add<T>(db, dy.Span.Slice(r * bl, bl), db);
                }
            });
        return result;
    }

    /// <summary>a ∘ b (element-wise), with b broadcast as in <see cref="Add{T}"/>.</summary>
    public static Var<T> Mul<T>(Var<T> a, Var<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int repeat = BroadcastRepeat(a.Value, b.Value, "Mul");
        var y = Tensor<T>.Uninitialized(a.Shape);
        int bl = b.Value.Length;
        Tensor<T> A = a.Value, B = b.Value;
        for (int r = 0; r < repeat; r++)
            TensorPrimitives.Multiply<T>(A.Span.Slice(r * bl, bl), B.Span, y.Span.Slice(r * bl, bl));
        bool record = Tape.ShouldRecord(a, b);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var da = a.RequiresGrad ? a.GradForAccumulation().Span : default;
                var db = b.RequiresGrad ? b.GradForAccumulation().Span : default;
                for (int r = 0; r < repeat; r++)
                {
                    var dyr = dy.Span.Slice(r * bl, bl);
                    if (a.RequiresGrad) { var dar = da.Slice(r * bl, bl); TensorPrimitives.FusedMultiplyAdd<T>(dyr, B.Span, dar, dar); }
                    if (b.RequiresGrad) TensorPrimitives.FusedMultiplyAdd<T>(dyr, A.Span.Slice(r * bl, bl), db, db);
                }
            });
        return result;
    }

    static int BroadcastRepeat<T>(Tensor<T> a, Tensor<T> b, string op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (b.Length == 1 && a.Length != 1)
            throw new ArgumentException($"{op}: use Scale for a scalar factor, not a broadcast of {b.ShapeString}");
        int extra = a.Rank - b.Rank;
        bool ok = extra >= 0 && a.Shape.AsSpan(extra).SequenceEqual(b.Shape);
        if (!ok) throw new ArgumentException($"{op}: cannot broadcast {b.ShapeString} onto {a.ShapeString} (b must match a's trailing axes)");
        return b.Length == 0 ? 0 : a.Length / b.Length;
    }

    /// <summary>s·x for a constant s.</summary>
    public static Var<T> Scale<T>(Var<T> x, T s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new Tensor<T>(x.Shape);
        TensorPrimitives.Multiply(x.Value.Span, s, y.Span);
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation().Span;
                TensorPrimitives.MultiplyAdd(dy.Span, s, dx, dx);
            });
        return result;
    }

    public static Var<T> Relu<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Activate(x, Activation.Relu);
    public static Var<T> Gelu<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Activate(x, Activation.Gelu);
    public static Var<T> GeluNew<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Activate(x, Activation.GeluNew);
    public static Var<T> Sigmoid<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Activate(x, Activation.Sigmoid);

    /// <summary>An element-wise activation.</summary>
    public static Var<T> Activate<T>(Var<T> x, Activation kind) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(x.Shape);
        ActivationKernels.Forward(kind, x.Value.Span, y.Span);
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                ActivationKernels.Backward(kind, x.Value.Span, y.Span, dy.Span, x.GradForAccumulation().Span);
            });
        return result;
    }

    /// <summary>Σ of all elements, as a one-element tensor.</summary>
    public static Var<T> Sum<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T> => SumScaled(x, T.One);

    /// <summary>Mean of all elements, as a one-element tensor.</summary>
    public static Var<T> Mean<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        => SumScaled(x, T.One / T.CreateTruncating(Math.Max(1, x.Value.Length)));

    static Var<T> SumScaled<T>(Var<T> x, T s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new Tensor<T>(1);
        y[0] = TensorPrimitives.Sum<T>(x.Value.Span) * s;
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation().Span;
                TensorPrimitives.Add(dx, dy[0] * s, dx);
            });
        return result;
    }

    /// <summary>A view with another shape (same element count); gradients flow back unchanged.</summary>
    public static Var<T> Reshape<T>(Var<T> x, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(x.Value.Reshape(shape), record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation().Span;
                TensorPrimitives.Add<T>(dx, dy.Span, dx);
            });
        return result;
    }

    /// <summary>Columns [start, start+count) of the last axis, copied (e.g. Q, K, V out of a fused QKV product).</summary>
    public static Var<T> Columns<T>(Var<T> x, int start, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> X = x.Value;
        int rows = X.RowCount, d = X.Columns;
        if (start < 0 || count < 0 || start + count > d) throw new ArgumentOutOfRangeException(nameof(start), $"columns [{start}, {start + count}) of {d}");
        var y = Tensor<T>.Uninitialized([.. X.Shape[..^1], count]);
        for (int r = 0; r < rows; r++) X.Span.Slice(r * d + start, count).CopyTo(y.Span.Slice(r * count, count));
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation().Span;
                for (int r = 0; r < rows; r++)
                {
                    var dst = dx.Slice(r * d + start, count);
                    TensorPrimitives.Add<T>(dst, dy.Span.Slice(r * count, count), dst);
                }
            });
        return result;
    }

    /// <summary>Layer norm over the last axis: (x − μ)/√(σ² + eps)·gain + bias (bias may be null).</summary>
    public static Var<T> LayerNorm<T>(Var<T> x, Var<T> gain, Var<T>? bias, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckVector(gain, x, "LayerNorm gain");
        if (bias != null) CheckVector(bias, x, "LayerNorm bias");
        int rows = x.Value.RowCount;
        var y = Tensor<T>.Uninitialized(x.Shape);
        var mean = new T[rows];
        var rstd = new T[rows];
        Norms.LayerNormForward(x.Value, gain.Value, bias?.Value, eps, y, mean, rstd);
        bool record = Tape.ShouldRecord(x, gain, bias);
        var result = new Var<T>(y, record) { NormStatistics = (mean, rstd) };
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                Norms.LayerNormBackward(x.Value, gain.Value, mean, rstd, dy, x.RequiresGrad ? x.GradForAccumulation() : null,
                    gain.RequiresGrad ? gain.GradForAccumulation() : null, bias is { RequiresGrad: true } ? bias.GradForAccumulation() : null);
            });
        return result;
    }

    /// <summary>RMS norm over the last axis: x/√(mean(x²) + eps)·gain.</summary>
    public static Var<T> RmsNorm<T>(Var<T> x, Var<T> gain, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckVector(gain, x, "RmsNorm gain");
        var y = new Tensor<T>(x.Shape);
        var rstd = new T[x.Value.RowCount];
        Norms.RmsNormForward(x.Value, gain.Value, eps, y, rstd);
        bool record = Tape.ShouldRecord(x, gain);
        var result = new Var<T>(y, record) { NormStatistics = (null, rstd) };
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                Norms.RmsNormBackward(x.Value, gain.Value, rstd, dy, x.RequiresGrad ? x.GradForAccumulation() : null,
                    gain.RequiresGrad ? gain.GradForAccumulation() : null);
            });
        return result;
    }

    static void CheckVector<T>(Var<T> v, Var<T> x, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (v.Value.Length != x.Value.Columns) throw new ArgumentException($"{what} {v.Value.ShapeString} does not match rows of {x.Value.Columns}");
    }

    /// <summary>Softmax over the last axis.</summary>
    public static Var<T> Softmax<T>(Var<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new Tensor<T>(x.Shape);
        Numerics.Kernels.Softmax.Forward(x.Value, y);
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                Numerics.Kernels.Softmax.Backward(y, dy, x.GradForAccumulation());
            });
        return result;
    }
}
