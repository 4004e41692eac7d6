using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// A feature page's universality lines, from what is attached to the store (<see cref="StoreAttachments"/>): its best
/// match in model B (correlation, logit-weight correlation, B's explanation) and its split family across dictionary
/// widths (this store's latents link to their pages; the others show their explanation on hover); a neuron page's
/// universality across seeds, family, role and entropy-intervention plot from an attached universal-neurons run.
/// </summary>
static class UniversalitySections
{
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
        if (attached.Family(id) is var (family, members))
        {
            sb.Append("<div class=\"family\" id=\"splitfamily\"><span class=\"label\">Split family ").Append(family).Append("</span>");
            foreach (var width in members.GroupBy(x => x.Width).OrderBy(g => g.Key))
            {
                sb.Append("<span class=\"width\">").Append(width.Key.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)).Append(":</span>");
                foreach (var member in width)
                {
                    bool here = width.Key == attached.Width;
                    string title = Html.E(member.Explanation ?? $"density {Html.Density((float)member.Density)}");
                    if (here)
                        sb.Append("<a class=\"chip link").Append(member.Latent == id ? " on" : "").Append("\" href=\"").Append(links.Unit(UnitKind.Feature, member.Latent))
                          .Append("\" title=\"").Append(title).Append("\">").Append(member.Latent).Append("</a>");
                    else sb.Append("<span class=\"chip\" title=\"").Append(title).Append("\">").Append(member.Latent).Append("</span>");
                }
            }
            sb.Append("</div>");
        }
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
