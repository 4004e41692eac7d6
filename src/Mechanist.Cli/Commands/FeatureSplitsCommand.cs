using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mechanist.Universality;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist features splits`: how features split as the dictionary grows (docs/METHODS.md §3.5).</summary>
static class FeatureSplitsCommand
{
    public static Command Create()
    {
        var saes = new Option<string[]>("--sae") { Description = "Dictionaries of different widths that read the same hook (e.g. the folders `sae train --width 512,1024,2048` wrote), or one folder holding them.", Required = true, AllowMultipleArgumentsPerToken = true };
        var acts = new Option<string>("--acts") { Description = "The activation store or [N, d] .npy the dictionaries read.", Required = true };
        var tokens = new Option<long?>("--tokens") { Description = "Rows to read (default: all)." };
        var threshold = new Option<double>("--threshold") { Description = "An edge where sim = max(mc(a→b), mc(b→a)) exceeds this (the paper: 0.4).", DefaultValueFactory = _ => 0.4 };
        var minDensity = new Option<double>("--min-density") { Description = "Leave out ultralow latents firing on fewer than this fraction of tokens.", DefaultValueFactory = _ => 1e-5 };
        var families = new Option<string>("--families")
        {
            Description = "How edges make families. tree (default): each latent keeps only its best parent, the latent of the next smaller width it is most similar to " +
                "(above --threshold), so families are trees rooted at the smallest width where they appear, as the paper draws them. components: every edge joins, " +
                "so families are connected components (on dictionaries whose latents often fire together this chains nearly everything into one family). " +
                "splits.csv lists every edge either way.",
            DefaultValueFactory = _ => "tree",
        };
        families.AcceptOnlyFromAmong("tree", "components");
        var pictures = new Option<int>("--pictures") { Description = "Draw this many of the largest families as trees across widths (families/family-ID.svg: each latent's id and the start of its explanation).", DefaultValueFactory = _ => 10 };
        var features = new Option<string[]>("--features") { Description = "Feature stores of the dictionaries (any order), their explanations go into families.json and the report, and the families are attached to each store (STORE/splits/) so its feature pages show them.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Output folder: splits.csv (every edge), families.json (each latent with its best parent), families/family-ID.svg, summary.json, map.json (the feature map's neighbour graph), manifest.json.", Required = true };
        var top = new Option<int>("--top") { Description = "Families to print.", DefaultValueFactory = _ => 5 };
        var force = new Option<bool>("--force") { Description = "Replace existing output." };
        var json = new Option<bool>("--json") { Description = "Print summary.json instead of the report." };
        var cmd = new Command("splits",
            "Feature splitting across dictionary widths (Towards Monosemanticity; docs/METHODS.md §3.5): between each dictionary and the next larger, " +
            "mc(a→b) is the cosine of the two latents' activations on the tokens where a fires; an edge joins a and b where max(mc(a→b), mc(b→a)) > 0.4. " +
            "Each latent keeps its best parent (the most similar latent of the next smaller width above 0.4), so families are trees across widths " +
            "(e.g. one base64 feature → 3 → more); --families components joins along every edge instead. The largest families are drawn as SVG trees. " +
            "It also writes map.json, the 15 nearest decoder directions (cosine) of every live latent of all the dictionaries together; " +
            "with --features the browser of each store gets a Map page that lays them out with UMAP (min_dist 0.05) in the page, coloured by width " +
            "(the layout runs in the reader's browser: 3,000 points took half a minute on a busy 2-core machine; 30,000 take minutes). Example:\n" +
            "  mechanist sae train --acts run/acts --width 512,1024,2048,4096 --out run/sae\n" +
            "  mechanist features splits --sae run/sae --acts run/acts --out run/splits")
            { saes, acts, tokens, threshold, minDensity, families, pictures, features, output, top, force, json };
        return cmd.WithAction((parse, cancel) =>
        {
            string outDir = parse.GetValue(output)!;
            var r = FeatureSplitsStage.Run(new FeatureSplitsOptions
            {
                Saes = parse.GetValue(saes)!, Acts = parse.GetValue(acts)!, Tokens = parse.GetValue(tokens), Threshold = parse.GetValue(threshold),
                MinDensity = parse.GetValue(minDensity),
                Rule = parse.GetValue(families) == "components" ? SplitFamilyRule.Components : SplitFamilyRule.Tree, Pictures = parse.GetValue(pictures), Features = parse.GetValue(features) ?? [], OutDir = outDir, Force = parse.GetValue(force),
            }, ConsoleProgress.Instance, cancel);
            if (parse.GetValue(json)) { Console.WriteLine(r.Summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true })); return 0; }
            var graph = r.Graph;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"{Path.Combine(outDir, SplitGraphOutput.FamiliesFile)}: widths {string.Join(" → ", graph.Widths)} over {graph.Tokens:N0} tokens: {graph.Edges.Count:N0} edges, {graph.Families.Count:N0} families ({(graph.Rule == SplitFamilyRule.Tree ? "best-parent trees" : "connected components")})"));
            foreach (var f in graph.Families.Take(parse.GetValue(top)))
            {
                var members = SplitGraphOutput.Members(graph, f, (k, latent) => r.Explanations.GetValueOrDefault((k, latent)));
                var order = new Mechanist.Plots.SplitTreeChart("", graph.Widths, members).Order();
                Console.WriteLine(string.Create(inv, $"  {SplitGraphOutput.Title(graph, f)}"));
                foreach (var m in order.Take(12))
                    Console.WriteLine(string.Create(inv, $"    {new string(' ', 2 * Array.IndexOf(graph.Widths, m.Width))}w{m.Width}#{m.Latent} (density {m.Density:E1}{(m.Parent != null ? $", sim {m.ParentSimilarity:0.00}" : "")}){(m.Explanation != null ? ": " + m.Explanation : "")}"));
                if (order.Count > 12) Console.WriteLine($"    … {order.Count - 12} more");
            }
            if (r.Summary["pictures"] is System.Text.Json.Nodes.JsonArray { Count: > 0 } drawn)
                Console.WriteLine($"  pictures: {Path.Combine(outDir, SplitGraphOutput.PicturesFolder)}/ ({drawn.Count} largest families)");
            return 0;
        });
    }
}
