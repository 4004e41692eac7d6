using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Circuits;
using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// A task's circuit page (docs/METHODS.md §6.5–6.6), from a report attached with <c>circuit prune --features</c>: the
/// sizes and losses, the loss-vs-k plot, the seven controls, the kept nodes by layer and site, each detailed node's
/// top-activating tokens on the task prompts and ablation effect, and the edges with their weights.
/// </summary>
static class CircuitPage
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    const int MaxEdges = 300;

    /// <summary>The index's list of attached circuit pages (nothing when none is attached).</summary>
    public static void IndexCard(StringBuilder sb, FeatureStore store, Links links)
    {
        var circuits = store.Attachments.Circuits;
        if (circuits.Count == 0) return;
        sb.Append("<section class=\"card\" id=\"circuits\"><h2>Task circuits</h2><ul>");
        foreach (var c in circuits)
            sb.Append("<li><a href=\"").Append(Html.E(links.Circuit(c.Task))).Append("\">").Append(Html.E(c.Task)).Append("</a> <span class=\"muted\">")
              .Append(Html.E($"{c.Json["nodes"]} nodes, {c.Json["edges"]} edges, loss {F(c.Json["loss_pruned"])}")).Append("</span></li>");
        sb.Append("</ul></section>");
    }

    public static string Render(FeatureStore store, Links links, CircuitReport report)
    {
        var r = report.Json;
        var c = r["controls"]!;
        var sb = new StringBuilder(64 * 1024);
        Html.PageStart(sb, links, $"Circuit: {report.Task}", store, "circuit");
        sb.Append("<section class=\"intro\"><h1>Circuit: ").Append(Html.E(report.Task)).Append("</h1><p class=\"muted\">Cue: ").Append(Html.E((string?)r["cue"]))
          .Append(". Answers ‘").Append(Html.E(Html.TokenText((string?)r["target"] ?? ""))).Append("’ vs ‘").Append(Html.E(Html.TokenText((string?)r["alternative"] ?? "")))
          .Append("’. Losses are per prompt (nats); pruned nodes are ").Append(Html.E("mean-ablated over " + c["ablation"]?["mean_tokens"] + " tokens of " + c["ablation"]?["means_from"]))
          .Append(".</p>");
        if (store.Attachments.Circuits.Count > 1)
        {
            sb.Append("<p>Other tasks: ");
            sb.Append(string.Join(" · ", store.Attachments.Circuits.Where(o => o.Task != report.Task)
                .Select(o => $"<a href=\"{Html.E(links.Circuit(o.Task))}\">{Html.E(o.Task)}</a>")));
            sb.Append("</p>");
        }
        sb.Append("</section><section class=\"card\"><dl class=\"stats\" id=\"sizes\">");
        Stat(sb, "Nodes kept", $"{r["nodes"]} of {r["nodes_total"]}");
        Stat(sb, "Edges", $"{r["edges"]}");
        Stat(sb, "Loss unpruned", F(r["loss_unpruned"]));
        Stat(sb, "Loss pruned", F(r["loss_pruned"]));
        Stat(sb, "After logit fit", F(r["loss_pruned_calibrated"]));
        Stat(sb, "Target loss", $"{F(r["target_loss"])} ({((bool?)r["reached_target"] == true ? "reached" : "not reached")})");
        sb.Append("</dl>");
        if (report.SweepSvg.Contains("<svg", StringComparison.Ordinal))
            sb.Append("<figure class=\"hist sweep\">").Append(report.SweepSvg[report.SweepSvg.IndexOf("<svg", StringComparison.Ordinal)..]).Append("</figure>");
        sb.Append("</section>");

        Controls(sb, c);
        Sites(sb, r["circuit"]!["sites"]!.AsArray());
        Nodes(sb, r["circuit"]!["nodes"]!.AsArray());
        Edges(sb, r["circuit"]!["edges"]!.AsArray());
        Html.PageEnd(sb, links);
        return sb.ToString();
    }

    static void Controls(StringBuilder sb, JsonNode c)
    {
        sb.Append("<section class=\"card\"><h2>Faithfulness controls</h2><table class=\"units\" id=\"controls\"><thead><tr><th>Control</th><th>Result</th></tr></thead><tbody>");
        void Row(string name, string result) => sb.Append("<tr><td>").Append(Html.E(name)).Append("</td><td>").Append(Html.E(result)).Append("</td></tr>");
        string Size(JsonNode? s) => s is null ? "–" : $"{s["nodes"]} nodes, {s["edges"]} edges, loss {F(s["loss_pruned"])} (unpruned {F(s["loss_unpruned"])}){((bool?)s["reached_target"] == true ? "" : ", target not reached")}";
        Row("1. Random model (weights shuffled)", Size(c["random_model"]) + $"; loss at the circuit's k {F(c["random_model"]?["loss_at_circuit_k"])}");
        Row("2. Nonsense task (answers permuted)", Size(c["nonsense_task"]) + $"; held-out loss {F(c["nonsense_task"]?["loss_held_out"])}");
        var a = c["ablation"];
        Row("3. Zero vs mean ablation", $"mean: {a?["mean"]?["nodes"]} nodes, loss {F(a?["mean"]?["loss_pruned"])}; zero: {a?["zero"]?["nodes"]} nodes, loss {F(a?["zero"]?["loss_pruned"])}; the mean circuit zero-ablated: {F(a?["zero"]?["loss_of_mean_circuit_zero_ablated"])}");
        var h = c["held_out"];
        Row("4. Held-out prompts", $"{h?["prompts"]} prompts: unpruned loss {F(h?["loss_unpruned"])} (accuracy {P(h?["accuracy_unpruned"])}), circuit {F(h?["loss_pruned"])} ({P(h?["accuracy_pruned"])})");
        var n = c["frozen_norms"];
        Row("5. Hard masks, frozen norms", $"circuit loss with live norms {F(n?["loss_pruned_live_norms"])}, frozen {F(n?["loss_pruned_frozen_norms"])}; pruned with the other setting: {Size(n?["other_setting"])}");
        var k = c["completeness"];
        Row("6. Completeness", $"without the circuit: loss {F(k?["loss_without_circuit"])}, accuracy {P(k?["accuracy_without_circuit"])} ({((bool?)k?["breaks_task"] == true ? "task broken" : "task not broken")}; chance {F(k?["chance_loss"])})");
        var e = c["equal_loss"];
        Row("7. Sizes at equal loss", $"{e?["note"]}; reached the target: {string.Join(", ", e?["comparable"]?.AsArray().Select(x => (string?)x) ?? [])}");
        sb.Append("</tbody></table></section>");
    }

    static void Sites(StringBuilder sb, JsonArray sites)
    {
        sb.Append("<section class=\"card\"><h2>Kept nodes by layer and site</h2><table class=\"units\" id=\"sites\"><thead><tr><th>Site</th><th>Hook</th><th>Kept</th></tr></thead><tbody>");
        foreach (var s in sites)
            sb.Append("<tr").Append((int)s!["kept"]! > 0 ? "" : " class=\"dead\"").Append("><td>").Append(Html.E((string?)s["site"])).Append("</td><td>").Append(Html.E((string?)s["hook"]))
              .Append("</td><td>").Append(s["kept"]).Append(" / ").Append(s["width"]).Append("</td></tr>");
        sb.Append("</tbody></table></section>");
    }

    static void Nodes(StringBuilder sb, JsonArray nodes)
    {
        sb.Append("<section class=\"card\"><h2>Nodes</h2><p class=\"muted\">Highest τ first. Top tokens: the unpruned model's largest activations of the node on the task prompts, ")
          .Append("with the text before each. Ablation effect: the circuit's loss change when this node alone is ablated from it.</p>")
          .Append("<table class=\"units\" id=\"nodes\"><thead><tr><th>Node</th><th>τ</th><th>Ablation effect</th><th>Top tokens</th></tr></thead><tbody>");
        foreach (var n in nodes)
        {
            sb.Append("<tr><td>").Append(Html.E((string?)n!["name"])).Append("</td><td>").Append(F(n["tau"])).Append("</td><td>").Append(Signed(n["ablation_effect"])).Append("</td><td>");
            foreach (var t in n["top"]!.AsArray())
                sb.Append("<span class=\"tok\" title=\"").Append(Html.E((string?)t!["before"])).Append("\">").Append(Html.E(Html.TokenText((string?)t["token"] ?? "")))
                  .Append("</span> <span class=\"muted\">").Append(F(t["value"])).Append("</span> ");
            sb.Append("</td></tr>");
        }
        sb.Append("</tbody></table></section>");
    }

    static void Edges(StringBuilder sb, JsonArray edges)
    {
        sb.Append("<section class=\"card\"><h2>Edges</h2><p class=\"muted\">Nonzero weights between kept nodes, largest |weight| first")
          .Append(edges.Count > MaxEdges ? $" (the first {MaxEdges} of {edges.Count})" : "").Append(".</p>")
          .Append("<table class=\"units\" id=\"edges\"><thead><tr><th>From</th><th>To</th><th>Weight</th></tr></thead><tbody>");
        foreach (var e in edges.Take(MaxEdges))
            sb.Append("<tr><td>").Append(Html.E((string?)e!["from"])).Append("</td><td>").Append(Html.E((string?)e["to"])).Append("</td><td>").Append(Signed(e["weight"])).Append("</td></tr>");
        sb.Append("</tbody></table></section>");
    }

    static void Stat(StringBuilder sb, string label, string value) =>
        sb.Append("<div><dt>").Append(Html.E(label)).Append("</dt><dd>").Append(Html.E(value)).Append("</dd></div>");

    static string F(JsonNode? v) => v is null ? "–" : ((double)v).ToString("0.000", Inv);
    static string Signed(JsonNode? v) => v is null ? "–" : ((double)v).ToString("+0.000;−0.000;0.000", Inv);
    static string P(JsonNode? v) => v is null ? "–" : ((double)v).ToString("P0", Inv);
}
