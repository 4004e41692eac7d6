using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// The A/B universality page (docs/METHODS.md §3.4): medians of best correlations for features and neurons, the
/// histogram, and every matched A feature in a table the reader can sort by clicking a column (site.js).
/// </summary>
static class AbPage
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(FeatureStore store, Links links)
    {
        var attached = store.Attachments;
        var sb = new StringBuilder(64 * 1024);
        Html.PageStart(sb, links, "A/B universality", store, "ab");
        sb.Append("<section class=\"intro\"><h1>A/B universality</h1><p class=\"muted\">For each feature of this dictionary (model A), the feature of ")
          .Append("model B's dictionary (another seed) it correlates with best over the same tokens, and the logit-weight correlation of the pair. ")
          .Append("Towards Monosemanticity found a median of 0.72 for features against 0.46 for neurons.</p></section>");
        if (!attached.HasAb)
            return Html.NothingAttached(sb, links, "No A/B run is attached to this store: run `mechanist universal features ... --features-a STORE`.");
        var s = attached.AbSummary;
        sb.Append("<section class=\"card\"><dl class=\"stats\">");
        Stat(sb, "Median best corr., features", s?["median_max_corr_features"]);
        Stat(sb, "Median best corr., neurons", s?["median_max_corr_neurons"]);
        Stat(sb, "Features matched above 0.8", s?["share_features_above_0.8"], percent: true);
        Stat(sb, "Tokens", s?["tokens"], count: true);
        sb.Append("</dl>");
        if (attached.AbHistogram is string svg) sb.Append("<figure class=\"hist ab\">").Append(svg[svg.IndexOf("<svg", StringComparison.Ordinal)..]).Append("</figure>");
        sb.Append("</section>");
        sb.Append("<table class=\"units sortable\" id=\"abtable\"><thead><tr><th data-sort=\"num\">A feature</th><th data-sort=\"text\">A explanation</th>")
          .Append("<th data-sort=\"num\">B feature</th><th data-sort=\"text\">B explanation</th><th data-sort=\"num\" class=\"on\">Corr.</th><th data-sort=\"num\">Logit corr.</th></tr></thead><tbody>");
        foreach (var m in attached.Matches.OrderByDescending(m => m.Correlation).ThenBy(m => m.A))
        {
            string? a = store.GetSummary(UnitKind.Feature, m.A).Explanation?.Text;
            sb.Append("<tr><td data-v=\"").Append(m.A).Append("\"><a href=\"").Append(links.Unit(UnitKind.Feature, m.A)).Append("\">").Append(m.A).Append("</a></td><td>")
              .Append(Html.E(a ?? "")).Append("</td><td data-v=\"").Append(m.B).Append("\">").Append(m.B).Append("</td><td>").Append(Html.E(m.BExplanation ?? ""))
              .Append("</td><td data-v=\"").Append(Html.Num(m.Correlation, "R")).Append("\">").Append(Html.Num(m.Correlation, "0.000"))
              .Append("</td><td data-v=\"").Append(m.LogitCorrelation is float l ? Html.Num(l, "R") : "").Append("\">")
              .Append(m.LogitCorrelation is float l2 ? Html.Num(l2, "0.000") : "–").Append("</td></tr>");
        }
        sb.Append("</tbody></table>");
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    static void Stat(StringBuilder sb, string label, JsonNode? value, bool percent = false, bool count = false)
    {
        string text = value is null ? "–" : percent ? ((double)value).ToString("P1", Inv) : count ? ((long)value).ToString("N0", Inv) : ((double)value).ToString("0.000", Inv);
        sb.Append("<div><dt>").Append(label).Append("</dt><dd>").Append(text).Append("</dd></div>");
    }
}
