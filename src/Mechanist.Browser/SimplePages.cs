using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>The playground (served: the server encodes; exported with the model: the page does), the 404 page and the error page.</summary>
static class SimplePages
{
    /// <param name="hasEncoder">Served: whether the server has the model. Exported: the page runs the packed model itself.</param>
    public static string Playground(FeatureStore store, Links links, bool hasEncoder)
    {
        bool local = links.IsStatic;
        var sb = new StringBuilder();
        Html.PageStart(sb, links, "Playground", store, "playground");
        sb.Append("<section class=\"intro\"><h1>Playground</h1><p class=\"muted\">Type text: it runs through the model and the SAE, and each token is shaded by its strongest feature. ")
          .Append("Click a token to see its top features.</p></section>");
        if (!hasEncoder)
        {
            sb.Append("<section class=\"card\"><p>This server has no model loaded, so the playground cannot encode text. ")
              .Append("Start `mechanist browse` with the model and SAE to use it.</p></section>");
            Html.PageEnd(sb, links);
            return sb.ToString();
        }
        sb.Append("<form id=\"play\" class=\"search\"");
        if (local) sb.Append(" data-local=\"1\" data-model-base=\"").Append(Html.E(links.ModelBase)).Append('"');
        sb.Append(" data-feature-href=\"").Append(Html.E(links.UnitPattern(UnitKind.Feature))).Append("\"><textarea id=\"text\" rows=\"3\" placeholder=\"Type some text…\">The cat sat on the mat.</textarea>")
          .Append("<button type=\"submit\">Encode</button></form><p class=\"status\" id=\"playstatus\"></p>")
          .Append("<section class=\"card\"><div class=\"ctx play\" id=\"tokens\"></div></section>")
          .Append("<section class=\"card\" id=\"detail\" hidden><h2 id=\"detailtitle\"></h2><table class=\"units\" id=\"detailtable\"><thead><tr>")
          .Append("<th>Feature</th><th class=\"num\">Activation</th><th>Top tokens</th><th>Explanation</th></tr></thead><tbody></tbody></table></section>");
        Html.PageEnd(sb, links, local ? [links.UnitsData(UnitKind.Feature), .. GeneratePage.ModelScripts(links)] : []);
        return sb.ToString();
    }

    public static string NotFound(FeatureStore store, Links links, string what)
    {
        var sb = new StringBuilder();
        Html.PageStart(sb, links, "Not found", store, "");
        sb.Append("<section class=\"card notfound\"><h1>Not found</h1><p>").Append(Html.E(what)).Append("</p><p><a href=\"")
          .Append(links.Index(UnitKind.Feature)).Append("\">Back to all features</a></p></section>");
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    public static string Error(FeatureStore store, Links links, string message)
    {
        var sb = new StringBuilder();
        Html.PageStart(sb, links, "Error", store, "");
        sb.Append("<section class=\"card notfound\"><h1>Something went wrong</h1><p>").Append(Html.E(message)).Append("</p></section>");
        Html.PageEnd(sb, links);
        return sb.ToString();
    }
}
