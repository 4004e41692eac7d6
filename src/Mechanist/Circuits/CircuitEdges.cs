using Mechanist.Models;

namespace Mechanist.Circuits;

/// <summary>
/// The edges of a circuit (docs/METHODS.md §6.5): nonzero weights between kept nodes. Inside a sublayer: a channel the
/// attention reads → a q, k or v channel (c_attn), a v channel → a channel the attention writes (c_proj, through the
/// head's z), a channel the MLP reads → a neuron (c_fc), a neuron → a channel the MLP writes (c_proj). Between
/// sublayers the residual stream carries channel c from a writer to every later reader of channel c (weight 1; the
/// norms' mean and σ are not counted as edges). The q and k channels j of one head meet in the attention score: one
/// edge of weight 1. So a neuron reading and writing one channel each is 3 nodes and 2 edges, as in the paper.
/// </summary>
public static class CircuitEdges
{
    public static List<CircuitEdge> Of(Transformer<float> model, CircuitNodes nodes, bool[] keep)
    {
        var c = model.Config;
        int d = c.DModel;
        var edges = new List<CircuitEdge>();
        NodeSite Site(string name) => nodes.Sites.First(s => s.Name == name);
        void Dense(NodeSite from, NodeSite to, Numerics.Tensor<float> w, int columnOffset)
        {
            int columns = w.Columns;
            for (int i = 0; i < from.Width; i++)
            {
                if (!keep[from.Offset + i]) continue;
                for (int j = 0; j < to.Width; j++)
                {
                    if (!keep[to.Offset + j]) continue;
                    float weight = w[i * columns + columnOffset + j];
                    if (weight != 0) edges.Add(new CircuitEdge(from.Offset + i, to.Offset + j, weight));
                }
            }
        }
        void Pairs(NodeSite from, NodeSite to)
        {
            for (int j = 0; j < Math.Min(from.Width, to.Width); j++)
                if (keep[from.Offset + j] && keep[to.Offset + j]) edges.Add(new CircuitEdge(from.Offset + j, to.Offset + j, 1));
        }
        for (int l = 0; l < c.Layers; l++)
        {
            var block = model.Blocks[l];
            var actIn = Site($"{l}.attn.act_in");
            Dense(actIn, Site($"{l}.attn.q"), block.AttnWeight.Value, 0);
            Dense(actIn, Site($"{l}.attn.k"), block.AttnWeight.Value, d);
            Dense(actIn, Site($"{l}.attn.v"), block.AttnWeight.Value, 2 * d);
            Pairs(Site($"{l}.attn.q"), Site($"{l}.attn.k"));
            Dense(Site($"{l}.attn.v"), Site($"{l}.attn.resid_delta"), block.AttnOutWeight.Value, 0);
            if (c.AttentionOnly) continue;
            Dense(Site($"{l}.mlp.act_in"), Site($"{l}.mlp.post_act"), block.MlpInWeight!.Value, 0);
            Dense(Site($"{l}.mlp.post_act"), Site($"{l}.mlp.resid_delta"), block.MlpOutWeight!.Value, 0);
        }
        // The residual stream: each writer to every later reader, channel by channel (sites are listed in pass order).
        var sites = nodes.Sites;
        for (int w = 0; w < sites.Count; w++)
        {
            if (!sites[w].Name.EndsWith(".resid_delta", StringComparison.Ordinal)) continue;
            for (int r = w + 1; r < sites.Count; r++)
                if (sites[r].Name.EndsWith(".act_in", StringComparison.Ordinal) || sites[r].Name == "final_resid") Pairs(sites[w], sites[r]);
        }
        return edges;
    }
}
