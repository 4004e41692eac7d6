using Mechanist.Browser;
using Mechanist.Cli.Commands;
using Mechanist.Features;
using Microsoft.Playwright;

namespace Mechanist.Tests.Browser;

/// <summary>
/// A circuit report attached to a copy of the fixture's store by `circuit prune --features` (issue 17 item 9): the index
/// links it, its page shows the sizes, the loss-vs-k plot, the seven controls, the sites, nodes and edges, served and as
/// a static export, in Chromium.
/// </summary>
[Collection("browser")]
public class CircuitPageTests(BrowserFixture fx, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (string d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    static async Task CircuitPageShows(IPage page)
    {
        Assert.Equal(7, await page.Locator("#controls tbody tr").CountAsync());
        string controls = await page.Locator("#controls").TextContentAsync() ?? "";
        Assert.Contains("Random model", controls);
        Assert.True(await page.Locator("figure.sweep svg polyline").CountAsync() == 2, "train and held-out curves of the loss-vs-k plot");
        Assert.True(await page.Locator("#sites tbody tr").CountAsync() > 5);
        Assert.True(await page.Locator("#nodes tbody tr").CountAsync() >= 1);
        Assert.Contains("Nodes kept", await page.Locator("#sizes").TextContentAsync());
    }

    [Fact]
    public async Task A_pruned_task_has_a_circuit_page_linked_from_the_index_served_and_exported()
    {
        string run = Path.GetDirectoryName(fx.StoreDir)!;
        string root = TestPaths.NewTempDir();
        string store = Path.Combine(root, "features");
        Copy(fx.StoreDir, store);
        var (code, _, err) = CliRun.Capture(CircuitCommands.Create(), "circuit", "prune", "--model", Path.Combine(run, "model"), "--task", "single_double_quote",
            "--features", store, "--steps", "8", "--pairs", "6", "--mean-windows", "2");
        Assert.True(code == 0, err);

        using var opened = FeatureStore.Open(store);
        await using var server = await BrowserServer.StartAsync(opened);
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(server.Address + "/");
        await page.ClickAsync("#circuits a");
        await page.WaitForURLAsync("**/circuit/single_double_quote", new PageWaitForURLOptions { WaitUntil = WaitUntilState.Commit, Timeout = 30_000 });
        await CircuitPageShows(page);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ChromiumFixture.Screenshots, "circuit.png"), FullPage = true });
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/circuit/no_such_task")).StatusCode);

        string site = Path.Combine(root, "site");
        StaticExport.Export(store, site, IProgressReporter.None, modelPrecision: null);
        await page.GotoAsync(new Uri(Path.Combine(site, "index.html")).AbsoluteUri);
        await page.ClickAsync("#circuits a");
        await page.WaitForURLAsync("**/circuit/single_double_quote.html", new PageWaitForURLOptions { WaitUntil = WaitUntilState.Commit, Timeout = 30_000 });
        await CircuitPageShows(page);
        await context.CloseAsync();
        try { Directory.Delete(root, true); } catch (IOException) { }
    }
}
