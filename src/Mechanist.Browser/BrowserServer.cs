using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mechanist.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mechanist.Browser;

/// <summary>
/// The feature browser as a local web server (Kestrel). Pages: `/`, `/feature/{id}`, `/neuron/{id}`,
/// `/playground`, `/generate` (with a packed model), `/ab` (with A/B matches attached), `/universal` (with a universal-neurons run attached), `/families` and `/family/{id}` (with split families attached), `/map` (with a feature map attached), `/circuit/{task}` (with circuit reports attached); assets under `/assets/`; the packed model's files under `/model/`
/// (<see cref="WebModelFiles"/>); the index data under `/data/`; JSON under `/api/` (`units`, `feature/{id}`, `neuron/{id}`, `encode`).
/// Binds to 127.0.0.1 unless told otherwise; port 0 picks a free port (see <see cref="Address"/>).
/// </summary>
public sealed class BrowserServer : IAsyncDisposable
{
    readonly WebApplication app;

    /// <summary>The address the server listens on, e.g. "http://127.0.0.1:5173".</summary>
    public string Address { get; }

    BrowserServer(WebApplication app, string address) { this.app = app; Address = address; }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <param name="encoder">Runs typed text through model and SAE for the playground; null disables it.</param>
    /// <param name="host">An IP address or "localhost"; loopback unless the user asks otherwise.</param>
    /// <param name="model">The model packed for the Generate page; null for no Generate page.</param>
    /// <param name="noModelWhy">Why no model was packed, for the Generate address's "not here" page.</param>
    public static async Task<BrowserServer> StartAsync(FeatureStore store, IFeatureEncoder? encoder = null,
        string host = "127.0.0.1", int port = 0, CancellationToken cancel = default, WebModelFiles? model = null, string? noModelWhy = null)
    {
        IPAddress ip = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new UserError($"--host: \"{host}\" is not an IP address (use 127.0.0.1, ::1, or 0.0.0.0 to listen on every interface)");
        if (port is < 0 or > 65535) throw new UserError($"--port: {port} is outside 0..65535");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => { k.AddServerHeader = false; k.Listen(ip, port); });
        var app = builder.Build();
        Map(app, store, encoder, model, noModelWhy);
        try { await app.StartAsync(cancel); }
        catch (IOException e) { throw new UserError($"cannot listen on {host}:{port}: {e.Message}", e); }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BrowserServer(app, address.Replace("[::]", "[::1]"));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>Waits until the token is cancelled (Ctrl-C), then stops.</summary>
    public async Task RunUntilCancelledAsync(CancellationToken cancel)
    {
        try { await Task.Delay(Timeout.Infinite, cancel); } catch (OperationCanceledException) { }
    }

    static void Map(WebApplication app, FeatureStore store, IFeatureEncoder? encoder, WebModelFiles? model, string? noModelWhy)
    {
        var links = new ServerLinks(model != null);
        app.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            h["X-Content-Type-Options"] = "nosniff";
            h["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";
            h["Referrer-Policy"] = "no-referrer";
            // Server-side time until the response starts (the page is rendered by then), for measuring in devtools.
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            context.Response.OnStarting(() =>
            {
                var ms = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                context.Response.Headers["Server-Timing"] = $"render;dur={ms.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}";
                return Task.CompletedTask;
            });
            try { await next(context); }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                // One clear message, never a stack trace; corrupt blobs surface here as DataFormatError.
                context.Response.Clear();
                context.Response.StatusCode = 500;
                await WriteHtml(context, SimplePages.Error(store, links, e is UserError ? e.Message : $"{e.GetType().Name}: {e.Message}"));
            }
        });

        app.MapGet("/", (HttpContext c) =>
        {
            var q = c.Request.Query;
            var kind = q["kind"] == "neuron" && store.UnitCount(UnitKind.Neuron) > 0 ? UnitKind.Neuron : UnitKind.Feature;
            int page = int.TryParse(q["page"], out int p) ? p : 1;
            return HtmlResult(IndexPage.Render(store, links, kind, IndexPage.ParseSort(q["sort"]), q["q"], page));
        });

        app.MapGet("/{kind}/{id}", (string kind, string id) =>
            TryUnit(store, kind, id, out var k, out int n)
                ? HtmlResult(UnitPage.Render(store, links, k, n))
                : HtmlResult(SimplePages.NotFound(store, links, $"There is no {kind} “{id}” in this store ({store.UnitCount(k):N0} {k.Name()}s, ids 0 to {store.UnitCount(k) - 1})."), 404));

        app.MapGet("/ab", () => HtmlResult(AbPage.Render(store, links), store.Attachments.HasAb ? 200 : 404));
        app.MapGet("/universal", () => HtmlResult(UniversalPage.Render(store, links), store.Attachments.Universal != null ? 200 : 404));

        app.MapGet("/families", () => HtmlResult(FamilyPage.RenderIndex(store, links), store.Attachments.HasSplits ? 200 : 404));
        app.MapGet("/family/{id}", (string id) => int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && store.Attachments.Families.ContainsKey(n)
            ? HtmlResult(FamilyPage.Render(store, links, n))
            : HtmlResult(SimplePages.NotFound(store, links, $"There is no split family “{id}” attached to this store ({store.Attachments.Families.Count:N0} families)."), 404));

        app.MapGet("/map", () => HtmlResult(MapPage.Render(store, links), store.Attachments.MapFile != null ? 200 : 404));

        app.MapGet("/circuit/{task}", (string task) => store.Attachments.Circuit(task) is { } report
            ? HtmlResult(CircuitPage.Render(store, links, report))
            : HtmlResult(SimplePages.NotFound(store, links, $"No circuit report for “{task}” is attached to this store (run `mechanist circuit prune --task {task} --features STORE`)."), 404));

        app.MapGet("/playground", () => HtmlResult(SimplePages.Playground(store, links, encoder != null)));

        app.MapGet("/generate", () => model != null
            ? HtmlResult(GeneratePage.Render(store, links))
            : HtmlResult(SimplePages.NotFound(store, links, "This server has no model packed for the page, so there is no Generate page" + (noModelWhy is null ? "." : $": {noModelWhy}")), 404));

        // The packed model's files by name from a fixed set, like the assets.
        app.MapGet("/model/{name}", (string name) => model != null && model.Files.TryGetValue(name, out var bytes)
            ? Results.Bytes(bytes, "text/javascript; charset=utf-8")
            : Results.Text("no such model file", "text/plain", statusCode: 404));

        var unitsScripts = new Dictionary<string, Lazy<byte[]>>(StringComparer.Ordinal);
        foreach (var kind in store.Kinds)
            if (store.UnitCount(kind) > 0)
                unitsScripts[$"units-{kind.Name()}.js"] = new(() => System.Text.Encoding.UTF8.GetBytes(StaticExport.UnitsScript(store, kind)));
        if (store.Attachments.MapFile != null) unitsScripts["map.js"] = new(() => System.Text.Encoding.UTF8.GetBytes(MapPage.DataScript(store)));
        app.MapGet("/data/{name}", (string name) => unitsScripts.TryGetValue(name, out var script)
            ? Results.Bytes(script.Value, "text/javascript; charset=utf-8")
            : Results.Text("no such data file", "text/plain", statusCode: 404));

        app.MapGet("/assets/{**name}", (string name) =>
        {
            if (name.Contains("..") || name.Contains('/') || name.Contains('\\') || name.Contains('%'))
                return Results.Text("refused: asset names are plain file names", "text/plain", statusCode: 400);
            return Assets.TryGet(name, out var bytes, out var type) ? Results.Bytes(bytes, type) : Results.Text("no such asset", "text/plain", statusCode: 404);
        });

        app.MapGet("/api/units", (HttpContext c) =>
        {
            var q = c.Request.Query;
            var kind = q["kind"] == "neuron" ? UnitKind.Neuron : UnitKind.Feature;
            if (store.UnitCount(kind) == 0) return Results.Json(Array.Empty<UnitSummary>(), Json);
            string? text = q["q"];
            var ids = string.IsNullOrWhiteSpace(text) ? store.Order(kind, IndexPage.ParseSort(q["sort"])) : IndexPage.Search(store, kind, text);
            int offset = Math.Max(0, int.TryParse(q["offset"], out int o) ? o : 0);
            int limit = Math.Clamp(int.TryParse(q["limit"], out int l) ? l : 100, 1, 1000);
            return Results.Json(new { total = ids.Count, units = ids.Skip(offset).Take(limit).Select(id => store.GetSummary(kind, id)) }, Json);
        });

        app.MapGet("/api/{kind}/{id}", (string kind, string id) =>
            TryUnit(store, kind, id, out var k, out int n) ? Results.Json(store.GetUnit(k, n), Json) : Results.Json(new { error = "not found" }, Json, statusCode: 404));

        app.MapPost("/api/encode", async (HttpContext c) =>
        {
            if (encoder is null) return Results.Json(new { error = "no model loaded" }, Json, statusCode: 503);
            EncodeRequest? body;
            try { body = await c.Request.ReadFromJsonAsync<EncodeRequest>(Json); }
            catch (JsonException) { body = null; }
            if (body?.Text is null) return Results.Json(new { error = "expected {\"text\": \"...\"}" }, Json, statusCode: 400);
            if (body.Text.Length > 10_000) return Results.Json(new { error = "text longer than 10,000 characters" }, Json, statusCode: 413);
            var encoded = encoder.Encode(body.Text);
            // token: the token alone (tooltips, the detail title); text: as shown in the line, characters split over tokens joined.
            var shown = Mechanist.Text.TokenDisplay.InContext(encoded.Select(t => t.Token).ToList());
            var tokens = encoded.Select((t, i) => new
            {
                token = t.Token,
                text = shown[i],
                top = t.Top.Where(f => store.Contains(UnitKind.Feature, f.Id)).Select(f =>
                {
                    var s = store.GetSummary(UnitKind.Feature, f.Id);
                    return new
                    {
                        id = f.Id, activation = f.Activation, max = s.MaxActivation, explanation = s.Explanation?.Text,
                        topTokens = s.TopTokenIds.Take(5).Select(store.TokenString),
                    };
                }),
            });
            return Results.Json(new { tokens }, Json);
        });

        app.MapFallback((HttpContext c) => HtmlResult(SimplePages.NotFound(store, links, $"Nothing lives at {c.Request.Path}."), 404));
    }

    sealed record EncodeRequest(string? Text);

    static bool TryUnit(FeatureStore store, string kindName, string idText, out UnitKind kind, out int id)
    {
        id = -1;
        return UnitKinds.TryParse(kindName, out kind) && int.TryParse(idText, System.Globalization.NumberStyles.None, null, out id)
            && store.Contains(kind, id);
    }

    static IResult HtmlResult(string html, int status = 200) => Results.Content(html, "text/html; charset=utf-8", null, status);

    static Task WriteHtml(HttpContext c, string html)
    {
        c.Response.ContentType = "text/html; charset=utf-8";
        return c.Response.WriteAsync(html);
    }
}
