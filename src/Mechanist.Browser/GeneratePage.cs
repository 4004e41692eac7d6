using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// The Generate page: the model runs in the page (Assets/wm-*.js on the files of <see cref="WebModelFiles"/>), continues
/// a prompt token by token, colours each token by a chosen feature, and steers or clamps features at the SAE's hook with
/// the unsteered continuation beside the steered one. The state is in the URL (Assets/generate.js). The same page is
/// served and exported; only the addresses differ.
/// </summary>
static class GeneratePage
{
    /// <summary>The scripts that run the model in a page, in load order: the manifest first, then the engine.</summary>
    public static string[] ModelScripts(Links links) =>
    [
        links.ModelBase + WebModelFiles.ManifestFile,
        links.Asset("wm-load.js"), links.Asset("wm-tokenizer.js"), links.Asset("wm-transformer.js"), links.Asset("wm-sae.js"), links.Asset("wm-generate.js"),
    ];

    public static string Render(FeatureStore? store, Links links)
    {
        var sb = new StringBuilder();
        Html.PageStart(sb, links, "Generate", store, "generate");
        sb.Append("<section class=\"intro\"><h1>Generate</h1><p class=\"muted\">The model runs in this page: it continues the prompt one token at a time, ")
          .Append("each token shaded by the chosen feature's activation (hover a token for its strongest features). Add features to steer them ")
          .Append("(add α times the feature's decoder direction at the SAE's hook) or clamp them; the steered continuation appears beside the unsteered one. ")
          .Append("The address holds every setting, so a link reproduces the result.</p></section>");
        sb.Append("<div id=\"genapp\" data-model-base=\"").Append(Html.E(links.ModelBase)).Append("\" data-feature-href=\"")
          .Append(store != null ? Html.E(links.UnitPattern(UnitKind.Feature)) : "").Append("\">");
        sb.Append("<form id=\"gen\" class=\"search gen\"><textarea id=\"prompt\" rows=\"3\">The cat sat on the</textarea>")
          .Append("<div class=\"genopts\"><label>Tokens <input id=\"tokens\" type=\"number\" min=\"1\" max=\"4096\" value=\"40\"></label>")
          .Append("<label>Temperature <input id=\"temperature\" type=\"number\" min=\"0\" step=\"0.1\" value=\"0\"></label>")
          .Append("<label>Top-k <input id=\"topk\" type=\"number\" min=\"0\" value=\"0\"></label>")
          .Append("<label>Seed <input id=\"seed\" type=\"number\" min=\"0\" value=\"0\"></label>")
          .Append("<button type=\"submit\">Generate</button></div>")
          .Append("<div class=\"genfeatures\"><div id=\"featurerows\"></div><label>Feature <input id=\"newfeature\" type=\"number\" min=\"0\" placeholder=\"id\"></label>")
          .Append("<button type=\"button\" id=\"addfeature\">Add feature</button></div></form>");
        sb.Append("<p class=\"status\" id=\"modelstatus\"></p><div class=\"gencols\">")
          .Append("<section class=\"card\"><h2>Unsteered</h2><div class=\"ctx play\" id=\"plain\"></div><h3>Text</h3><pre class=\"gentext\" id=\"generated\"></pre></section>")
          .Append("<section class=\"card\" id=\"steeredcol\" hidden><h2>Steered</h2><div class=\"ctx play\" id=\"steeredtokens\"></div><h3>Text</h3><pre class=\"gentext\" id=\"steered\"></pre></section>")
          .Append("</div></div>");
        var scripts = new List<string?>(ModelScripts(links));
        if (store != null && store.UnitCount(UnitKind.Feature) > 0) scripts.Insert(0, links.UnitsData(UnitKind.Feature));
        scripts.Add(links.Asset("generate.js"));
        Html.PageEnd(sb, links, [.. scripts]);
        return sb.ToString();
    }
}
