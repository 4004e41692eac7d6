using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Tests.Features;

namespace Mechanist.Tests.Browser;

/// <summary>The server over plain HTTP: pages, API, and what it does with bad requests.</summary>
[Collection("browser")]
public class BrowserServerTests(BrowserFixture fx)
{
    [Fact]
    public void Binds_to_loopback_on_a_free_port_by_default()
    {
        var uri = new Uri(fx.Server.Address);
        Assert.Equal("127.0.0.1", uri.Host);
        Assert.NotEqual(0, uri.Port);
    }

    [Fact]
    public async Task Index_and_feature_pages_are_server_rendered()
    {
        string index = await fx.Http.GetStringAsync("/");
        Assert.Contains("<table class=\"units\"", index);
        Assert.Contains("href=\"/feature/0\"", index);
        Assert.Contains("<rect class=\"bar\"", index); // density histogram

        int id = fx.Probe.Id;
        string page = await fx.Http.GetStringAsync($"/feature/{id}");
        Assert.Contains($"<h1>Feature {id}</h1>", page);
        var top = fx.Store.GetUnit(UnitKind.Feature, id).TopExamples[0];
        string peak = Html.E(Html.TokenLabel(top.Tokens[Array.IndexOf(top.Activations, top.Activations.Max())]));
        Assert.Matches($"class=\"tok a\\d+ max\" title=\"{System.Text.RegularExpressions.Regex.Escape(peak)}: ", page);
        Assert.Contains(Html.E(fx.Store.GetSummary(UnitKind.Feature, id).Explanation!.Text), page);
        Assert.Contains("/assets/site.css", page);
        Assert.DoesNotContain("http://", page.Replace(fx.Server.Address, "")); // nothing from elsewhere
        Assert.Contains("<h1>Neuron 3</h1>", await fx.Http.GetStringAsync("/neuron/3"));
    }

    [Fact]
    public async Task Search_by_token_finds_the_features_that_fire_on_it()
    {
        string token = fx.Probe.Token;
        string page = await fx.Http.GetStringAsync($"/?q={Uri.EscapeDataString(token)}");
        Assert.Contains($"href=\"/feature/{fx.Probe.Id}\"", page);
        using var json = JsonDocument.Parse(await fx.Http.GetStringAsync($"/api/units?q={Uri.EscapeDataString(token)}"));
        var ids = json.RootElement.GetProperty("units").EnumerateArray().Select(u => u.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(fx.Probe.Id, ids[0]); // the lowest id among the units whose strongest token it is
        Assert.All(ids, id => Assert.Contains(id, fx.Matches(token)));
        Assert.Contains(ids, id => fx.Store.GetSummary(UnitKind.Feature, id).TopTokenIds.Any(t => fx.Store.TokenString(t).Trim().Equals(token, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Search_by_explanation_text_finds_the_explained_features()
    {
        string q = fx.ExplanationQuery;
        var expected = fx.Store.FindByExplanation(UnitKind.Feature, q);
        Assert.NotEmpty(expected);
        using var json = JsonDocument.Parse(await fx.Http.GetStringAsync($"/api/units?q={Uri.EscapeDataString(q)}"));
        var ids = json.RootElement.GetProperty("units").EnumerateArray().Select(u => u.GetProperty("id").GetInt32()).ToList();
        Assert.Superset(expected.ToHashSet(), ids.ToHashSet());
        Assert.All(ids, id => Assert.Contains(id, fx.Matches(q)));
        string page = await fx.Http.GetStringAsync($"/?q={Uri.EscapeDataString(q)}");
        Assert.Contains($"href=\"/feature/{expected[0]}\"", page);
        Assert.Contains(Html.E(q), page);
    }

    [Theory]
    [InlineData("/feature/999999")]
    [InlineData("/feature/-1")]
    [InlineData("/feature/abc")]
    [InlineData("/widget/3")]
    [InlineData("/no/such/page")]
    public async Task Unknown_ids_get_a_404_page_not_a_stack_trace(string path)
    {
        var response = await fx.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Not found", body);
        Assert.DoesNotContain("Exception", body);
        Assert.DoesNotContain("   at ", body); // a stack frame line
    }

    [Theory]
    [InlineData("/assets/../features.json")]
    [InlineData("/assets/..%2Ffeatures.json")]
    [InlineData("/assets/%2e%2e/%2e%2e/features.json")]
    [InlineData("/assets/..\\features.json")]
    [InlineData("/assets//etc/passwd")]
    public async Task Path_traversal_is_refused(string rawPath)
    {
        // Raw request line, so no client normalises the path before the server sees it.
        var uri = new Uri(fx.Server.Address);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n"));
        string response = await new StreamReader(stream).ReadToEndAsync();
        Assert.Matches(@"^HTTP/1\.1 (400|404)", response);
        Assert.DoesNotContain("mechanist-feature-store", response);
        Assert.DoesNotContain("root:", response);
    }

    [Fact]
    public async Task Assets_are_served_from_the_assembly()
    {
        var css = await fx.Http.GetAsync("/assets/site.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Http.GetAsync("/assets/nope.css")).StatusCode);
    }

    [Fact]
    public async Task Api_returns_a_unit_and_encodes_text()
    {
        using var unit = JsonDocument.Parse(await fx.Http.GetStringAsync("/api/feature/0"));
        Assert.Equal("feature", unit.RootElement.GetProperty("kind").GetString());
        Assert.True(unit.RootElement.GetProperty("topExamples").GetArrayLength() > 0);

        const string text = "The cat sat on the mat. In 1984 there were 12 cars.";
        var response = await fx.Http.PostAsync("/api/encode", new StringContent(JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"));
        using var encoded = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var tokens = encoded.RootElement.GetProperty("tokens").EnumerateArray().ToList();
        Assert.Equal(text, string.Concat(tokens.Select(t => t.GetProperty("token").GetString())));
        var expected = fx.Encoder.Encode(text); // the model and SAE, run directly
        Assert.Equal(expected.Count, tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
            Assert.Equal(expected[i].Top.Select(f => f.Id), tokens[i].GetProperty("top").EnumerateArray().Select(f => f.GetProperty("id").GetInt32()));
        Assert.Contains(expected, t => t.Top.Count > 0);

        var bad = await fx.Http.PostAsync("/api/encode", new StringContent("nope", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Playground_api_gives_each_token_alone_and_as_shown_with_split_characters_joined()
    {
        const string text = "The word שלום and 안녕.";
        var response = await fx.Http.PostAsync("/api/encode", new StringContent(JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"));
        using var encoded = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var tokens = encoded.RootElement.GetProperty("tokens").EnumerateArray()
            .Select(t => (Alone: t.GetProperty("token").GetString()!, Shown: t.GetProperty("text").GetString()!)).ToList();
        Assert.Contains(tokens, t => t.Alone.Contains(@"\x")); // the fixture's English tokenizer splits these letters into bytes
        Assert.Equal(Encoding.UTF8.GetBytes(text), tokens.SelectMany(t => Mechanist.Text.TokenDisplay.Bytes(t.Alone)).ToArray());
        Assert.Equal(text, string.Concat(tokens.Select(t => t.Shown.Replace(Mechanist.Text.TokenDisplay.Pending, ""))));
        Assert.All(tokens, t => Assert.DoesNotContain(@"\x", t.Shown));
    }

    [Fact]
    public async Task Host_must_be_an_address_and_other_hosts_are_honoured()
    {
        await Assert.ThrowsAsync<UserError>(() => BrowserServer.StartAsync(fx.Store, null, "not a host", 0));
        await using var v6 = await BrowserServer.StartAsync(fx.Store, null, "::1", 0);
        Assert.StartsWith("http://[::1]:", v6.Address);
        using var http = new HttpClient();
        Assert.Contains("This server has no model loaded", await http.GetStringAsync(v6.Address + "/playground"));
        var generate = await http.GetAsync(v6.Address + "/generate");
        Assert.Equal(HttpStatusCode.NotFound, generate.StatusCode);
        Assert.Contains("no model packed for the page, so there is no Generate page.", await generate.Content.ReadAsStringAsync());
        await using var why = await BrowserServer.StartAsync(fx.Store, null, "127.0.0.1", 0, noModelWhy: "the reason given");
        Assert.Contains("so there is no Generate page: the reason given", await (await http.GetAsync(why.Address + "/generate")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_corrupt_unit_gives_an_error_page_naming_file_and_unit()
    {
        string dir = TestPaths.NewTempDir();
        FixtureStore.Build(dir);
        string data = Path.Combine(dir, "feature.data");
        var bytes = File.ReadAllBytes(data);
        bytes[0] ^= 0xFF; // feature 0's blob comes first
        File.WriteAllBytes(data, bytes);
        using var store = FeatureStore.Open(dir);
        await using var server = await BrowserServer.StartAsync(store);
        using var http = new HttpClient();
        var response = await http.GetAsync(server.Address + "/feature/0");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("feature.data: feature 0: magic", body);
        Assert.DoesNotContain("   at ", body);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(server.Address + "/feature/1")).StatusCode);
        Assert.True(FixtureStore.IsDead(UnitKind.Feature, 11));
        Assert.Contains("Never fired", await http.GetStringAsync(server.Address + "/feature/11"));
    }

    [Fact]
    public void Static_export_replaces_an_earlier_export_but_never_a_foreign_folder()
    {
        string site = Path.Combine(TestPaths.NewTempDir(), "site");
        StaticExport.Write(fx.Store, site, IProgressReporter.None);
        File.WriteAllText(Path.Combine(site, "feature", "stale.html"), "old");
        StaticExport.Write(fx.Store, site, IProgressReporter.None);
        Assert.False(File.Exists(Path.Combine(site, "feature", "stale.html")));
        string page = File.ReadAllText(Path.Combine(site, "feature", "3.html"));
        Assert.Contains("href=\"../assets/site.css\"", page);
        Assert.Contains("href=\"../feature/4.html\"", page);
        Assert.DoesNotContain("/api/", page);

        string foreign = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(foreign, "precious.txt"), "keep");
        Assert.Throws<UserError>(() => StaticExport.Write(fx.Store, foreign, IProgressReporter.None));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(foreign, "precious.txt")));
    }

    [Fact]
    public void Html_escaping_covers_text_and_attributes()
    {
        Assert.Equal("&lt;script&gt;x&amp;&quot;&#39;·", Html.E("<script>x&\"'·"));
        Assert.Equal("·the·", Html.TokenLabel(" the "));
        Assert.Equal("↵", Html.TokenLabel("\n"));
    }

    [Fact]
    public void Cli_reports_a_corrupt_store_in_one_line()
    {
        string dir = TestPaths.NewTempDir();
        FixtureStore.Build(dir);
        File.WriteAllText(Path.Combine(dir, "features.json"), "{\"format\": \"something else\"}");
        var error = new StringWriter();
        int code = Mechanist.Cli.CommandLine.Run(CliRoot(), ["browse", "--features", dir], error);
        Assert.Equal(1, code);
        Assert.Single(error.ToString().Trim().Split('\n'));
        Assert.Contains("features.json: format:", error.ToString());
    }

    static System.CommandLine.RootCommand CliRoot()
    {
        var root = new System.CommandLine.RootCommand();
        foreach (var c in Mechanist.Cli.Commands.BrowseCommands.Create()) root.Subcommands.Add(c);
        return root;
    }
}
