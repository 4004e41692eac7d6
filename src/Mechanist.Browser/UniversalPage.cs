using System.Globalization;
using System.Text;
using Mechanist.Features;
using Mechanist.Universality;

namespace Mechanist.Browser;

/// <summary>
/// The universal-neurons page (docs/METHODS.md §5): the run's share of universal neurons, a histogram of them per
/// layer, excess_corr against activation frequency for every neuron, and a table of all neurons the reader can
/// filter (text, universal only) and sort; the store's own layer links to its neuron pages.
/// </summary>
static class UniversalPage
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(FeatureStore store, Links links)
    {
        var un = store.Attachments.Universal;
        var sb = new StringBuilder(256 * 1024);
        Html.PageStart(sb, links, "Universal neurons", store, "universal");
        sb.Append("<section class=\"intro\"><h1>Universal neurons</h1><p class=\"muted\">Each neuron of model 0 against every neuron of models trained ")
          .Append("from other seeds: its best Pearson correlation per seed, and excess_corr, their mean minus a baseline's. Universal when excess_corr &gt; 0.5 ")
          .Append("(Gurnee et al. 2024 found 1.2–4.2 % of GPT-2's neurons universal).</p></section>");
        if (un == null)
            return Html.NothingAttached(sb, links, "No universal-neurons run is attached to this store: run `mechanist universal neurons ... --features STORE`.");
        var s = un.Summary;
        int universal = un.Rows.Count(r => r.IsUniversal);
        sb.Append("<section class=\"card\"><dl class=\"stats\">")
          .Append("<div><dt>Universal</dt><dd id=\"unshare\">").Append(universal.ToString("N0", Inv)).Append(" of ").Append(un.Rows.Count.ToString("N0", Inv))
          .Append(" (").Append((universal / (double)Math.Max(1, un.Rows.Count)).ToString("P2", Inv)).Append(")</dd></div>")
          .Append("<div><dt>Seeds</dt><dd>").Append(s?["seeds"]?.ToString() ?? "–").Append("</dd></div>")
          .Append("<div><dt>Tokens</dt><dd>").Append(s?["tokens"] is { } t ? ((long)t).ToString("N0", Inv) : "–").Append("</dd></div>")
          .Append("<div><dt>Baseline</dt><dd>").Append(Html.E(s?["baseline"]?.ToString() ?? "–")).Append("</dd></div></dl>");
        sb.Append("<div class=\"grid\"><figure class=\"hist\" id=\"unlayers\">");
        LayerBars(sb, un);
        sb.Append("</figure><figure class=\"hist\" id=\"unscatter\">");
        Scatter(sb, un);
        sb.Append("</figure></div>");
        if (un.Entropy != null) sb.Append("<p><a href=\"#entropy\">Entropy-neuron intervention</a> below the table.</p>");
        sb.Append("</section>");

        int layer = UniversalitySections.Layer(store), neurons = store.UnitCount(UnitKind.Neuron);
        sb.Append("<section class=\"card\"><p class=\"filters\"><input type=\"search\" id=\"unfilter\" data-filter=\"untable\" placeholder=\"filter: family, role, token…\"> ")
          .Append("<label><input type=\"checkbox\" id=\"unonly\" data-filter-universal=\"untable\"> universal only</label></p>")
          .Append("<table class=\"units sortable\" id=\"untable\"><thead><tr><th data-sort=\"num\">Layer</th><th data-sort=\"num\">Neuron</th>")
          .Append("<th data-sort=\"num\">Mean max corr.</th><th data-sort=\"num\">Baseline</th><th data-sort=\"num\" class=\"on\">Excess</th>")
          .Append("<th data-sort=\"num\">Act. freq.</th><th data-sort=\"text\">Family</th><th data-sort=\"num\">VR</th><th data-sort=\"text\">Role</th></tr></thead><tbody>");
        foreach (var r in un.Rows.OrderByDescending(r => double.IsNaN(r.Excess) ? double.NegativeInfinity : r.Excess))
        {
            sb.Append("<tr").Append(r.IsUniversal ? " class=\"universal\"" : "").Append("><td data-v=\"").Append(r.Layer).Append("\">").Append(r.Layer)
              .Append("</td><td data-v=\"").Append(r.Neuron).Append("\">");
            if (r.Layer == layer && r.Neuron < neurons) sb.Append("<a href=\"").Append(links.Unit(UnitKind.Neuron, r.Neuron)).Append("\">").Append(r.Neuron).Append("</a>");
            else sb.Append(r.Neuron);
            sb.Append("</td>");
            Cell(sb, r.MeanMaxCorr); Cell(sb, r.Baseline); Cell(sb, r.Excess); Cell(sb, r.Sparsity, "0.0000");
            sb.Append("<td>").Append(Html.E(r.Family)).Append(r.FamilyFeature.Length > 0 ? " · " + Html.E(Html.TokenText(r.FamilyFeature)) : "").Append("</td>");
            Cell(sb, r.FamilyVr);
            sb.Append("<td>").Append(Html.E(r.Role.Replace(";", " · "))).Append("</td></tr>");
        }
        sb.Append("</tbody></table></section>");
        if (un.Entropy is { } entropy)
        {
            string svg = entropy.Plot();
            sb.Append("<section class=\"card\" id=\"entropy\"><h2>Entropy-neuron intervention</h2><figure class=\"hist\">")
              .Append(svg[svg.IndexOf("<svg", StringComparison.Ordinal)..]).Append("</figure></section>");
        }
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    static void Cell(StringBuilder sb, double v, string format = "0.000") =>
        sb.Append("<td data-v=\"").Append(double.IsNaN(v) ? "" : v.ToString("R", Inv)).Append("\">").Append(double.IsNaN(v) ? "–" : v.ToString(format, Inv)).Append("</td>");

    const int W = 360, H = 220, L = 44, B = 30, T = 24, R = 10;

    /// <summary>Universal neurons per layer, as bars.</summary>
    static void LayerBars(StringBuilder sb, UniversalAttachment un)
    {
        int layers = Math.Max(1, un.Layers);
        var counts = Enumerable.Range(0, layers).Select(l => un.Rows.Count(r => r.Layer == l && r.IsUniversal)).ToArray();
        int max = Math.Max(1, counts.Max());
        double bw = (W - L - R) / (double)layers;
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(W).Append(' ').Append(H).Append("\" width=\"").Append(W).Append("\" height=\"").Append(H).Append("\">")
          .Append("<text x=\"").Append(W / 2).Append("\" y=\"16\" text-anchor=\"middle\" class=\"title\">Universal neurons per layer</text>");
        for (int l = 0; l < layers; l++)
        {
            double h = (H - T - B) * counts[l] / (double)max, x = L + l * bw;
            sb.Append("<rect class=\"bar\" data-layer=\"").Append(l).Append("\" data-count=\"").Append(counts[l]).Append("\" x=\"").Append(N(x + 2)).Append("\" y=\"").Append(N(H - B - h))
              .Append("\" width=\"").Append(N(Math.Max(1, bw - 4))).Append("\" height=\"").Append(N(h)).Append("\" fill=\"#4c78a8\"><title>layer ").Append(l).Append(": ").Append(counts[l]).Append("</title></rect>")
              .Append("<text x=\"").Append(N(x + bw / 2)).Append("\" y=\"").Append(H - B + 14).Append("\" text-anchor=\"middle\" class=\"tick\">").Append(l).Append("</text>");
        }
        sb.Append("<text x=\"").Append(L - 6).Append("\" y=\"").Append(T + 4).Append("\" text-anchor=\"end\" class=\"tick\">").Append(max).Append("</text>")
          .Append("<text x=\"").Append(W / 2).Append("\" y=\"").Append(H - 2).Append("\" text-anchor=\"middle\" class=\"tick\">layer</text></svg>");
    }

    /// <summary>excess_corr against activation frequency, one dot per neuron (universal ones in colour).</summary>
    static void Scatter(StringBuilder sb, UniversalAttachment un)
    {
        var points = un.Rows.Where(r => double.IsFinite(r.Excess) && double.IsFinite(r.Sparsity)).ToList();
        double y0 = Math.Min(0, points.Count == 0 ? 0 : points.Min(p => p.Excess)), y1 = Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.Excess));
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(W).Append(' ').Append(H).Append("\" width=\"").Append(W).Append("\" height=\"").Append(H).Append("\">")
          .Append("<text x=\"").Append(W / 2).Append("\" y=\"16\" text-anchor=\"middle\" class=\"title\">excess_corr against activation frequency</text>");
        if (points.Count == 0) sb.Append("<text x=\"").Append(W / 2).Append("\" y=\"").Append(H / 2).Append("\" text-anchor=\"middle\" class=\"tick\">no statistics in this run</text>");
        foreach (var p in points.OrderBy(p => p.IsUniversal))
        {
            double x = L + (W - L - R) * Math.Clamp(p.Sparsity, 0, 1), y = H - B - (H - T - B) * (p.Excess - y0) / (y1 - y0);
            sb.Append("<circle class=\"dot").Append(p.IsUniversal ? " universal" : "").Append("\" cx=\"").Append(N(x)).Append("\" cy=\"").Append(N(y)).Append("\" r=\"2\" fill=\"")
              .Append(p.IsUniversal ? "#d62728" : "#9999aa").Append("\"><title>").Append(p.Layer).Append('.').Append(p.Neuron).Append("</title></circle>");
        }
        double yt = H - B - (H - T - B) * (0.5 - y0) / (y1 - y0);
        sb.Append("<line x1=\"").Append(L).Append("\" x2=\"").Append(W - R).Append("\" y1=\"").Append(N(yt)).Append("\" y2=\"").Append(N(yt)).Append("\" stroke=\"#d62728\" stroke-dasharray=\"3 3\"/>")
          .Append("<text x=\"").Append(L - 6).Append("\" y=\"").Append(N(yt + 4)).Append("\" text-anchor=\"end\" class=\"tick\">0.5</text>")
          .Append("<text x=\"").Append(L).Append("\" y=\"").Append(H - B + 14).Append("\" class=\"tick\">0</text><text x=\"").Append(W - R).Append("\" y=\"").Append(H - B + 14).Append("\" text-anchor=\"end\" class=\"tick\">1</text>")
          .Append("<text x=\"").Append(W / 2).Append("\" y=\"").Append(H - 2).Append("\" text-anchor=\"middle\" class=\"tick\">activation frequency</text></svg>");
    }

    static string N(double v) => v.ToString("0.#", Inv);
}
