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
}
