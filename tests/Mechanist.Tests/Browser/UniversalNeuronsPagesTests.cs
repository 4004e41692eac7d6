using Mechanist.Browser;
using Mechanist.Cli.Commands;
using Mechanist.Features;
using Mechanist.Universality;
using static Mechanist.Tests.Browser.BrowserEndToEndTests;

namespace Mechanist.Tests.Browser;

/// <summary>
/// A universal-neurons run attached to a copy of the fixture's store (issue 16 item 7): the fixture's model against
/// itself (every neuron then has a perfect match in "seed 1"), with statistics and the entropy intervention. The
/// neuron pages and the universal-neurons page, served and exported, in Chromium.
/// </summary>
[Collection("browser")]
public class UniversalNeuronsPagesTests(BrowserFixture fx, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    static readonly object Gate = new();
    static string? _store;

    static string Store(BrowserFixture fx)
    {
        lock (Gate)
        {
            if (_store != null) return _store;
            string run = Path.GetDirectoryName(fx.StoreDir)!, root = TestPaths.NewTempDir();
            string store = Path.Combine(root, "features");
            Copy(fx.StoreDir, store);
            var (code, _, err) = CliRun.Capture(UniversalCommands.Create(), "universal", "neurons", "--models", Path.Combine(run, "model"), Path.Combine(run, "model"),
                "--data", Path.Combine(run, "tokens"), "--tokens", "2000", "--stats-tokens", "2000", "--intervention-tokens", "256", "--entropy-candidates", "2",
                "--features", store, "--out", Path.Combine(root, "un"));
            if (code != 0) throw new InvalidOperationException(err);
            return _store = store;
        }
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (string d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    [Fact]
    public async Task Universal_neurons_show_on_neuron_pages_and_their_own_page_served_and_exported()
    {
        using var store = FeatureStore.Open(Store(fx));
        var un = store.Attachments.Universal!;
        int neurons = store.UnitCount(UnitKind.Neuron);
        Assert.Equal(neurons, un.Rows.Count);
        Assert.All(un.Rows.Where(r => !double.IsNaN(r.MaxCorr[0])), r => Assert.Equal(1, r.MaxCorr[0], 3));
        int candidate = un.Entropy!.Units("candidate").First();

        await using var server = await BrowserServer.StartAsync(store);
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        string page = await http.GetStringAsync($"/neuron/{candidate}");
        Assert.Contains("id=\"universality\"", page);
        Assert.Contains("seed 1 <small>max corr 1.00", page);
        Assert.Contains("id=\"neuronfamily\"", page);
        Assert.Contains("id=\"intervention\"><svg", page);
        Assert.Contains("href=\"/universal\"", page);
        string all = await http.GetStringAsync("/universal");
        Assert.Contains("id=\"untable\"", all);
        Assert.Contains($"<a href=\"/neuron/{candidate}\">{candidate}</a>", all);
        Assert.Contains("Universal neurons per layer", all);
        Assert.Contains("id=\"entropy\"", all);

        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Export(store.Directory, site, IProgressReporter.None, modelPrecision: null);
        Assert.Contains("id=\"untable\"", File.ReadAllText(Path.Combine(site, "universal.html")));
        string exported = File.ReadAllText(Path.Combine(site, "neuron", $"{candidate}.html"));
        Assert.Contains("id=\"intervention\"", exported);
        Assert.Contains("href=\"../universal.html\"", exported);

        // The fixture's own store, with nothing attached, has no such page or lines.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await fx.Http.GetAsync("/universal")).StatusCode);
        Assert.DoesNotContain("id=\"universality\"", await fx.Http.GetStringAsync($"/neuron/{candidate}"));
    }

    [Fact]
    public async Task Universal_neurons_page_filters_and_links_to_neuron_pages_in_chromium_served_and_static()
    {
        using var store = FeatureStore.Open(Store(fx));
        var un = store.Attachments.Universal!;
        await using var server = await BrowserServer.StartAsync(store);
        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Export(store.Directory, site, IProgressReporter.None, modelPrecision: null);
        foreach (bool served in new[] { true, false })
        {
            var (page, requests) = await chromium.NewPage();
            await page.GotoAsync(served ? server.Address + "/" : new Uri(Path.Combine(site, "index.html")).AbsoluteUri);
            await page.ClickAsync("header.top nav a:has-text('Universal neurons')");
            await Navigated(page, served ? "**/universal" : "**/universal.html");
            var rows = page.Locator("#untable tbody tr");
            var visible = page.Locator("#untable tbody tr:not([hidden])");
            Assert.Equal(un.Rows.Count, await visible.CountAsync());
            Assert.Equal(un.Rows.Count(r => !double.IsNaN(r.Excess) && !double.IsNaN(r.Sparsity)), await page.Locator("#unscatter circle").CountAsync());
            Assert.Equal(un.Layers, await page.Locator("#unlayers rect").CountAsync());
            await page.CheckAsync("#unonly");
            Assert.Equal(un.Rows.Count(r => r.IsUniversal), await visible.CountAsync());
            await page.UncheckAsync("#unonly");
            string role = un.Rows.Select(r => r.Role).First(r => r.Length > 0).Split(';')[0];
            await page.FillAsync("#unfilter", role);
            Assert.Equal(un.Rows.Count(r => r.Role.Contains(role) || r.Family.Contains(role) || r.FamilyFeature.Contains(role)), await visible.CountAsync());
            await page.FillAsync("#unfilter", "");
            Assert.Equal(un.Rows.Count, await rows.CountAsync());
            await Shot(page, served ? "universal" : "static-universal");
            int candidate = un.Entropy!.Units("candidate").First();
            await page.Locator($"#untable tbody td a:text-is('{candidate}')").ClickAsync();
            await Navigated(page, served ? $"**/neuron/{candidate}" : $"**/neuron/{candidate}.html");
            Assert.Contains("seed 1", await page.Locator("#universality").InnerTextAsync());
            Assert.True(await page.Locator("#intervention svg polyline").CountAsync() > 1, "the intervention plot is drawn");
            await Shot(page, served ? "neuron-universal" : "static-neuron-universal");
            if (served) AllLocal(requests, server.Address);
            await page.CloseAsync();
        }
    }
}
