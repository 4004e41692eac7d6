namespace Mechanist.Autograd;

/// <summary>
/// A trainable tensor with its gradient. Optimizers update <see cref="Value"/> from <see cref="Grad"/>;
/// backward passes accumulate into <see cref="Grad"/> (zero it between steps unless accumulating).
/// </summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor value, bool weightDecay = true)
    {
        Name = name;
        Value = value;
        Grad = new Tensor(value.Shape);
        WeightDecay = weightDecay;
    }

    /// <summary>Stable name, used as the key in checkpoints and optimizer state files.</summary>
    public string Name { get; }
    public Tensor Value { get; }
    public Tensor Grad { get; }
    /// <summary>Whether decoupled weight decay applies (PyTorch convention: not on biases and norm gains).</summary>
    public bool WeightDecay { get; }

    public void ZeroGrad() => Grad.Clear();

    public override string ToString() => $"{Name} {Value.ShapeString}";
}
