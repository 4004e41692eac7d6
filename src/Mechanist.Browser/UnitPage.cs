using System.Text;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// One feature's (or neuron's) page, docs/METHODS.md §3.2: header (density, max, explanation, nearest units),
/// activation histogram, logit effects (table and histogram), top activations, interval samples.
/// </summary>
static class UnitPage
{
    public static string Render(FeatureStore store, Links links, UnitKind kind, int id)
    {
        var u = store.GetUnit(kind, id);
        string name = (kind == UnitKind.Feature ? "Feature " : "Neuron ") + id;
        var sb = new StringBuilder(32 * 1024);
        Html.PageStart(sb, links, name, store, kind.Name());

        sb.Append("<section class=\"head\"><div class=\"title\"><h1>").Append(name).Append("</h1>");
        sb.Append("<nav class=\"step\">");
        if (id > 0) sb.Append("<a href=\"").Append(links.Unit(kind, id - 1)).Append("\" rel=\"prev\">← ").Append(id - 1).Append("</a>");
        if (id + 1 < store.UnitCount(kind)) sb.Append("<a href=\"").Append(links.Unit(kind, id + 1)).Append("\" rel=\"next\">").Append(id + 1).Append(" →</a>");
        sb.Append("</nav></div>");
        sb.Append("<dl class=\"stats\"><div><dt>Density</dt><dd id=\"density\">").Append(Html.Density(u.Density));
        if (u.Density > 0) sb.Append(" <small>(10<sup>").Append(Html.Num(MathF.Log10(u.Density), "0.00")).Append("</sup>)</small>");
        sb.Append("</dd></div><div><dt>Max activation</dt><dd>").Append(Html.Num(u.MaxActivation, "0.000"))
          .Append("</dd></div><div><dt>Mean (non-zero)</dt><dd>").Append(Html.Num(u.MeanActivation, "0.000")).Append("</dd></div>");
        if (u.Explanation?.Score is float score)
            sb.Append("<div><dt>Explanation score</dt><dd>").Append(Html.Num(score, "0.00")).Append("</dd></div>");
        sb.Append("</dl>");
        if (u.Explanation is { } e)
        {
            sb.Append("<blockquote class=\"explanation\" id=\"explanation\">").Append(Html.E(e.Text));
            var detail = e.Scores.Select(p => $"{p.Key} {Html.Num(p.Value, "0.00")}").ToList();
            if (e.Explainer != null) detail.Add("by " + e.By);
            if (detail.Count > 0) sb.Append("<footer>").Append(Html.E(string.Join(" · ", detail))).Append("</footer>");
            sb.Append("</blockquote>");
            OtherExplanations(sb, u.Explanations);
        }
        else sb.Append("<p class=\"muted explanation none\">No explanation yet (`mechanist explain` writes them).</p>");
        if (u.Nearest.Length > 0)
        {
            sb.Append("<div class=\"nearest\"><span class=\"label\">Nearest ").Append(kind == UnitKind.Feature ? "features by decoder cosine" : "neurons by weight cosine")
              .Append("</span>");
            foreach (var n in u.Nearest)
                sb.Append("<a class=\"chip link\" href=\"").Append(links.Unit(kind, n.Id)).Append("\">").Append(n.Id)
                  .Append(" <small>").Append(Html.Num(n.Cosine, "0.00")).Append("</small></a>");
            sb.Append("</div>");
        }
        if (kind == UnitKind.Feature) UniversalitySections.Append(sb, store, links, id);
        else UniversalitySections.AppendNeuron(sb, store, links, id);
        sb.Append("</section>");

        if (u.Density <= 0 && u.TopExamples.Length == 0)
        {
            sb.Append("<section class=\"card\"><h2>Never fired</h2><p>This ").Append(kind.Name()).Append(" was zero on every one of the ")
              .Append(store.Source.TokensAnalysed.ToString("N0")).Append(" tokens analysed: a dead unit.</p></section>");
            Html.PageEnd(sb, links);
            return sb.ToString();
        }

        sb.Append("<div class=\"grid\"><section class=\"card\"><h2>Activations</h2>");
        Html.Histogram(sb, u.ActivationHistogram, $"Non-zero activations · density {Html.Density(u.Density)}", "acts");
        sb.Append("</section><section class=\"card\"><h2>Logit effects <small>direct path, median-subtracted</small></h2>");
        LogitTable(sb, u.Logits);
        Html.Histogram(sb, u.Logits.Histogram, "Effect on every vocabulary logit", "logits", signed: true);
        sb.Append("</section></div>");
        if (u.Sources.Length > 0) SourceTable(sb, u.Sources);

        sb.Append("<section class=\"card\" id=\"top\"><h2>Top activations</h2>");
        Examples(sb, u.TopExamples, u.MaxActivation);
        sb.Append("</section>");

        if (u.Intervals.Length > 0)
        {
            sb.Append("<section class=\"card\" id=\"intervals\"><h2>Samples across the activation range</h2>");
            foreach (var iv in u.Intervals.Reverse())
            {
                sb.Append("<h3>").Append(Html.Num(iv.Lower, "0.00")).Append(" – ").Append(Html.Num(iv.Upper, "0.00"))
                  .Append(" <small>contains ").Append(Html.Num(iv.Fraction * 100, "0.##")).Append("% of non-zero activations</small></h3>");
                Examples(sb, iv.Examples, u.MaxActivation);
            }
            sb.Append("</section>");
        }
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    static void Examples(StringBuilder sb, ActivationRecord[] examples, float scale)
    {
        if (examples.Length == 0) { sb.Append("<p class=\"muted\">None.</p>"); return; }
        sb.Append("<div class=\"examples\">");
        foreach (var ex in examples)
        {
            float shown = ex.Position >= 0 ? ex.Activations[ex.Position] : ex.MaxActivation;
            sb.Append("<div class=\"example\"><span class=\"peak\">").Append(Html.Num(shown, "0.00")).Append("</span>");
            Html.Context(sb, ex, scale);
            sb.Append("</div>");
        }
        sb.Append("</div>");
    }

    /// <summary>Each source's share of the unit's activation mass beside its share of the analysed tokens (bars to scale).</summary>
    static void SourceTable(StringBuilder sb, SourceShare[] sources)
    {
        sb.Append("<section class=\"card\" id=\"sources\"><h2>Sources <small>share of this unit's activation mass vs share of the corpus</small></h2>")
          .Append("<table class=\"sources\"><thead><tr><th>source</th><th>activation mass</th><th class=\"num\">mass</th><th class=\"num\">corpus</th><th class=\"num\">ratio</th></tr></thead><tbody>");
        foreach (var s in sources)
        {
            sb.Append("<tr><td class=\"source\">").Append(Html.E(s.Label)).Append("</td><td class=\"bars\">")
              .Append("<div class=\"bar act\" style=\"width:").Append(Html.Num(s.ActivationShare * 100, "0.#")).Append("%\"></div>")
              .Append("<div class=\"bar corpus\" style=\"width:").Append(Html.Num(s.CorpusShare * 100, "0.#")).Append("%\"></div></td>")
              .Append("<td class=\"num\">").Append(Html.Num(s.ActivationShare * 100, "0.0")).Append("%</td>")
              .Append("<td class=\"num muted\">").Append(Html.Num(s.CorpusShare * 100, "0.0")).Append("%</td>")
              .Append("<td class=\"num\">").Append(s.CorpusShare > 0 ? "×" + Html.Num(s.ActivationShare / s.CorpusShare, "0.0#") : "–").Append("</td></tr>");
        }
        sb.Append("</tbody></table></section>");
    }

    static void LogitTable(StringBuilder sb, LogitEffects logits)
    {
        sb.Append("<table class=\"logits\"><thead><tr><th colspan=\"2\">Suppressed</th><th colspan=\"2\">Promoted</th></tr></thead><tbody>");
        int rows = Math.Max(logits.Top.Length, logits.Bottom.Length);
        for (int i = 0; i < rows; i++)
        {
            sb.Append("<tr>");
            Cell(sb, i < logits.Bottom.Length ? logits.Bottom[i] : null, "neg");
            Cell(sb, i < logits.Top.Length ? logits.Top[i] : null, "pos");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
    }

    static void Cell(StringBuilder sb, TokenValue? v, string cls)
    {
        if (v is null) { sb.Append("<td></td><td></td>"); return; }
        sb.Append("<td class=\"tokcell ").Append(cls).Append("\">").Append(Html.E(Html.TokenLabel(v.Token))).Append("</td><td class=\"num ").Append(cls)
          .Append("\">").Append(v.Value >= 0 ? "+" : "").Append(Html.Num(v.Value, "0.00")).Append("</td>");
    }

    /// <summary>Every other explainer run's explanation of the unit, with the scores that ranked them (the shown one is first).</summary>
    static void OtherExplanations(StringBuilder sb, IReadOnlyList<Explanation> all)
    {
        if (all.Count < 2) return;
        sb.Append("<details class=\"other-explanations\" id=\"other-explanations\" open><summary>Other explanations (").Append(all.Count - 1)
          .Append(")</summary><table><thead><tr><th>Explanation</th><th>by</th><th class=\"num\">simulation r</th><th class=\"num\">top-token r</th></tr></thead><tbody>");
        foreach (var e in all.Skip(1))
        {
            string Score(string name) => e.Scores.TryGetValue(name, out float v) ? Html.Num(v, "0.00") : "–";
            sb.Append("<tr><td class=\"expl\">").Append(Html.E(e.Text)).Append("</td><td>").Append(Html.E(e.By))
              .Append(e.Simulator is null ? "" : $" <small>(simulated by {Html.E(e.Simulator)})</small>")
              .Append("</td><td class=\"num\">").Append(e.Score is float sc ? Html.Num(sc, "0.00") : "–")
              .Append("</td><td class=\"num\">").Append(Score("top_token_pearson")).Append("</td></tr>");
        }
        sb.Append("</tbody></table></details>");
    }
}
