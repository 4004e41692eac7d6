using System.Globalization;
using System.Text;
using Mechanist.Features;
using Mechanist.Plots;

namespace Mechanist.Browser;

/// <summary>
/// The split families attached to the store (`features splits --features`, docs/METHODS.md §3.5): a list of all
/// families, largest first, and one page per family that draws its tree across widths (<see cref="SplitTreeChart"/>),
/// this dictionary's latents linking to their pages. Feature pages show only a latent's parent chain, children and
/// siblings, bounded, and link here, so a large family costs one page, not one copy per member.
/// </summary>
static class FamilyPage
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(FeatureStore store, Links links, int id)
    {
        var attached = store.Attachments;
        var members = attached.Families[id];
        var chart = Chart(store, links, id, members);
        var sb = new StringBuilder(4096 + members.Count * 600);
        Html.PageStart(sb, links, $"Split family {id}", store, "families");
        sb.Append("<section class=\"intro\"><h1>Split family ").Append(id).Append("</h1><p class=\"muted\">").Append(Html.E(chart.Title))
          .Append(". Each latent hangs under its best parent, the latent of the next smaller dictionary it is most similar to (sim = max of the two restricted ")
          .Append("cosines, above the threshold). Hover a node for its explanation and sim; this dictionary's latents (")
          .Append(attached.Width.ToString("N0", Inv)).Append(") open their pages. <a href=\"").Append(links.Families).Append("\">All families</a>.</p></section>");
        sb.Append("<section class=\"card\"><figure class=\"tree\" id=\"familytree\">");
        chart.AppendSvg(sb);
        sb.Append("</figure></section>");
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    public static SplitTreeChart Chart(FeatureStore store, Links links, int id, IReadOnlyList<SplitMember> members)
    {
        var groups = members.GroupBy(m => m.Width).OrderBy(g => g.Key).ToList();
        string title = $"Family {id}: {string.Join(" → ", groups.Select(g => g.Count()))} latents (widths {string.Join(" → ", groups.Select(g => g.Key.ToString("N0", Inv)))})";
        int width = store.Attachments.Width;
        return new SplitTreeChart(title, store.Attachments.SplitWidths, members)
        {
            Link = m => m.Width == width ? links.Unit(UnitKind.Feature, m.Latent) : null,
        };
    }

    /// <summary>Every family, largest first: size per width and the first explanations of its smallest-width latents.</summary>
    public static string RenderIndex(FeatureStore store, Links links)
    {
        var attached = store.Attachments;
        var sb = new StringBuilder(64 * 1024);
        Html.PageStart(sb, links, "Split families", store, "families");
        sb.Append("<section class=\"intro\"><h1>Split families</h1><p class=\"muted\">Dictionaries of several widths trained on the same activations: ")
          .Append("a feature of a small dictionary splits into finer ones as the dictionary grows (Towards Monosemanticity). ")
          .Append("Families, largest first; open one for its tree.</p></section>");
        if (!attached.HasSplits)
            return Html.NothingAttached(sb, links, "No split families are attached to this store: run `mechanist features splits ... --features STORE`.");
        sb.Append("<table class=\"units\" id=\"familytable\"><thead><tr><th>Family</th><th>Latents</th><th>Per width</th><th>Explanations</th></tr></thead><tbody>");
        foreach (var (id, members) in attached.Families.OrderByDescending(f => f.Value.Count).ThenBy(f => f.Key))
        {
            var perWidth = members.GroupBy(m => m.Width).OrderBy(g => g.Key).Select(g => $"{g.Count()}");
            var explained = members.Where(m => m.Explanation != null).Take(2).Select(m => string.Create(Inv, $"{m.Width:N0} #{m.Latent}: {m.Explanation}"));
            sb.Append("<tr><td><a href=\"").Append(links.Family(id)).Append("\">").Append(id).Append("</a></td><td>").Append(members.Count).Append("</td><td>")
              .Append(string.Join(" → ", perWidth)).Append("</td><td>").Append(Html.E(string.Join(" · ", explained))).Append("</td></tr>");
        }
        sb.Append("</tbody></table>");
        Html.PageEnd(sb, links);
        return sb.ToString();
    }
}
