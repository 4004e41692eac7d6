using System.Numerics;

namespace Mechanist.Autograd;

/// <summary>
/// Records differentiable ops as they run, so that <see cref="Backward{T}"/> can replay their hand-written
/// backward passes in reverse. One tape is active per thread:
/// <code>
/// using var tape = Tape.Start();
/// var loss = model.Loss(batch);
/// tape.Backward(loss);          // gradients land in Parameter.Grad
/// using (Tape.NoGrad()) { ... } // inference: nothing recorded, no activations kept
/// </code>
/// Ops record only when a tape is active and one of their inputs requires a gradient.
/// </summary>
public sealed class Tape : IDisposable
{
    [ThreadStatic] static Tape? _current;
    [ThreadStatic] static int _noGradDepth;

    readonly List<Action> _backward = [];
    readonly Tape? _previous;
    bool _disposed;

    Tape(Tape? previous) => _previous = previous;

    /// <summary>Starts recording on this thread; dispose to stop (the previous tape, if any, becomes active again).</summary>
    public static Tape Start() => _current = new Tape(_current);

    /// <summary>The tape ops should record on, or null (none started, or inside <see cref="NoGrad"/>).</summary>
    public static Tape? Active => _noGradDepth > 0 ? null : _current;

    /// <summary>Whether an op with these inputs must record its backward pass.</summary>
    internal static bool ShouldRecord<T>(Var<T> a) where T : unmanaged, IFloatingPointIeee754<T>
        => a.RequiresGrad && Active != null;

    internal static bool ShouldRecord<T>(Var<T> a, Var<T>? b) where T : unmanaged, IFloatingPointIeee754<T>
        => (a.RequiresGrad || (b?.RequiresGrad ?? false)) && Active != null;

    internal static bool ShouldRecord<T>(Var<T> a, Var<T>? b, Var<T>? c) where T : unmanaged, IFloatingPointIeee754<T>
        => (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false)) && Active != null;

    internal static bool ShouldRecord<T>(Var<T> a, Var<T>? b, Var<T>? c, Var<T>? d) where T : unmanaged, IFloatingPointIeee754<T>
        => (ShouldRecord(a, b, c) || (d?.RequiresGrad ?? false)) && Active != null;

    /// <summary>Inference scope: no op records, so no activations are saved for backward.</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>Number of ops recorded so far.</summary>
    public int Count => _backward.Count;

    internal void Record(Action backward) => _backward.Add(StepProfiler.Tag(backward));

    /// <summary>
    /// Seeds d(loss)/d(loss) = 1 (for every element when the loss is not a scalar) and runs the recorded
    /// backward passes in reverse order. Gradients accumulate: call <see cref="Parameter.ZeroGrad"/>
    /// between steps unless accumulating on purpose. The tape is emptied afterwards, freeing saved activations.
    /// </summary>
    public void Backward<T>(Var<T> loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!loss.RequiresGrad) throw new InvalidOperationException("the loss does not depend on anything that requires a gradient");
        loss.GradForAccumulation().Fill(T.One);
        for (int i = _backward.Count - 1; i >= 0; i--)
        {
            _backward[i]();
            _backward[i] = null!; // let saved activations go as soon as they are used
        }
        _backward.Clear();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this)
        {
            // Tapes disposed out of order: an outer one may already be closed; skip to the nearest open one,
            // so that ops never record on a tape nobody will run backward on.
            var previous = _previous;
            while (previous is { _disposed: true }) previous = previous._previous;
            _current = previous;
        }
        _backward.Clear();
    }

    sealed class NoGradScope : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _noGradDepth--;
        }
    }
}
