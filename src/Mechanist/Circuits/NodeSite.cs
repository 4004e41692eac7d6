using Mechanist.Models;

namespace Mechanist.Circuits;

/// <summary>
/// One kind of circuit node at one layer (docs/METHODS.md §6.5): the hook point whose channels are gated, its name
/// in the paper's terms (<c>0.attn.act_in</c>, <c>0.mlp.post_act</c>, <c>final_resid</c>...), its width, and where
/// its nodes start in the flat list of all nodes.
/// </summary>
public sealed record NodeSite(string Name, HookPoint Point, int Width, int Offset)
{
    /// <summary>The layer, or −1 for final_resid.</summary>
    public int Layer => Point.Layer;

    /// <summary>Node ids [Offset, Offset + Width).</summary>
    public bool Holds(int node) => node >= Offset && node < Offset + Width;
}
