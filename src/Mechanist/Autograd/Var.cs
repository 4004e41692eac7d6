using System.Numerics;
using Mechanist.Numerics;

namespace Mechanist.Autograd;

/// <summary>
/// A value in a differentiable computation: its <see cref="Value"/>, and the gradient of the loss with
/// respect to it, <see cref="Grad"/>, filled by <see cref="Tape.Backward{T}"/>. A Var made from a
/// <see cref="Parameter"/> shares the parameter's tensors, so backward passes accumulate straight into
/// <see cref="Parameter.Grad"/>.
/// </summary>
public sealed class Var<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Tensor<T>? _grad;

    public Var(Tensor<T> value, bool requiresGrad = false)
    {
        Value = value;
        RequiresGrad = requiresGrad;
    }

    Var(Tensor<T> value, Tensor<T> grad, Parameter parameter)
    {
        Value = value;
        _grad = grad;
        RequiresGrad = true;
        Parameter = parameter;
    }

    public Tensor<T> Value { get; }

    /// <summary>Gradient, or null when nothing has flowed back into this Var.</summary>
    public Tensor<T>? Grad => _grad;

    /// <summary>Whether gradients are wanted here (leaves that are trained, and anything computed from them).</summary>
    public bool RequiresGrad { get; internal set; }

    /// <summary>The parameter this Var reads, when it is a model weight.</summary>
    public Parameter? Parameter { get; }

    public int[] Shape => Value.Shape;

    /// <summary>For the output of a norm op: per-row mean (null for RMS norm) and 1/σ, for hook_scale.</summary>
    internal (T[]? Mean, T[] Rstd)? NormStatistics { get; init; }

    /// <summary>For the output of an attention op: the pattern [batch, heads, q, k] it computed.</summary>
    internal Tensor<T>? AttentionPattern { get; init; }

    /// <summary>A trainable float32 weight: value and gradient are the parameter's own tensors.</summary>
    public static Var<float> Of(Parameter parameter) => new(parameter.Value, parameter.Grad, parameter);

    /// <summary>The gradient tensor, allocated (zeroed) on first use; backward passes add into it.</summary>
    internal Tensor<T> GradForAccumulation() => _grad ??= new Tensor<T>(Value.Shape);

    /// <summary>Forgets the gradient of an intermediate value (parameters keep theirs: zero them explicitly).</summary>
    public void ZeroGrad()
    {
        if (Parameter != null) _grad!.Clear();
        else _grad = null;
    }

    public override string ToString() => $"Var{Value.ShapeString}{(RequiresGrad ? " (grad)" : "")}";
}
