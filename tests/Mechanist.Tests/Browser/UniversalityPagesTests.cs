using Mechanist.Browser;
using Mechanist.Features;

namespace Mechanist.Tests.Browser;

/// <summary>
/// A/B matches and split families attached to a copy of the fixture's store (issue 15 item 5): the feature page's
/// best match and family lines, the A/B page served and exported.
/// </summary>
[Collection("browser")]
public class UniversalityPagesTests(BrowserFixture fx)
{
    [Fact]
    public async Task Matches_and_families_attached_to_a_store_show_on_its_pages_served_and_exported()
    {
        string store = AttachedStore.For(fx);
        string root = TestPaths.NewTempDir();

        using var opened = FeatureStore.Open(store);
        var attached = opened.Attachments;
        Assert.True(attached.HasAb);
        Assert.True(attached.HasSplits);
        int id = Enumerable.Range(0, opened.UnitCount(UnitKind.Feature)).First(i => attached.Match(i) != null && attached.Family(i) != null);
        var match = attached.Match(id)!;
        Assert.Equal(id, match.B);
        Assert.Equal(1f, match.Correlation, 3);
        Assert.Equal(opened.GetSummary(UnitKind.Feature, id).Explanation?.Text, match.BExplanation);

        await using var server = await BrowserServer.StartAsync(opened);
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        string page = await http.GetStringAsync($"/feature/{id}");
        Assert.Contains("id=\"abmatch\"", page);
        Assert.Contains($"B {id} <small>corr 1.00", page);
        Assert.Contains("id=\"splitfamily\"", page);
        Assert.Contains($"class=\"chip link on\" href=\"/feature/{id}\"", page);
        Assert.Contains("href=\"/ab\"", page); // the nav link
        string ab = await http.GetStringAsync("/ab");
        Assert.Contains("<table class=\"units sortable\" id=\"abtable\">", ab);
        Assert.Contains($"<td data-v=\"{id}\"><a href=\"/feature/{id}\">{id}</a></td>", ab);
        Assert.Contains("<figure class=\"hist ab\"><svg", ab);
        Assert.Contains("Median best corr., features", ab);

        string site = Path.Combine(root, "site");
        StaticExport.Export(store, site, IProgressReporter.None, modelPrecision: null);
        Assert.Contains("id=\"abtable\"", File.ReadAllText(Path.Combine(site, "ab.html")));
        string exported = File.ReadAllText(Path.Combine(site, "feature", $"{id}.html"));
        Assert.Contains("id=\"abmatch\"", exported);
        Assert.Contains("href=\"../ab.html\"", exported);
        Assert.Contains("id=\"splitfamily\"", exported);

        // The fixture's own store, with nothing attached, has no A/B page and no such lines.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await fx.Http.GetAsync("/ab")).StatusCode);
        Assert.DoesNotContain("abmatch", await fx.Http.GetStringAsync($"/feature/{id}"));
    }

    /// <summary>
    /// A store with one hand-made split family: feature 0's chain 0 ← 8#3 ← 4#1, its 25 children in a wider dictionary and
    /// its siblings (every other feature, all children of 8#3). The feature page lists at most 20 of each with "and N
    /// more" and links to the family's page, which draws every latent (served and exported).
    /// </summary>
    [Fact]
    public async Task A_feature_page_lists_its_family_bounded_and_links_to_the_family_tree()
    {
        string store = Path.Combine(TestPaths.NewTempDir(), "features");
        AttachedStore.Copy(fx.StoreDir, store);
        int width, siblings;
        using (var plain = FeatureStore.Open(store)) width = plain.UnitCount(UnitKind.Feature);
        siblings = width - 1;
        Assert.True(siblings > UniversalitySections.ListedRelatives, $"the fixture has {width} features");
        var members = new System.Text.Json.Nodes.JsonArray([
            Member(4, 1, null), Member(8, 3, (4, 1)),
            .. Enumerable.Range(0, width).Select(i => Member(width, i, (8, 3))),
            .. Enumerable.Range(100, 25).Select(i => Member(2 * width, i, (width, 0)))]);
        Directory.CreateDirectory(Path.Combine(store, StoreAttachments.SplitsFolder));
        File.WriteAllText(Path.Combine(store, StoreAttachments.SplitsFolder, "families.json"),
            new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["id"] = 0, ["size"] = members.Count, ["members"] = members }).ToJsonString());

        using var opened = FeatureStore.Open(store);
        await using var server = await BrowserServer.StartAsync(opened);
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        string page = await http.GetStringAsync("/feature/0");
        string family = page[page.IndexOf("id=\"splitfamily\"", StringComparison.Ordinal)..];
        family = family[..family.IndexOf("</div>", StringComparison.Ordinal)];
        Assert.Contains("<a href=\"/family/0\">Split family 0</a>", family);
        Assert.Contains($"{members.Count} latents", family);
        Assert.Matches($"class=\"chip link on\" href=\"/feature/0\"[^>]*>{width.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} #0</a>.*←.*>8 #3</span>.*←.*>4 #1</span>", family);
        Assert.Contains("and 5 more", family);                                  // 25 children, 20 listed
        Assert.Contains($"and {siblings - UniversalitySections.ListedRelatives} more", family);
        Assert.Equal(3 + 2 * UniversalitySections.ListedRelatives, System.Text.RegularExpressions.Regex.Matches(family, "class=\"chip").Count);
        Assert.DoesNotContain("#124", family);                                  // the weakest children are left to the family page

        string tree = await http.GetStringAsync("/family/0");
        Assert.Equal(members.Count, System.Text.RegularExpressions.Regex.Matches(tree, "<g class=\"node").Count);
        Assert.Contains("<a href=\"/feature/7\">", tree);                     // this store's latents link to their pages
        Assert.Contains("<a href=\"/family/0\">0</a>", await http.GetStringAsync("/families"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/family/1")).StatusCode);

        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Export(store, site, IProgressReporter.None, modelPrecision: null);
        Assert.Contains("<a href=\"../family/0.html\">Split family 0</a>", File.ReadAllText(Path.Combine(site, "feature", "0.html")));
        Assert.Contains("<a href=\"../feature/7.html\">", File.ReadAllText(Path.Combine(site, "family", "0.html")));
        Assert.Contains("href=\"family/0.html\"", File.ReadAllText(Path.Combine(site, "families.html")));
    }

    static System.Text.Json.Nodes.JsonObject Member(int width, int latent, (int Width, int Latent)? parent) => new()
    {
        ["width"] = width, ["latent"] = latent, ["density"] = 0.01, ["explanation"] = $"latent {latent} of {width}",
        ["parent"] = parent is { } p ? new System.Text.Json.Nodes.JsonArray(p.Width, p.Latent) : null,
        // Children of the page's feature: the larger the id, the weaker the sim, so the listed 20 are 100..119.
        ["parent_sim"] = parent is null ? null : 0.9 - latent / 1000.0,
    };
}
