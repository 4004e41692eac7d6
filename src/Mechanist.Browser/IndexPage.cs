using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// The list of all units of one kind: density histogram, search (by top token or explanation text), sortable
/// table. The server pages through it with query-string links (works without script); the static export
/// renders the first rows and lets site.js sort and search all units from the inlined `units-*.js`.
/// </summary>
static class IndexPage
{
    public const int PageSize = 100;

    public static string Sort(UnitSort sort) => sort switch
    {
        UnitSort.Density => "density", UnitSort.MaxActivation => "max", UnitSort.Score => "score", _ => "id",
    };

    public static UnitSort ParseSort(string? s) => s switch
    {
        "id" => UnitSort.Id, "max" => UnitSort.MaxActivation, "score" => UnitSort.Score, _ => UnitSort.Density,
    };

    /// <summary>Search results: units whose top tokens include the query, then those whose explanation mentions it.</summary>
    public static IReadOnlyList<int> Search(FeatureStore store, UnitKind kind, string query)
    {
        var byToken = store.FindByToken(kind, query);
        var seen = byToken.ToHashSet();
        return [.. byToken, .. store.FindByExplanation(kind, query).Where(seen.Add)];
    }

    public static string Render(FeatureStore store, Links links, UnitKind kind, UnitSort sort, string? query, int page, string? dataScript = null)
    {
        query = query?.Trim();
        IReadOnlyList<int> ids = string.IsNullOrEmpty(query) ? store.Order(kind, sort) : Search(store, kind, query);
        if (!string.IsNullOrEmpty(query) && sort != UnitSort.Id)
        {
            var rank = store.Rank(kind, sort);
            ids = ids.OrderBy(id => rank[id]).ToList();
        }
        int pages = Math.Max(1, (ids.Count + PageSize - 1) / PageSize);
        page = Math.Clamp(page, 1, pages);
        string plural = kind == UnitKind.Feature ? "Features" : "Neurons";

        var sb = new StringBuilder(64 * 1024);
        Html.PageStart(sb, links, plural, store, kind.Name());
        int total = store.UnitCount(kind);
        sb.Append("<section class=\"intro\"><h1>").Append(plural).Append(" <span class=\"count\">").Append(total.ToString("N0"))
          .Append("</span></h1>");
        var (logDensity, dead) = store.DensityHistogram(kind);
        Html.Histogram(sb, logDensity, $"Density (log₁₀ fraction of tokens), {total - dead:N0} live, {dead:N0} never fired", "density",
            axisLabel: v => Html.Num((float)v, "0.#"));
        sb.Append("</section>");
        CircuitPage.IndexCard(sb, store, links);

        sb.Append("<form class=\"search\" method=\"get\" action=\"").Append(links.IsStatic ? "" : "/").Append("\" data-kind=\"").Append(kind.Name()).Append("\">");
        if (kind != UnitKind.Feature) sb.Append("<input type=\"hidden\" name=\"kind\" value=\"").Append(kind.Name()).Append("\">");
        sb.Append("<input type=\"hidden\" name=\"sort\" value=\"").Append(Sort(sort)).Append("\">")
          .Append("<input type=\"search\" name=\"q\" id=\"q\" placeholder=\"Search by token (e.g. the) or by explanation text\" value=\"")
          .Append(Html.E(query)).Append("\" autocomplete=\"off\"><button type=\"submit\">Search</button></form>");

        sb.Append("<p class=\"status\" id=\"status\">");
        if (!string.IsNullOrEmpty(query))
            sb.Append(ids.Count.ToString("N0")).Append(ids.Count == 1 ? " match" : " matches").Append(" for “").Append(Html.E(query)).Append("”. ")
              .Append("<a href=\"").Append(links.Index(kind)).Append("\">Clear</a>");
        else sb.Append("Sorted by ").Append(SortLabel(sort)).Append('.');
        sb.Append("</p>");

        sb.Append("<table class=\"units\" id=\"units\"><thead><tr>");
        Header(sb, links, kind, query, "id", "#", sort == UnitSort.Id);
        Header(sb, links, kind, query, "density", "Density", sort == UnitSort.Density);
        Header(sb, links, kind, query, "max", "Max act.", sort == UnitSort.MaxActivation);
        sb.Append("<th>Top tokens</th><th>Explanation</th>");
        Header(sb, links, kind, query, "score", "Score", sort == UnitSort.Score);
        sb.Append("</tr></thead><tbody>");
        foreach (int id in ids.Skip((page - 1) * PageSize).Take(PageSize)) Row(sb, store, links, store.GetSummary(kind, id));
        sb.Append("</tbody></table>");

        if (pages > 1 && !links.IsStatic)
        {
            sb.Append("<nav class=\"pager\">");
            if (page > 1) sb.Append("<a href=\"").Append(Href(kind, Sort(sort), query, page - 1)).Append("\">← Previous</a>");
            sb.Append("<span>Page ").Append(page).Append(" of ").Append(pages.ToString("N0")).Append("</span>");
            if (page < pages) sb.Append("<a href=\"").Append(Href(kind, Sort(sort), query, page + 1)).Append("\">Next →</a>");
            sb.Append("</nav>");
        }
        else if (links.IsStatic && ids.Count > PageSize)
            sb.Append("<p class=\"status\" id=\"more\">Showing the first ").Append(PageSize).Append(" of ").Append(ids.Count.ToString("N0"))
              .Append("; search or sort to see others.</p>");
        Html.PageEnd(sb, links, dataScript);
        return sb.ToString();
    }

    static string SortLabel(UnitSort sort) => sort switch
    {
        UnitSort.Density => "density, densest first", UnitSort.MaxActivation => "maximum activation, largest first",
        UnitSort.Score => "explanation score, best first", _ => "id",
    };

    static string Href(UnitKind kind, string sort, string? query, int page)
    {
        var parts = new List<string>();
        if (kind != UnitKind.Feature) parts.Add("kind=" + kind.Name());
        parts.Add("sort=" + sort);
        if (!string.IsNullOrEmpty(query)) parts.Add("q=" + Uri.EscapeDataString(query));
        if (page > 1) parts.Add("page=" + page);
        return "/?" + string.Join("&", parts);
    }

    static void Header(StringBuilder sb, Links links, UnitKind kind, string? query, string key, string label, bool on)
    {
        string cls = (key == "id" ? "" : "num") + (on ? " on" : "");
        sb.Append("<th class=\"").Append(cls.Trim()).Append('"').Append("><a data-sort=\"").Append(key).Append("\" href=\"")
          .Append(links.IsStatic ? "#" : Html.E(Href(kind, key, query, 1))).Append("\">").Append(label).Append("</a></th>");
    }

    public static void Row(StringBuilder sb, FeatureStore store, Links links, UnitSummary s)
    {
        string href = links.Unit(s.Kind, s.Id);
        sb.Append("<tr").Append(s.IsDead ? " class=\"dead\"" : "").Append("><td class=\"id\"><a href=\"").Append(href).Append("\">").Append(s.Id)
          .Append("</a></td><td class=\"num\">").Append(Html.Density(s.Density)).Append("</td><td class=\"num\">").Append(Html.Num(s.MaxActivation, "0.00"))
          .Append("</td><td class=\"toks\">");
        foreach (int t in s.TopTokenIds.Take(5)) sb.Append("<span class=\"chip\">").Append(Html.E(Html.TokenLabel(store.TokenString(t)))).Append("</span>");
        sb.Append("</td><td class=\"expl\">").Append(Html.E(s.Explanation?.Text)).Append("</td><td class=\"num\">")
          .Append(s.Explanation?.Score is float score ? Html.Num(score, "0.00") : "").Append("</td></tr>");
    }
}
