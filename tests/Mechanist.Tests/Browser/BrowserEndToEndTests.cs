using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Tests.Features;
using Microsoft.Playwright;

namespace Mechanist.Tests.Browser;

/// <summary>Debian's headless Chromium, driven by Playwright, launched once for the end-to-end tests.</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Screenshots are kept as test artifacts here: tests/Mechanist.Tests/bin/{Configuration}/net10.0/artifacts/screenshots.</summary>
    public static string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium", // never `playwright install`: scripts/setup.sh installs Debian's chromium
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    /// <summary>A fresh page that records every URL it requests, so tests can check nothing left the machine.</summary>
    public async Task<(IPage Page, List<string> Requests)> NewPage()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var requests = new List<string>();
        page.Request += (_, r) => { lock (requests) requests.Add(r.Url); };
        return (page, requests);
    }

    public async Task DisposeAsync()
    {
        await Browser.CloseAsync();
        Playwright.Dispose();
    }
}

[Collection("browser")]
public class BrowserEndToEndTests(BrowserFixture fx, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    Task<(IPage Page, List<string> Requests)> NewPage() => chromium.NewPage();

    internal static Task Shot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ChromiumFixture.Screenshots, name + ".png"), FullPage = true });

    /// <summary>
    /// Waits for a navigation to <paramref name="glob"/> and its DOM (not every subresource: robust on a loaded machine),
    /// in one wait on that navigation: a separate load-state wait after the URL's commit once missed the new document's
    /// DOMContentLoaded and timed out (CI-style run, 2026-12-05).
    /// </summary>
    internal static Task Navigated(IPage page, string glob) =>
        page.WaitForURLAsync(glob, new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded, Timeout = 60_000 });

    internal static void AllLocal(List<string> requests, string prefix)
    {
        lock (requests) Assert.All(requests, url => Assert.StartsWith(prefix, url));
    }

    [Fact]
    public async Task Index_search_and_feature_page_render_in_chromium()
    {
        var (page, requests) = await NewPage();
        await page.GotoAsync(fx.Server.Address + "/");
        Assert.True(await page.Locator("figure.density rect.bar").CountAsync() > 3, "density histogram has bars");
        Assert.Equal(Math.Min(fx.Store.UnitCount(UnitKind.Feature), 100), await page.Locator("#units tbody tr").CountAsync());
        await Shot(page, "index");

        var (id, token) = fx.Probe;
        await page.FillAsync("#q", token);
        await page.PressAsync("#q", "Enter");
        await Navigated(page, $"**/?sort=density&q={Uri.EscapeDataString(token)}");
        var listed = await page.Locator("#units tbody tr td.id a").AllInnerTextsAsync();
        Assert.Equal(fx.Matches(token).Order(), listed.Select(int.Parse).Order());
        await Shot(page, "search-token");

        await page.Locator("#units tbody tr td.id a", new PageLocatorOptions { HasTextRegex = new System.Text.RegularExpressions.Regex($"^{id}$") }).ClickAsync();
        await Navigated(page, $"**/feature/{id}");
        Assert.Equal($"Feature {id}", await page.Locator("h1").InnerTextAsync());
        var shaded = page.Locator("#top .tok[title]");
        Assert.True(await shaded.CountAsync() >= 10, "top activations have shaded tokens");
        var peak = page.Locator("#top .tok.max").First;
        var top = fx.Store.GetUnit(UnitKind.Feature, id).TopExamples[0];
        // As shown in its window: a token that completes a character split over tokens shows the whole character.
        Assert.Equal(Mechanist.Browser.Html.TokenText(Mechanist.Text.TokenDisplay.InContext(top.Tokens)[Array.IndexOf(top.Activations, top.Activations.Max())]),
            await peak.TextContentAsync());
        string background = await peak.EvaluateAsync<string>("el => getComputedStyle(el).backgroundColor");
        Assert.Matches(@"^rgba?\(255, 128, 0", background);
        Assert.True(await page.Locator("figure.acts rect.bar").CountAsync() > 3, "activation histogram drawn");
        Assert.True(await page.Locator("figure.logits rect.bar").CountAsync() > 3, "logit histogram drawn");
        var box = await page.Locator("figure.acts svg").BoundingBoxAsync();
        Assert.True(box!.Width > 200 && box.Height > 50, $"histogram is visible ({box.Width}×{box.Height})");
        Assert.Equal(10, await page.Locator("table.logits tbody tr").CountAsync());
        // Where the activations come from: every source of the corpus, this unit's share of activation mass beside the corpus's.
        var sources = fx.Store.GetUnit(UnitKind.Feature, id).Sources;
        Assert.Equal(ModelFixture.Sources.Order(), sources.Select(x => x.Label).Order());
        var rows = page.Locator("#sources table.sources tbody tr");
        Assert.Equal(sources.Length, await rows.CountAsync());
        Assert.Equal(sources[0].Label, await rows.First.Locator("td.source").InnerTextAsync());
        Assert.Equal($"{sources[0].ActivationShare * 100:0.0}%", await rows.First.Locator("td.num").First.InnerTextAsync());
        Assert.True((await page.Locator("#sources .bar.act").First.BoundingBoxAsync())!.Width > 0, "the activation share is drawn");

        await peak.HoverAsync();
        var hover = page.Locator("#hover");
        await hover.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        string peakTitle = await peak.GetAttributeAsync("title") ?? "?";
        Assert.Contains(peakTitle[(peakTitle.LastIndexOf(": ") + 2)..], await hover.InnerTextAsync());
        await Shot(page, "feature-probe");

        await page.Locator(".nearest a.chip").First.ClickAsync();
        await Navigated(page, "**/feature/*");
        await page.GotoAsync(fx.Server.Address + "/neuron/2");
        Assert.Equal("Neuron 2", await page.Locator("h1").InnerTextAsync());
        await page.GotoAsync(fx.Server.Address + "/feature/123456");
        Assert.Equal("Not found", await page.Locator("h1").InnerTextAsync());
        await Shot(page, "not-found");
        AllLocal(requests, fx.Server.Address);
    }

    [Fact]
    public async Task Playground_shows_each_tokens_features_and_links_to_them()
    {
        var (page, requests) = await NewPage();
        await page.GotoAsync(fx.Server.Address + "/playground");
        await page.Locator("#tokens .tok").First.WaitForAsync();
        const string text = "The dog ran to the park. In 1950 there were 40 cars.";
        var expected = fx.Encoder.Encode(text); // the model and SAE, run directly
        int pick = Enumerable.Range(0, expected.Count).First(i => expected[i].Top.Count > 0 && expected[i].Token.Trim().Length >= 2);
        int feature = expected[pick].Top[0].Id;
        await page.FillAsync("#text", text);
        await page.ClickAsync("#play button");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#tokens .tok').length === {expected.Count} && document.getElementById('text').value.length > 0");
        await page.WaitForFunctionAsync($"() => Array.from(document.querySelectorAll('#tokens .tok')).map(e => e.textContent).join('') === {System.Text.Json.JsonSerializer.Serialize(text)}");
        await page.Locator("#tokens .tok").Nth(pick).ClickAsync();
        Assert.Contains(expected[pick].Token.Trim(), await page.Locator("#detailtitle").InnerTextAsync());
        var link = page.Locator("#detailtable tbody td.id a").First;
        Assert.Equal(feature.ToString(), await link.InnerTextAsync());
        Assert.Equal(expected[pick].Top.Count, await page.Locator("#detailtable tbody tr").CountAsync());
        await Shot(page, "playground");
        await link.ClickAsync();
        await Navigated(page, $"**/feature/{feature}");
        Assert.Equal($"Feature {feature}", await page.Locator("h1").InnerTextAsync());
        AllLocal(requests, fx.Server.Address);
    }

    [Fact]
    public async Task Static_export_works_from_file_urls()
    {
        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Write(fx.Store, site, IProgressReporter.None);
        Assert.True(File.Exists(Path.Combine(site, "feature", $"{fx.Store.UnitCount(UnitKind.Feature) - 1}.html")));
        Assert.True(File.Exists(Path.Combine(site, "neuron", "0.html")));

        var (page, requests) = await NewPage();
        string root = new Uri(Path.Combine(site, "index.html")).AbsoluteUri;
        await page.GotoAsync(root);
        Assert.Equal("rgb(17, 24, 39)", await page.Locator("header.top").EvaluateAsync<string>("el => getComputedStyle(el).backgroundColor"));
        Assert.True(await page.Locator("figure.density rect.bar").CountAsync() > 3);
        Assert.Equal(0, await page.Locator("nav a", new PageLocatorOptions { HasText = "Playground" }).CountAsync());

        string token = fx.Probe.Token;
        await page.FillAsync("#q", token);
        await page.PressAsync("#q", "Enter");
        await page.WaitForFunctionAsync($"() => document.getElementById('status').textContent.includes('for “{token}”')");
        var matches = fx.Matches(token);
        Assert.Equal(matches.Count, await page.Locator("#units tbody tr").CountAsync());
        await page.ClickAsync("#units th a[data-sort='id']");
        int first = matches.Min();
        Assert.Equal(first.ToString(), await page.Locator("#units tbody td.id a").First.InnerTextAsync());
        await Shot(page, "static-search");

        await page.Locator("#units tbody td.id a").First.ClickAsync();
        await Navigated(page, $"**/feature/{first}.html");
        Assert.True(await page.Locator("#top .tok[title]").CountAsync() >= 10);
        Assert.Matches(@"^rgba?\(255, 128, 0", await page.Locator("#top .tok.max").First.EvaluateAsync<string>("el => getComputedStyle(el).backgroundColor"));
        Assert.True(await page.Locator("figure.acts rect.bar").CountAsync() > 3);
        Assert.Equal(fx.Store.GetUnit(UnitKind.Feature, first).Sources.Length, await page.Locator("#sources table.sources tbody tr").CountAsync());
        Assert.Equal("rgb(17, 24, 39)", await page.Locator("header.top").EvaluateAsync<string>("el => getComputedStyle(el).backgroundColor"));
        await page.ClickAsync("a[rel='next']");
        await Navigated(page, $"**/feature/{first + 1}.html");
        await page.ClickAsync("header.top nav a:has-text('Neurons')");
        await Navigated(page, "**/neurons.html");
        await Shot(page, "static-neurons");
        AllLocal(requests, "file://");
    }
}
