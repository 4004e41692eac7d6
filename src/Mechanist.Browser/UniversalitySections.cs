using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// A feature page's universality lines, from what is attached to the store (<see cref="StoreAttachments"/>): its best
/// match in model B (correlation, logit-weight correlation, B's explanation) and its split family across dictionary
/// widths (this store's latents link to their pages; the others show their explanation on hover).
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
}
