using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>The playground (server only), the 404 page and the error page.</summary>
static class SimplePages
{
    public static string Playground(FeatureStore store, Links links, bool hasEncoder)
    {
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
        sb.Append("<form id=\"play\" class=\"search\"><textarea id=\"text\" rows=\"3\" placeholder=\"Type some text…\">The cat sat on the mat.</textarea>")
          .Append("<button type=\"submit\">Encode</button></form><p class=\"status\" id=\"playstatus\"></p>")
          .Append("<section class=\"card\"><div class=\"ctx play\" id=\"tokens\"></div></section>")
          .Append("<section class=\"card\" id=\"detail\" hidden><h2 id=\"detailtitle\"></h2><table class=\"units\" id=\"detailtable\"><thead><tr>")
          .Append("<th>Feature</th><th class=\"num\">Activation</th><th>Top tokens</th><th>Explanation</th></tr></thead><tbody></tbody></table></section>");
        Html.PageEnd(sb, links);
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
