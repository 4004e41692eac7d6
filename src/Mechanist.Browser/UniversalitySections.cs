using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// A feature page's universality lines, from what is attached to the store (<see cref="StoreAttachments"/>): its best
/// match in model B (correlation, logit-weight correlation, B's explanation) and its place in its split family (a link to
/// the family's page, its parent chain, its children and siblings, each list bounded; this store's latents link to
/// their pages, the others show their explanation on hover); a neuron page's
/// universality across seeds, family, role and entropy-intervention plot from an attached universal-neurons run.
/// </summary>
static class UniversalitySections
{
    static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;

    public static void Append(StringBuilder sb, FeatureStore store, Links links, int id)
    {
        var attached = store.Attachments;
        if (attached.Match(id) is AbMatch m)
        {
            sb.Append("<div class=\"nearest\" id=\"abmatch\"><span class=\"label\"><a href=\"").Append(links.Ab).Append("\">Best match in model B</a></span>")
              .Append("<span class=\"chip\">B ").Append(m.B).Append(" <small>corr ").Append(Html.Num(m.Correlation, "0.00"));
            if (m.LogitCorrelation is float l) sb.Append(" · logit ").Append(Html.Num(l, "0.00"));
            sb.Append("</small></span>");
            if (m.BExplanation != null) sb.Append(" <span class=\"muted\">").Append(Html.E(m.BExplanation)).Append("</span>");
            sb.Append("</div>");
        }
        else if (attached.HasAb) sb.Append("<div class=\"nearest\" id=\"abmatch\"><span class=\"label\">Best match in model B</span><span class=\"muted\">none (never fired)</span></div>");
        if (attached.Family(id) is var (family, members)) AppendFamily(sb, attached, links, id, family, members);
    }

    /// <summary>How many children or siblings a feature page lists before "and N more" (the family page has them all).</summary>
    public const int ListedRelatives = 20;

    /// <summary>
    /// The feature's place in its split family: a link to the family's page, its parent chain down the smaller widths,
    /// its children in the next larger width and its siblings (the other children of its parent), each list bounded.
    /// </summary>
    static void AppendFamily(StringBuilder sb, StoreAttachments attached, Links links, int id, int family, IReadOnlyList<SplitMember> members)
    {
        var byNode = members.ToDictionary(m => (m.Width, m.Latent));
        var self = byNode[(attached.Width, id)];
        sb.Append("<div class=\"family\" id=\"splitfamily\"><span class=\"label\"><a href=\"").Append(links.Family(family)).Append("\">Split family ").Append(family)
          .Append("</a> <small>").Append(members.Count.ToString("N0", Inv)).Append(" latents</small></span>");
        // This latent, then its parent, its parent's parent... down to the family's root at a smaller width.
        var chain = new List<SplitMember> { self };
        for (var m = self; m.Parent is { } p && byNode.TryGetValue(p, out var parent); m = parent) chain.Add(parent);
        sb.Append("<span class=\"rel\" id=\"splitparents\"><span class=\"width\">parents:</span>");
        for (int i = 0; i < chain.Count; i++)
        {
            if (i > 0) sb.Append("<span class=\"muted\">←</span>");
            Chip(sb, attached, links, chain[i], id, withWidth: true);
        }
        if (chain.Count == 1) sb.Append("<span class=\"muted\">(a root)</span>");
        sb.Append("</span>");
        Relatives(sb, attached, links, "splitchildren", "children", id, members.Where(m => m.Parent == (self.Width, self.Latent)));
        if (self.Parent is { } sp)
            Relatives(sb, attached, links, "splitsiblings", "siblings", id, members.Where(m => m.Parent == sp && m != self));
        sb.Append("</div>");
    }

    static void Relatives(StringBuilder sb, StoreAttachments attached, Links links, string htmlId, string label, int id, IEnumerable<SplitMember> relatives)
    {
        var all = relatives.OrderByDescending(m => m.ParentSimilarity).ThenBy(m => m.Latent).ToList();
        if (all.Count == 0) return;
        sb.Append("<span class=\"rel\" id=\"").Append(htmlId).Append("\"><span class=\"width\">").Append(label).Append(" (")
          .Append(all[0].Width.ToString("N0", Inv)).Append("):</span>");
        foreach (var m in all.Take(ListedRelatives)) Chip(sb, attached, links, m, id, withWidth: false);
        if (all.Count > ListedRelatives) sb.Append("<span class=\"muted more\">and ").Append(all.Count - ListedRelatives).Append(" more</span>");
        sb.Append("</span>");
    }

    /// <summary>A latent as a chip: a link for this store's width, else a span; its explanation (or density) and sim as a hover title.</summary>
    static void Chip(StringBuilder sb, StoreAttachments attached, Links links, SplitMember member, int id, bool withWidth)
    {
        string title = Html.E((member.Explanation ?? $"density {Html.Density((float)member.Density)}") +
            (member.Parent != null ? " · sim " + member.ParentSimilarity.ToString("0.00", Inv) + " to its parent" : ""));
        string text = (withWidth ? member.Width.ToString("N0", Inv) + " " : "") + "#" + member.Latent;
        if (member.Width == attached.Width)
            sb.Append("<a class=\"chip link").Append(member.Latent == id ? " on" : "").Append("\" href=\"").Append(links.Unit(UnitKind.Feature, member.Latent))
              .Append("\" title=\"").Append(title).Append("\">").Append(text).Append("</a>");
        else sb.Append("<span class=\"chip\" title=\"").Append(title).Append("\">").Append(text).Append("</span>");
    }

    /// <summary>The store's layer: its hook's (blocks.L.mlp.hook_post), else 0.</summary>
    public static int Layer(FeatureStore store) => Mechanist.Models.HookPoint.TryParse(store.Source.Hook, out var p) && p.InBlock ? p.Layer : 0;

    public static void AppendNeuron(StringBuilder sb, FeatureStore store, Links links, int id)
    {
        if (store.Attachments.Universal is not { } un || un.For(Layer(store), id) is not { } n) return;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string F(double v, string format = "0.00") => double.IsNaN(v) ? "–" : v.ToString(format, inv);
        sb.Append("<div class=\"nearest\" id=\"universality\"><span class=\"label\"><a href=\"").Append(links.Universal).Append("\">Universality</a></span>")
          .Append("<span class=\"chip").Append(n.IsUniversal ? " on" : "").Append("\">").Append(n.IsUniversal ? "universal" : "not universal")
          .Append(" <small>excess ").Append(F(n.Excess)).Append("</small></span>");
        for (int s = 0; s < n.MaxCorr.Length; s++)
            sb.Append("<span class=\"chip\">seed ").Append(s + 1).Append(" <small>max corr ").Append(F(n.MaxCorr[s])).Append("</small></span>");
        sb.Append("<span class=\"muted\">baseline ").Append(F(n.Baseline)).Append("</span></div>");
        sb.Append("<div class=\"nearest\" id=\"neuronfamily\"><span class=\"label\">Family</span>");
        if (n.Family.Length > 0)
            sb.Append("<span class=\"chip\">").Append(Html.E(n.Family)).Append(n.FamilyFeature.Length > 0 ? " · " + Html.E(Html.TokenText(n.FamilyFeature)) : "")
              .Append(" <small>VR ").Append(F(n.FamilyVr)).Append("</small></span>");
        else sb.Append("<span class=\"muted\">none</span>");
        sb.Append("<span class=\"label\">Role</span>").Append(n.Role.Length > 0 ? "<span class=\"chip\">" + Html.E(n.Role.Replace(";", " · ")) + "</span>" : "<span class=\"muted\">none</span>")
          .Append("</div>");
        int unit = Layer(store) * (un.Rows.Max(r => r.Neuron) + 1) + id;
        if (un.Entropy is { } entropy && entropy.Has(unit))
        {
            string svg = entropy.Plot(unit);
            sb.Append("<figure class=\"hist\" id=\"intervention\">").Append(svg[svg.IndexOf("<svg", StringComparison.Ordinal)..]).Append("</figure>");
        }
    }
}
