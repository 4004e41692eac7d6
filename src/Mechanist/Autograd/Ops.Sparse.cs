using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Autograd;

public static partial class Ops
{
    /// <summary>
    /// y = x·(W∘M)ᵀ + b for a weight-sparse layer: W is the dense master weight [out, in] (nn.Linear's layout; with
    /// <paramref name="inputMajor"/> [in, out], GPT-2's Conv1D layout as <see cref="Linear{T}"/>), M the kept entries
    /// given by <paramref name="pattern"/> (over W as stored). Forward and dx run on the compressed rows
    /// (<see cref="SparseGemm"/>); dW as <paramref name="gradient"/> says. Only W's entries at the pattern are read:
    /// rebuild the pattern whenever the mask changes (after each top-k step). Whether sparse pays at a density:
    /// bench/README.md "Sparse kernels" (<see cref="SparseGemm.CrossoverDensity"/>).
    /// </summary>
    public static Var<T> SparseLinear<T>(Var<T> x, Var<T> weight, SparsePattern pattern, Var<T>? bias,
        SparseWeightGradient gradient = SparseWeightGradient.Dense, bool inputMajor = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> X = x.Value, W = weight.Value;
        int n = X.RowCount, inputs = X.Columns;
        int outputs = inputMajor ? pattern.Columns : pattern.Rows;
        if (W.Rank != 2 || W.Dim(0) != pattern.Rows || W.Dim(1) != pattern.Columns)
            throw new ArgumentException($"SparseLinear: weight {W.ShapeString} does not match the {pattern.Rows}×{pattern.Columns} pattern");
        if ((inputMajor ? pattern.Rows : pattern.Columns) != inputs)
            throw new ArgumentException($"SparseLinear: input has {inputs} features but the weight is {W.ShapeString} ({(inputMajor ? "[in, out]" : "[out, in]")})");
        if (bias != null && bias.Value.Length != outputs) throw new ArgumentException($"SparseLinear: bias {bias.Value.ShapeString} does not match {outputs} outputs");

        var values = new T[pattern.NonZeros];
        pattern.Gather<T>(W.Span, values);
        T[]? transposedValues = null;
        T[] TransposedValues()
        {
            if (transposedValues == null)
            {
                transposedValues = new T[pattern.NonZeros];
                pattern.GatherTransposed<T>(values, transposedValues);
            }
            return transposedValues;
        }

        var y = Tensor<T>.Uninitialized([.. X.Shape[..^1], outputs]);
        if (bias != null) for (int r = 0; r < n; r++) bias.Value.Span.CopyTo(y.Row(r));
        // [out, in]: y = x·Wᵀ is A·Sᵀ with S = W. [in, out]: y = x·W = A·Sᵀ with S = Wᵀ.
        if (inputMajor) SparseGemm.MultiplyTransposed<T>(X.Span, n, pattern.Transposed, TransposedValues(), y.Span, bias != null);
        else SparseGemm.MultiplyTransposed<T>(X.Span, n, pattern, values, y.Span, bias != null);

        bool record = Tape.ShouldRecord(x, weight, bias);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                if (x.RequiresGrad) // dx += dy·W ([out, in]) or dy·Wᵀ ([in, out])
                {
                    var dx = x.GradForAccumulation();
                    if (inputMajor) SparseGemm.MultiplyTransposed<T>(dy.Span, n, pattern, values, dx.Span, accumulate: true);
                    else SparseGemm.MultiplyTransposed<T>(dy.Span, n, pattern.Transposed, TransposedValues(), dx.Span, accumulate: true);
                }
                if (weight.RequiresGrad)
                {
                    var dw = weight.GradForAccumulation();
                    // The stored W's rows are outputs ([out, in]: dW += dyᵀ·x) or inputs ([in, out]: dW += xᵀ·dy).
                    Tensor<T> rowsOperand = inputMajor ? X : dy, columnsOperand = inputMajor ? dy : X;
                    if (gradient == SparseWeightGradient.KeptOnly)
                        SparseGemm.SampledProductAdd<T>(rowsOperand.Span, columnsOperand.Span, n, pattern, dw.Span);
                    else
                        Gemm.Multiply(true, false, pattern.Rows, pattern.Columns, n, T.One, rowsOperand.Span, pattern.Rows,
                            columnsOperand.Span, pattern.Columns, T.One, dw.Span, pattern.Columns);
                }
                if (bias is { RequiresGrad: true }) SumRowsInto(dy, bias.GradForAccumulation().Span);
            });
        return result;
    }
}
