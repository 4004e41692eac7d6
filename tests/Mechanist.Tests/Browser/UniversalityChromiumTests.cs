using Mechanist.Browser;
using Mechanist.Features;
using Microsoft.Playwright;
using static Mechanist.Tests.Browser.BrowserEndToEndTests;

namespace Mechanist.Tests.Browser;

/// <summary>
/// The A/B page, a feature page's best match, its split family (bounded lines, then the family's tree page) and the feature map in Chromium (issue 15 items 4, 5), served and from the
/// static export over file://, on the store of <see cref="AttachedStore"/> (every live feature matches itself).
/// </summary>
[Collection("browser")]
public class UniversalityChromiumTests(BrowserFixture fx, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    /// <summary>The A/B page sorts by A, opens the largest matched feature; its page shows the match and its family, whose chip links back.</summary>
    async Task AbPageThenFeature(IPage page, FeatureStore store, string featureGlob, Func<int, string> featurePath)
    {
        var attached = store.Attachments;
        var rows = page.Locator("#abtable tbody tr");
        Assert.Equal(attached.Matches.Count, await rows.CountAsync());
        Assert.True(await page.Locator("figure.hist.ab svg rect").CountAsync() > 1, "the features-vs-neurons histogram is drawn");
        // Sorted by correlation first; one click on "A feature" sorts by A, largest first.
        await page.ClickAsync("#abtable th:has-text('A feature')");
        int largest = attached.Matches.Max(m => m.A);
        Assert.Equal(largest.ToString(), await rows.First.Locator("td").First.InnerTextAsync());
        await page.ClickAsync("#abtable th:has-text('A feature')");
        int smallest = attached.Matches.Min(m => m.A);
        Assert.Equal(smallest.ToString(), await rows.First.Locator("td").First.InnerTextAsync());

        int id = attached.Matches.Select(m => m.A).Where(a => attached.Family(a) != null).Min();
        await page.Locator($"#abtable tbody td a:text-is('{id}')").ClickAsync();
        await Navigated(page, featurePath(id));
        Assert.Equal($"Feature {id}", await page.Locator("h1").InnerTextAsync());
        string match = await page.Locator("#abmatch").InnerTextAsync();
        Assert.Contains($"B {id}", match);
        Assert.Contains("corr 1.00", match);
        if (attached.Match(id)!.BExplanation is string explanation) Assert.Contains(explanation, match);

        var (family, members) = attached.Family(id)!.Value;
        var line = page.Locator("#splitfamily");
        Assert.Contains($"Split family {family}", await line.InnerTextAsync());
        // The parent chain: this latent (a link, marked), then each parent at a smaller width, its explanation or density on hover.
        var byNode = members.ToDictionary(m => (m.Width, m.Latent));
        int chain = 1;
        for (var m = byNode[(attached.Width, id)]; m.Parent is { } p && byNode.TryGetValue(p, out var up); m = up) chain++;
        Assert.Equal(chain, await line.Locator("#splitparents .chip").CountAsync());
        Assert.EndsWith($"#{id}", await line.Locator("#splitparents a.chip.link.on").InnerTextAsync());
        if (chain > 1) Assert.False(string.IsNullOrEmpty(await line.Locator("#splitparents span.chip").First.GetAttributeAsync("title")));
        int shown = await line.Locator(".chip").CountAsync();
        Assert.InRange(shown, chain, chain + 2 * UniversalitySections.ListedRelatives);
        await Shot(page, featureGlob.Contains("html") ? "static-feature-ab" : "feature-ab");

        // The family's page draws its whole tree; this latent's node links back to its page.
        await line.Locator(".label a").ClickAsync();
        await Navigated(page, featureGlob.Contains("html") ? $"**/family/{family}.html" : $"**/family/{family}");
        Assert.Equal($"Split family {family}", await page.Locator("h1").InnerTextAsync());
        var nodes = page.Locator("#familytree g.node");
        Assert.Equal(members.Count, await nodes.CountAsync());
        Assert.Equal(members.Count(m => m.Width == attached.Width), await page.Locator("#familytree g.node a").CountAsync());
        Assert.Equal(members.Count(m => m.Parent != null), await page.Locator("#familytree path.edge").CountAsync());
        await Shot(page, featureGlob.Contains("html") ? "static-family" : "family");
        await page.Locator($"#familytree g.node[data-width='{attached.Width}'][data-latent='{id}'] a").ClickAsync();
        await Navigated(page, featurePath(id));
        Assert.Equal($"Feature {id}", await page.Locator("h1").InnerTextAsync());

        await page.Locator("#abmatch .label a").ClickAsync();
        await Navigated(page, featureGlob.Contains("html") ? "**/ab.html" : "**/ab");
        Assert.Equal("A/B universality", await page.Locator("h1").InnerTextAsync());
    }

    /// <summary>The map lays out every point of the attached map.json, shows an explanation on hover, opens a feature page on click.</summary>
    static async Task MapThenFeature(IPage page, FeatureStore store, Func<string, string> featureGlob, string shot)
    {
        await page.WaitForSelectorAsync("#map[data-ready='1']", new PageWaitForSelectorOptions { Timeout = 60_000 });
        var map = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(store.Attachments.MapFile!))!;
        var points = map["points"]!.AsArray();
        Assert.True(points.Count > 15, $"{points.Count} points");
        Assert.Equal(points.Count, await page.Locator("#map circle.pt").CountAsync());
        int width = store.UnitCount(UnitKind.Feature);
        Assert.Equal(points.Count(p => (int)p![0]! == width), await page.Locator("#map circle.pt.link").CountAsync());
        Assert.Equal(map["widths"]!.AsArray().Count, await page.Locator("#maplegend .item").CountAsync());
        // Points are spread over the plot, not collapsed on one spot.
        var xs = await page.Locator("#map circle.pt").EvaluateAllAsync<double[]>("cs => cs.map(c => Number(c.getAttribute('cx')))");
        Assert.True(xs.Max() - xs.Min() > 500, $"x from {xs.Min()} to {xs.Max()}");

        var point = page.Locator("#map circle.pt.link").Last; // drawn last: on top, nothing covers it
        string latent = (await point.GetAttributeAsync("data-latent"))!;
        await point.HoverAsync();
        var hover = page.Locator("#hover");
        await hover.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        string text = await hover.InnerTextAsync();
        Assert.Contains($"latent {latent}", text);
        if (store.GetSummary(UnitKind.Feature, int.Parse(latent)).Explanation?.Text is string explanation) Assert.Contains(explanation, text);
        await Shot(page, shot);
        await point.ClickAsync();
        await Navigated(page, featureGlob(latent));
        Assert.Equal($"Feature {latent}", await page.Locator("h1").InnerTextAsync());
    }

    [Fact]
    public async Task Ab_page_best_match_split_family_and_map_work_served_in_chromium()
    {
        using var store = FeatureStore.Open(AttachedStore.For(fx));
        await using var server = await BrowserServer.StartAsync(store);
        var (page, requests) = await chromium.NewPage();
        await page.GotoAsync(server.Address + "/");
        await page.ClickAsync("header.top nav a:has-text('A/B')");
        await Navigated(page, "**/ab");
        await Shot(page, "ab");
        await AbPageThenFeature(page, store, "**/feature/*", id => $"**/feature/{id}");
        await page.ClickAsync("header.top nav a:has-text('Map')");
        await Navigated(page, "**/map");
        await MapThenFeature(page, store, id => $"**/feature/{id}", "map");
        AllLocal(requests, server.Address);
    }

    [Fact]
    public async Task Ab_page_best_match_split_family_and_map_work_from_the_static_export()
    {
        string storeDir = AttachedStore.For(fx);
        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Export(storeDir, site, IProgressReporter.None, modelPrecision: null);
        using var store = FeatureStore.Open(storeDir);
        var (page, requests) = await chromium.NewPage();
        await page.GotoAsync(new Uri(Path.Combine(site, "index.html")).AbsoluteUri);
        await page.ClickAsync("header.top nav a:has-text('A/B')");
        await Navigated(page, "**/ab.html");
        await Shot(page, "static-ab");
        await AbPageThenFeature(page, store, "**/feature/*.html", id => $"**/feature/{id}.html");
        await page.ClickAsync("header.top nav a:has-text('Map')");
        await Navigated(page, "**/map.html");
        await MapThenFeature(page, store, id => $"**/feature/{id}.html", "static-map");
        AllLocal(requests, "file://");
    }
}
