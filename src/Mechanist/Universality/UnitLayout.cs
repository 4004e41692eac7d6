namespace Mechanist.Universality;

/// <summary>
/// How one model's units sit side by side in an activation row: <see cref="Layers"/> blocks of
/// <see cref="Width"/> neurons, layer-major (unit u is neuron u mod Width of layer u / Width).
/// </summary>
public readonly record struct UnitLayout(int Layers, int Width)
{
    public int Units => Layers * Width;
    public int LayerOf(int unit) => unit / Width;
    public int NeuronOf(int unit) => unit % Width;

    /// <summary>"layer.neuron", the paper's way of naming a neuron (e.g. 4.3594).</summary>
    public string Name(int unit) => unit < 0 ? "" : $"{LayerOf(unit)}.{NeuronOf(unit)}";

    public override string ToString() => $"{Layers} layer{(Layers == 1 ? "" : "s")} × {Width:N0} neurons";
}
