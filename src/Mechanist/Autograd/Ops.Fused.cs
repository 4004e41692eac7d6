using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Autograd;

public static unsafe partial class Ops
{
    /// <summary>
    /// Fused multi-head attention. q, k, v are [batch, seq, heads·dHead] (heads side by side, as GPT-2's
    /// c_attn splits them). Returns z [batch, seq, heads·dHead] = softmax(scale·q·kᵀ, causal mask)·v per head.
    /// scale defaults to 1/√dHead; pass 1/(√dHead·(layer+1)) for CRFM's scale_attn_by_inverse_layer_idx.
    /// The pattern [batch, heads, seq, seq] is available through <see cref="PatternOf{T}"/>.
    /// </summary>
    /// <param name="sink">Optional attention sink [heads] (docs/METHODS.md §6.1): a learnable logit per head on a dummy key whose
    /// value is 0, so a query can put weight on nothing; the pattern's rows then sum to 1 − the sink's share.</param>
    public static Var<T> Attention<T>(Var<T> q, Var<T> k, Var<T> v, int heads, bool causal = true, T? scale = null, Var<T>? sink = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (q.Value.Rank != 3 || !q.Value.SameShape(k.Value) || !q.Value.SameShape(v.Value))
            throw new ArgumentException($"Attention: q, k, v must share one [batch, seq, d] shape; got {q.Value.ShapeString}, {k.Value.ShapeString}, {v.Value.ShapeString}");
        int batch = q.Value.Dim(0), seq = q.Value.Dim(1), d = q.Value.Dim(2);
        if (heads < 1 || d % heads != 0) throw new ArgumentException($"Attention: width {d} does not split into {heads} heads");
        var shape = new AttentionKernel.Shape(batch, seq, heads, d / heads, causal);
        T s = scale ?? T.One / T.Sqrt(T.CreateTruncating(d / heads));
        var z = new Tensor<T>(q.Shape);
        var pattern = Tensor<T>.Uninitialized(batch, heads, seq, seq); // every entry written, masked ones as 0
        Tensor<T> Q = q.Value, K = k.Value, V = v.Value;
        AttentionKernel.Forward(shape, s, Q.Pointer, d, K.Pointer, d, V.Pointer, d, z.Pointer, d, pattern.Pointer);
        var sinkShare = sink == null ? null : AttentionSink.Apply(shape, s, Q, K, sink.Value, z, pattern);
        bool record = Tape.ShouldRecord(q, k, v, sink);
        var result = new Var<T>(z, record) { AttentionPattern = pattern };
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dz) return;
                T* dq = q.RequiresGrad ? q.GradForAccumulation().Pointer : null;
                T* dk = k.RequiresGrad ? k.GradForAccumulation().Pointer : null;
                T* dv = v.RequiresGrad ? v.GradForAccumulation().Pointer : null;
                // With a sink the saved pattern is the sink-normalised one; the softmax backward dS = P∘(dP − Σ P·dP)
                // is then exact as it stands, because the sink's value is 0 (its dP is 0).
                if (dq != null || dk != null || dv != null)
                    AttentionKernel.Backward(shape, s, Q.Pointer, d, K.Pointer, d, V.Pointer, d, pattern.Pointer, dz.Pointer, d, dq, d, dk, d, dv, d);
                if (sink is { RequiresGrad: true }) AttentionSink.Backward(shape, sinkShare!, z, dz, sink.GradForAccumulation());
            });
        return result;
    }

    /// <summary>
    /// Attention of new queries over a key/value cache, for generation (no gradient flows through a cache: run it
    /// under <see cref="Tape.NoGrad"/>). q is [batch, n, heads·dHead]; keys and values are [batch, capacity, heads·dHead],
    /// of which the first <paramref name="length"/> positions of each batch are filled, the last n of them with these
    /// queries' own keys and values. Causal: query i sees positions 0 … length − n + i. The pattern
    /// [batch, heads, n, length] is available through <see cref="PatternOf{T}"/>.
    /// </summary>
    public static Var<T> Attention<T>(Var<T> q, Tensor<T> keys, Tensor<T> values, int length, int heads, T scale, Tensor<T>? sink = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (q.Value.Rank != 3) throw new ArgumentException($"Attention: q must be [batch, n, d]; got {q.Value.ShapeString}");
        int batch = q.Value.Dim(0), n = q.Value.Dim(1), d = q.Value.Dim(2);
        if (keys.Rank != 3 || !keys.SameShape(values) || keys.Dim(0) != batch || keys.Dim(2) != d || length < n || length > keys.Dim(1))
            throw new ArgumentException($"Attention: a cache {keys.ShapeString} holding {length} positions does not fit queries {q.Value.ShapeString}");
        if (heads < 1 || d % heads != 0) throw new ArgumentException($"Attention: width {d} does not split into {heads} heads");
        if (Tape.ShouldRecord(q)) throw new InvalidOperationException("no gradient flows through a key/value cache: run cached passes under Tape.NoGrad()");
        var shape = new AttentionKernel.Shape(batch, n, heads, d / heads, Causal: true) { KeySeq = length, KeyRows = keys.Dim(1) };
        var z = new Tensor<T>(q.Shape);
        var pattern = new Tensor<T>(batch, heads, n, length);
        AttentionKernel.Forward(shape, scale, q.Value.Pointer, d, keys.Pointer, d, values.Pointer, d, z.Pointer, d, pattern.Pointer);
        if (sink != null) AttentionSink.Apply(shape, scale, q.Value, keys, sink, z, pattern);
        return new Var<T>(z, false) { AttentionPattern = pattern };
    }

    /// <summary>The attention pattern [batch, heads, q, k] of a Var returned by <see cref="Attention{T}"/>.</summary>
    public static Tensor<T> PatternOf<T>(Var<T> attentionOutput) where T : unmanaged, IFloatingPointIeee754<T>
        => attentionOutput.AttentionPattern ?? throw new ArgumentException("not the output of Ops.Attention");

    /// <summary>Rows of table [vocab, d] for each id: ids of shape [..] give [.., d]. Backward scatter-adds.</summary>
    public static Var<T> Embedding<T>(Var<T> table, int[] ids, params int[] idShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] leading = idShape.Length > 0 ? idShape : [ids.Length];
        var y = Tensor<T>.Uninitialized([.. leading, table.Value.Columns]);
        if (y.RowCount != ids.Length) throw new ArgumentException($"Embedding: {ids.Length} ids do not fill shape [{string.Join(", ", leading)}]");
        Gather.Rows(table.Value, ids, y);
        bool record = Tape.ShouldRecord(table);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                Gather.ScatterAddRows(dy, ids, table.GradForAccumulation());
            });
        return result;
    }

    /// <summary>
    /// Mean cross-entropy of logits [.., vocab] against targets (one per row), skipping rows whose target is
    /// ignoreIndex; the mean is over the rows kept (0 if none). perToken, when given, receives each row's
    /// loss (0 for ignored rows). Fused: log-softmax is never materialised; backward recomputes it row by row.
    /// </summary>
    public static Var<T> CrossEntropy<T>(Var<T> logits, int[] targets, int ignoreIndex = -100, Span<T> perToken = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = logits.Value.RowCount;
        var loss = new T[rows];
        var lse = new T[rows];
        Numerics.Kernels.Softmax.CrossEntropyForward(logits.Value, targets, ignoreIndex, loss, lse);
        int kept = 0;
        T total = T.Zero;
        for (int i = 0; i < rows; i++)
            if (targets[i] != ignoreIndex) { kept++; total += loss[i]; }
        if (!perToken.IsEmpty) loss.AsSpan().CopyTo(perToken);
        var y = new Tensor<T>(1);
        y[0] = kept == 0 ? T.Zero : total / T.CreateTruncating(kept);
        bool record = Tape.ShouldRecord(logits);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy || kept == 0) return;
                var rowGrad = new T[rows];
                T g = dy[0] / T.CreateTruncating(kept);
                for (int i = 0; i < rows; i++) rowGrad[i] = targets[i] == ignoreIndex ? T.Zero : g;
                Numerics.Kernels.Softmax.CrossEntropyBackward(logits.Value, targets, lse, rowGrad, logits.GradForAccumulation());
            });
        return result;
    }

    /// <summary>
    /// Mean cross-entropy of the logits x·Wᵀ (x [.., d], <paramref name="unembeddingRows"/> W [vocab, d]) against
    /// targets, as <see cref="CrossEntropy{T}"/> of <see cref="MatMul{T}"/>(x, W, transB: true) but fused
    /// (<see cref="UnembeddingCrossEntropy"/>): the logits are made and used in blocks of rows and never kept. When
    /// recording, the gradients for x and W are computed in the same pass (the logits are at hand then; backward
    /// would have to remake them) and backward only scales them by the loss's gradient.
    /// </summary>
    /// <param name="bigram">Optional WS25 bigram table [vocab, vocab] (docs/METHODS.md §6.1): row <paramref name="bigramRows"/>[i]
    /// (row i's current token) is added to row i's logits.</param>
    public static Var<T> UnembedCrossEntropy<T>(Var<T> x, Var<T> unembeddingRows, int[] targets, int ignoreIndex = -100, Span<T> perToken = default,
        Var<T>? bigram = null, int[]? bigramRows = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor<T> X = x.Value, W = unembeddingRows.Value;
        int rows = X.RowCount;
        if (bigram != null && (bigramRows == null || bigramRows.Length != rows))
            throw new ArgumentException($"UnembedCrossEntropy: a bigram table needs one row id per row ({rows})");
        var loss = new T[rows];
        int kept = 0;
        foreach (int t in targets) if (t != ignoreIndex) kept++;
        bool record = Tape.ShouldRecord(x, unembeddingRows, bigram);
        var dx = record && kept > 0 && x.RequiresGrad ? Tensor<T>.Uninitialized(X.Shape) : null;
        var dw = record && kept > 0 && unembeddingRows.RequiresGrad ? Tensor<T>.Uninitialized(W.Shape) : null;
        var db = record && kept > 0 && bigram is { RequiresGrad: true } ? new Tensor<T>(bigram.Value.Shape) : null;
        T g = kept == 0 ? T.Zero : T.One / T.CreateTruncating(kept);
        UnembeddingCrossEntropy.Run(X, W, targets, ignoreIndex, loss, g, dx, dw, UnembeddingCrossEntropy.BlockRows, bigram?.Value, bigramRows, db);
        T total = T.Zero;
        for (int i = 0; i < rows; i++) total += loss[i];
        if (!perToken.IsEmpty) loss.AsSpan().CopyTo(perToken);
        var y = new Tensor<T>(1);
        y[0] = kept == 0 ? T.Zero : total / T.CreateTruncating(kept);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                if (dx != null) VectorMath.Axpy(dy[0], dx.Span, x.GradForAccumulation().Span);
                if (dw != null) VectorMath.Axpy(dy[0], dw.Span, unembeddingRows.GradForAccumulation().Span);
                if (db != null) VectorMath.Axpy(dy[0], db.Span, bigram!.GradForAccumulation().Span);
            });
        return result;
    }

    /// <summary>Keeps the k largest entries of each row and zeroes the rest; the gradient flows only to the kept entries.</summary>
    public static Var<T> TopKMask<T>(Var<T> x, int k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.Value.RowCount, d = x.Value.Columns;
        var indices = new int[rows * k];
        Gather.TopKIndices(x.Value, k, indices);
        var y = new Tensor<T>(x.Shape);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++)
            {
                int c = r * d + indices[r * k + j];
                y[c] = x.Value[c];
            }
        bool record = Tape.ShouldRecord(x);
        var result = new Var<T>(y, record);
        if (record)
            Tape.Active!.Record(() =>
            {
                if (result.Grad is not { } dy) return;
                var dx = x.GradForAccumulation();
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < k; j++)
                    {
                        int c = r * d + indices[r * k + j];
                        dx[c] += dy[c];
                    }
            });
        return result;
    }
}
