using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// The feature map (docs/METHODS.md §3.5): the decoder directions of the dictionaries `features splits` compared, laid
/// out in 2-D by UMAP in the page (Assets/map.js with the vendored umap-js) from the neighbour graph attached to the
/// store (<c>splits/map.json</c>, loaded by a script tag so it also works from file://). Points are coloured by
/// dictionary; hovering shows a latent's explanation; clicking one of this store's latents opens its page.
/// </summary>
static class MapPage
{
    public static string Render(FeatureStore store, Links links)
    {
        var sb = new StringBuilder();
        Html.PageStart(sb, links, "Feature map", store, "map");
        int width = store.UnitCount(UnitKind.Feature);
        sb.Append("<section class=\"intro\"><h1>Feature map</h1><p class=\"muted\">The decoder directions of dictionaries of several widths trained on the same activations, ")
          .Append("laid out by UMAP (15 neighbours, cosine distance, min_dist 0.05) in this page. Colour: the dictionary's width. ")
          .Append("Hover a point for its explanation; click one of this dictionary's points (").Append(width.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))
          .Append(" latents, drawn larger) to open its page.</p></section>");
        if (store.Attachments.MapFile == null)
            return Html.NothingAttached(sb, links, "No map is attached to this store: run `mechanist features splits ... --features STORE`.");
        sb.Append("<section class=\"card\"><p class=\"status\" id=\"mapstatus\">Laying out the map…</p><div id=\"maplegend\" class=\"legend\"></div>")
          .Append("<svg id=\"map\" viewBox=\"0 0 1000 700\" role=\"img\" aria-label=\"UMAP of decoder directions\" data-width=\"").Append(width)
          .Append("\" data-feature-href=\"").Append(Html.E(links.UnitPattern(UnitKind.Feature))).Append("\"></svg></section>");
        Html.PageEnd(sb, links, links.Asset("umap-js.min.js"), links.MapData, links.Asset("map.js"));
        return sb.ToString();
    }

    /// <summary><c>window.MECHANIST_MAP</c>: the attached map.json as it is (widths, points, neighbours, distances).</summary>
    public static string DataScript(FeatureStore store) =>
        "window.MECHANIST_MAP = " + File.ReadAllText(store.Attachments.MapFile!).TrimEnd() + ";\n";
}
