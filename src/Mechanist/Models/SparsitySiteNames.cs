namespace Mechanist.Models;

/// <summary>Names of <see cref="SparsitySites"/> in config.json (mechanist_afrac_sites) and on the command line.</summary>
public static class SparsitySiteNames
{
    public static readonly IReadOnlyList<(SparsitySites Site, string Name)> Names =
    [
        (SparsitySites.AttnIn, "attn_in"), (SparsitySites.AttnQ, "attn_q"), (SparsitySites.AttnK, "attn_k"), (SparsitySites.AttnV, "attn_v"),
        (SparsitySites.AttnOut, "attn_out"), (SparsitySites.MlpIn, "mlp_in"), (SparsitySites.MlpNeuron, "mlp_neuron"), (SparsitySites.MlpOut, "mlp_out"),
        (SparsitySites.ResidPostAttn, "resid_post_attn"), (SparsitySites.ResidPostMlp, "resid_post_mlp"),
    ];

    public static IEnumerable<string> Format(SparsitySites sites) => Names.Where(n => sites.HasFlag(n.Site)).Select(n => n.Name);

    /// <summary>Reads site names; a name that is none of them is a DataFormatError naming <paramref name="field"/>.</summary>
    public static SparsitySites Parse(IEnumerable<string> names, string source, string field)
    {
        var sites = SparsitySites.None;
        foreach (string name in names)
        {
            var match = Names.FirstOrDefault(n => n.Name == name);
            if (match.Name == null)
                throw new DataFormatError(source, field, $"'{name}' is not a sparsity site ({string.Join(", ", Names.Select(n => n.Name))})");
            sites |= match.Site;
        }
        return sites;
    }
}
