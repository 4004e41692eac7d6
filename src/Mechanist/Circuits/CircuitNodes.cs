using Mechanist.Models;

namespace Mechanist.Circuits;

/// <summary>
/// Every node a circuit can keep, for any model of the shared forward pass, as hook points of its channels
/// (docs/METHODS.md §6.5): per layer the residual channels the attention reads (after ln1: hook_normalized), the
/// q, k and v channels, the channels the attention writes (hook_attn_out), the channels the MLP reads (after ln2),
/// its neurons (hook_post) and the channels it writes (hook_mlp_out); then the channels the unembedding reads
/// (after ln_final). A node is one channel of one site; one mask serves every prompt and position.
/// </summary>
public sealed class CircuitNodes
{
    public CircuitNodes(TransformerConfig c)
    {
        var sites = new List<NodeSite>();
        int offset = 0;
        void Add(string name, HookPoint point, int width) { sites.Add(new NodeSite(name, point, width, offset)); offset += width; }
        for (int l = 0; l < c.Layers; l++)
        {
            Add($"{l}.attn.act_in", HookPoint.Normalized(l, 1), c.DModel);
            Add($"{l}.attn.q", HookPoint.Q(l), c.DModel);
            Add($"{l}.attn.k", HookPoint.K(l), c.DModel);
            Add($"{l}.attn.v", HookPoint.V(l), c.DModel);
            Add($"{l}.attn.resid_delta", HookPoint.AttnOut(l), c.DModel);
            if (c.AttentionOnly) continue;
            Add($"{l}.mlp.act_in", HookPoint.Normalized(l, 2), c.DModel);
            Add($"{l}.mlp.post_act", HookPoint.MlpPost(l), c.DMlp);
            Add($"{l}.mlp.resid_delta", HookPoint.MlpOut(l), c.DModel);
        }
        Add("final_resid", HookPoint.FinalNormalized, c.DModel);
        Sites = sites;
        Count = offset;
        Config = c;
    }

    public TransformerConfig Config { get; }
    public IReadOnlyList<NodeSite> Sites { get; }
    /// <summary>All nodes.</summary>
    public int Count { get; }

    public NodeSite SiteOf(int node) => Sites.First(s => s.Holds(node));

    /// <summary>"0.mlp.post_act[17]".</summary>
    public string NameOf(int node)
    {
        var s = SiteOf(node);
        return $"{s.Name}[{node - s.Offset}]";
    }

    /// <summary>The norm-scale hook points of the model (frozen together when norms are frozen).</summary>
    public IEnumerable<HookPoint> ScalePoints()
    {
        for (int l = 0; l < Config.Layers; l++)
        {
            yield return HookPoint.Scale(l, 1);
            if (!Config.AttentionOnly) yield return HookPoint.Scale(l, 2);
        }
        yield return HookPoint.FinalScale;
    }
}
