using Mechanist.Browser;
using Mechanist.Cli.Commands;
using Mechanist.Features;
using Mechanist.Sae;

namespace Mechanist.Tests.Browser;

/// <summary>
/// A/B matches and split families attached to a copy of the fixture's store (issue 15 item 5): the feature page's
/// best match and family lines, the A/B page served and exported.
/// </summary>
[Collection("browser")]
public class UniversalityPagesTests(BrowserFixture fx)
{
    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (string d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    [Fact]
    public async Task Matches_and_families_attached_to_a_store_show_on_its_pages_served_and_exported()
    {
        string run = Path.GetDirectoryName(fx.StoreDir)!;
        string root = TestPaths.NewTempDir();
        string store = Path.Combine(root, "features");
        Copy(fx.StoreDir, store);

        // A against itself: every live feature's best match is itself (corr 1), which makes the expected lines exact.
        var (code, _, err) = CliRun.Capture(UniversalCommands.Create(), "universal", "features", "--a", run, "--b", run,
            "--data", Path.Combine(run, "tokens"), "--tokens", "4000", "--features-a", store, "--features-b", store, "--out", Path.Combine(root, "ab"));
        Assert.True(code == 0, err);

        // A dictionary of half the width made of the first half of the fixture's latents: each is its own family's parent.
        string saeDir = fx.Store.Source.Sae;
        var full = SaeLensFormat.Load(saeDir);
        var half = new SparseAutoencoder(full.Architecture, full.DIn, full.DSae / 2, Math.Min(full.K, full.DSae / 2)) { Metadata = full.Metadata };
        for (int i = 0; i < half.DSae; i++)
        {
            full.WEnc.Value.Row(i).CopyTo(half.WEnc.Value.Row(i));
            full.WDec.Value.Row(i).CopyTo(half.WDec.Value.Row(i));
            half.BEnc.Value[i] = full.BEnc.Value[i];
        }
        full.BDec.Value.Span.CopyTo(half.BDec.Value.Span);
        string halfDir = Path.Combine(root, "half");
        half.Save(halfDir);
        (code, _, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", saeDir, halfDir,
            "--acts", Path.Combine(run, "acts"), "--features", store, "--out", Path.Combine(root, "splits"), "--min-density", "0");
        Assert.True(code == 0, err);

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
