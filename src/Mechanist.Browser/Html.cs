using System.Globalization;
using System.Text;
using Mechanist.Features;
using Mechanist.Plots;

namespace Mechanist.Browser;

/// <summary>Small helpers for writing HTML by hand: escaping, number formats, the page shell, token spans.</summary>
static class Html
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public const int ShadeLevels = 20;

    static readonly System.Buffers.SearchValues<char> Special = System.Buffers.SearchValues.Create("<>&\"'");

    /// <summary>Escapes the five characters that matter in HTML text and attributes; everything else stays UTF-8.</summary>
    public static string E(string? s)
    {
        if (string.IsNullOrEmpty(s) || s.AsSpan().IndexOfAny(Special) < 0) return s ?? "";
        var sb = new StringBuilder(s.Length + 16);
        foreach (char c in s)
            sb.Append(c switch { '<' => "&lt;", '>' => "&gt;", '&' => "&amp;", '"' => "&quot;", '\'' => "&#39;", _ => c.ToString() });
        return sb.ToString();
    }

    public static string Num(float v, string format = "G4") => v.ToString(format, Inv);

    /// <summary>
    /// A histogram as an inline SVG figure drawn on the server (no script needed, identical in the static export),
    /// styled by the page's <c>figure.hist</c> rules.
    /// </summary>
    /// <param name="signed">Colour bars left of zero blue and right of zero orange (logit effects).</param>
    /// <param name="axisLabel">Formats an x-axis value for the tick labels.</param>
    public static void Histogram(StringBuilder sb, Histogram h, string title, string cssClass, bool signed = false,
        Func<double, string>? axisLabel = null)
    {
        sb.Append("<figure class=\"hist ").Append(cssClass).Append("\">");
        new HistogramChart(title, h.Min, h.BinWidth, h.Counts) { Signed = signed, AxisLabel = axisLabel ?? (v => Num((float)v, "G3")) }.AppendSvg(sb);
        sb.Append("</figure>");
    }

    /// <summary>Density as a percentage with three significant digits, e.g. "0.0123%".</summary>
    public static string Density(float d) => d <= 0 ? "0%" : (d * 100).ToString("G3", Inv) + "%";

    /// <summary>A token as it should appear in a context: whitespace made visible where it would vanish.</summary>
    public static string TokenText(string token) => token.Length == 0 ? "∅" : token.Replace("\n", "↵").Replace("\t", "⇥").Replace("\r", "");

    /// <summary>A token shown on its own (tables, chips): leading/trailing spaces shown as "·".</summary>
    public static string TokenLabel(string token)
    {
        string t = TokenText(token);
        int lead = t.Length - t.TrimStart(' ').Length, trail = t.TrimStart(' ').Length - t.Trim(' ').Length;
        string core = t.Trim(' ');
        return core.Length == 0 ? new string('·', Math.Max(1, t.Length)) : new string('·', lead) + core + new string('·', trail);
    }

    /// <summary>
    /// One token window, each non-zero token shaded by activation relative to <paramref name="scale"/> (orange
    /// for positive, blue for negative) with the value in a tooltip; the window's focus token (or else its
    /// strongest) is outlined.
    /// </summary>
    public static void Context(StringBuilder sb, ActivationRecord record, float scale)
    {
        int best = record.Position;
        if (best < 0)
            for (int i = 0; i < record.Activations.Length; i++)
                if (record.Activations[i] > 0 && (best < 0 || record.Activations[i] > record.Activations[best])) best = i;
        sb.Append("<div class=\"ctx\">");
        var tokens = new string[record.TokenIds.Length];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i < record.Tokens.Length ? record.Tokens[i] : record.TokenIds[i].ToString(Inv);
        // A character split over tokens reads as the character (on the token that completes it); the tooltip shows the token alone.
        var shown = Mechanist.Text.TokenDisplay.InContext(tokens);
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            float a = record.Activations[i];
            if (a == 0)
            {
                // Most tokens of a window are zero: plain text keeps big pages small (a static export has one per unit).
                sb.Append(E(TokenText(shown[i])));
                continue;
            }
            // Shade in 20 steps by CSS class (site.css: .a1–.a20 orange, .n1–.n20 blue) rather than inline styles: half the bytes.
            int level = scale > 0 ? Math.Clamp((int)MathF.Round(MathF.Abs(a) / scale * ShadeLevels), 1, ShadeLevels) : ShadeLevels;
            sb.Append("<span class=\"tok ").Append(a > 0 ? 'a' : 'n').Append(level).Append(i == best ? " max" : "").Append("\" title=\"")
              .Append(E(TokenLabel(token))).Append(": ").Append(Inv, $"{a:G4}").Append("\">").Append(E(TokenText(shown[i]))).Append("</span>");
        }
        sb.Append("</div>");
    }

    /// <param name="store">The feature store the site shows; null for a page with only the model (`export-web`).</param>
    public static void PageStart(StringBuilder sb, Links links, string title, FeatureStore? store, string active)
    {
        sb.Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<title>").Append(E(title)).Append(" · Mechanist</title>")
          .Append("<link rel=\"stylesheet\" href=\"").Append(links.Asset("site.css")).Append("\"></head>\n<body>")
          .Append("<header class=\"top\"><a class=\"brand\" href=\"").Append(links.Index(UnitKind.Feature)).Append("\">Mechanist</a><nav>");
        void Nav(string key, string label, string href) =>
            sb.Append("<a href=\"").Append(href).Append('"').Append(key == active ? " class=\"on\"" : "").Append('>').Append(label).Append("</a>");
        if (store != null) Nav("feature", "Features", links.Index(UnitKind.Feature));
        if (store?.UnitCount(UnitKind.Neuron) > 0) Nav("neuron", "Neurons", links.Index(UnitKind.Neuron));
        if (store != null && links.Playground != "") Nav("playground", "Playground", links.Playground);
        if (links.Generate != "") Nav("generate", "Generate", links.Generate);
        if (store?.Attachments.HasAb == true) Nav("ab", "A/B", links.Ab);
        if (store?.Attachments.Universal != null) Nav("universal", "Universal neurons", links.Universal);
        if (store?.Attachments.HasSplits == true) Nav("families", "Families", links.Families);
        if (store?.Attachments.MapFile != null) Nav("map", "Map", links.Map);
        if (store?.Attachments.Circuits.Count > 0) Nav("circuit", "Circuits", links.Circuit(store.Attachments.Circuits[0].Task));
        sb.Append("</nav><span class=\"source\">");
        if (store == null) { sb.Append("</span></header>\n<main>"); return; }
        var src = store.Source;
        var parts = new[] { src.Model, src.Sae, src.Hook }.Where(s => !string.IsNullOrEmpty(s)).Select(E);
        sb.Append(string.Join(" · ", parts));
        if (src.TokensAnalysed > 0) sb.Append(" · ").Append(src.TokensAnalysed.ToString("N0", Inv)).Append(" tokens");
        sb.Append("</span></header>\n<main>");
    }

    /// <param name="extraScripts">Script addresses loaded, in order, before site.js.</param>
    /// <summary>Ends a page whose attachment is missing with one card that says how to make it (the message is trusted text, not escaped).</summary>
    public static string NothingAttached(StringBuilder sb, Links links, string message)
    {
        sb.Append("<section class=\"card\"><p>").Append(message).Append("</p></section>");
        PageEnd(sb, links);
        return sb.ToString();
    }

    public static void PageEnd(StringBuilder sb, Links links, params string?[] extraScripts)
    {
        sb.Append("</main><div id=\"hover\" class=\"hover\" hidden></div>");
        foreach (string? script in extraScripts)
            if (script != null) sb.Append("<script src=\"").Append(E(script)).Append("\"></script>");
        sb.Append("<script src=\"").Append(links.Asset("site.js")).Append("\"></script></body></html>\n");
    }
}
