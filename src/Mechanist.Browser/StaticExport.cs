using System.Text;
using System.Text.Json;
using Mechanist.Features;
using Mechanist.IO;

namespace Mechanist.Browser;

/// <summary>
/// Writes the browser as a static site: `index.html` (features), `neurons.html`, one page per unit under
/// `feature/` and `neuron/`, `assets/`, `ab.html`, `families.html` with `family/ID.html`, and `map.html` (with data/map.js) when attached, and `data/units-{kind}.js` (the index's search and sort data, loaded
/// with a script tag because file:// forbids fetch). Same templates as the server, relative links. With a packed model
/// (<see cref="WebModelFiles"/> in `model/`) it also has `generate.html` and a `playground.html` that run the model in the page.
/// The site is built in a sibling folder and swapped in at the end (<see cref="AtomicDirectory"/>), so a failed export leaves the old one.
/// </summary>
public static class StaticExport
{
    const string Marker = ".mechanist-site";
    public const string StageName = "export-html";

    /// <summary>
    /// The site-export stage as one call (`mechanist export-html` and the demo's site stage): opens the store,
    /// writes the site, then its <c>manifest.json</c> (the store's manifest and explanations as inputs).
    /// </summary>
    /// <param name="modelPrecision">Pack the store's model, tokenizer and SAE (when still on this machine) for the
    /// Generate page and the in-page playground, stored at this precision; null leaves the model out.</param>
    public static SiteExportResult Export(string features, string outDir, IProgressReporter progress, CancellationToken cancel = default,
        WebPrecision? modelPrecision = WebPrecision.F32)
    {
        outDir = Path.GetFullPath(outDir.TrimEnd('/', '\\'));
        string note = "no model packed (left out)";
        using (var store = FeatureStore.Open(features))
        {
            WebModelFiles? model = null;
            if (modelPrecision is WebPrecision precision)
            {
                var encoder = ModelFeatureEncoder.ForStore(store, out string? why);
                why ??= encoder == null ? null : WebModelFiles.Unsupported(encoder.Model.Config);
                model = encoder == null || why != null ? null : WebModelFiles.Build(encoder.Model, encoder.Tokenizer, encoder.Sae, encoder.Hook, precision);
                note = model?.Summary ?? $"no Generate page or in-page playground: {why}";
            }
            Write(store, outDir, progress, cancel, model);
        }
        var manifest = new Manifest { Stage = StageName, Outputs = [new("index.html")] };
        foreach (string input in new[] { Manifest.PathIn(features), FeatureStore.ManifestPath(features) }.Concat(Explain.ExplanationFiles.InStore(features)))
            if (File.Exists(input)) manifest.AddInput(input);
        manifest.SaveTo(outDir);
        long bytes = Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return new SiteExportResult(outDir, Path.Combine(outDir, "index.html"), bytes, note);
    }

    /// <summary>Writes the site of an open store (no manifest; <see cref="Export"/> is the stage).</summary>
    /// <param name="model">The model, tokenizer and SAE packed for the page (generate.html, the in-page playground); null for none.</param>
    public static void Write(FeatureStore store, string outDir, IProgressReporter progress, CancellationToken cancel = default, WebModelFiles? model = null)
    {
        using var staging = Begin(outDir);
        WriteAssets(staging.TempPath, model);
        Build(store, staging.TempPath, progress, cancel, model);
        staging.Commit();
    }

    /// <summary>A site with only the Generate page (index.html) and the packed model, for a model without a feature store.</summary>
    public static void WriteModelOnly(WebModelFiles model, string outDir)
    {
        using var staging = Begin(outDir);
        WriteAssets(staging.TempPath, model);
        File.WriteAllText(Path.Combine(staging.TempPath, "index.html"), GeneratePage.Render(null, new StaticLinks(0, true)), Encoding.UTF8);
        File.WriteAllText(Path.Combine(staging.TempPath, Marker), "Written by `mechanist export-web`; the folder is replaced by the next export.\n");
        staging.Commit();
    }

    static AtomicDirectory Begin(string outDir)
    {
        outDir = Path.GetFullPath(outDir.TrimEnd('/', '\\'));
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !File.Exists(Path.Combine(outDir, Marker)))
            throw new UserError($"{outDir}: exists and is not an earlier export (no {Marker}); choose an empty or new folder");
        return AtomicDirectory.Begin(outDir, overwrite: true);
    }

    static void WriteAssets(string dir, WebModelFiles? model)
    {
        Directory.CreateDirectory(Path.Combine(dir, "assets"));
        foreach (string name in Assets.Names)
        {
            Assets.TryGet(name, out var bytes, out _);
            File.WriteAllBytes(Path.Combine(dir, "assets", name), bytes);
        }
        model?.WriteTo(Path.Combine(dir, "model"));
    }

    static void Build(FeatureStore store, string dir, IProgressReporter progress, CancellationToken cancel, WebModelFiles? model)
    {
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        bool packed = model != null;
        var root = new StaticLinks(0, packed);
        var unitLinks = new StaticLinks(1, packed);
        if (packed)
        {
            File.WriteAllText(Path.Combine(dir, "generate.html"), GeneratePage.Render(store, root), Encoding.UTF8);
            File.WriteAllText(Path.Combine(dir, "playground.html"), SimplePages.Playground(store, root, hasEncoder: true), Encoding.UTF8);
        }
        if (store.Attachments.HasAb) File.WriteAllText(Path.Combine(dir, "ab.html"), AbPage.Render(store, root), Encoding.UTF8);
        if (store.Attachments.Universal != null) File.WriteAllText(Path.Combine(dir, "universal.html"), UniversalPage.Render(store, root), Encoding.UTF8);
        if (store.Attachments.HasSplits)
        {
            File.WriteAllText(Path.Combine(dir, "families.html"), FamilyPage.RenderIndex(store, root), Encoding.UTF8);
            Directory.CreateDirectory(Path.Combine(dir, "family"));
            foreach (int id in store.Attachments.Families.Keys)
                File.WriteAllText(Path.Combine(dir, "family", $"{id}.html"), FamilyPage.Render(store, unitLinks, id), Encoding.UTF8);
        }
        if (store.Attachments.MapFile != null)
        {
            File.WriteAllText(Path.Combine(dir, "map.html"), MapPage.Render(store, root), Encoding.UTF8);
            File.WriteAllText(Path.Combine(dir, "data", "map.js"), MapPage.DataScript(store), Encoding.UTF8);
        }
        if (store.Attachments.Circuits.Count > 0)
        {
            Directory.CreateDirectory(Path.Combine(dir, "circuit"));
            foreach (var report in store.Attachments.Circuits)
                File.WriteAllText(Path.Combine(dir, "circuit", report.Task + ".html"), CircuitPage.Render(store, unitLinks, report), Encoding.UTF8);
        }
        foreach (var kind in store.Kinds)
        {
            if (store.UnitCount(kind) == 0) continue;
            string dataScript = $"data/units-{kind.Name()}.js";
            File.WriteAllText(Path.Combine(dir, dataScript), UnitsScript(store, kind), Encoding.UTF8);
            File.WriteAllText(Path.Combine(dir, kind == UnitKind.Feature ? "index.html" : "neurons.html"),
                IndexPage.Render(store, root, kind, UnitSort.Density, null, 1, dataScript), Encoding.UTF8);

            string unitDir = Path.Combine(dir, kind.Name());
            Directory.CreateDirectory(unitDir);
            int n = store.UnitCount(kind);
            using var task = progress.Start($"writing {kind.Name()} pages", n, "page");
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Numerics.Parallelism.Threads, CancellationToken = cancel }, id =>
            {
                File.WriteAllText(Path.Combine(unitDir, $"{id}.html"), UnitPage.Render(store, unitLinks, kind, id), Encoding.UTF8);
                task.Advance(1);
            });
        }
        if (store.UnitCount(UnitKind.Feature) == 0)
            File.WriteAllText(Path.Combine(dir, "index.html"), SimplePages.NotFound(store, root, "This store has no features."), Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, Marker), "Written by `mechanist export-html`; the folder is replaced by the next export.\n");
    }

    /// <summary>
    /// `window.MECHANIST_UNITS`: per unit [id, density, max, score|null, [top tokens], explanation|null],
    /// plus the three sort orders precomputed like the server's, for site.js to page, sort and search.
    /// </summary>
    internal static string UnitsScript(FeatureStore store, UnitKind kind)
    {
        int n = store.UnitCount(kind);
        var units = new object?[n][];
        for (int id = 0; id < n; id++)
        {
            var s = store.GetSummary(kind, id);
            units[id] = [id, s.Density, s.MaxActivation, s.Explanation?.Score, s.TopTokenIds.Select(store.TokenString).ToArray(), s.Explanation?.Text];
        }
        var data = new
        {
            kind = kind.Name(),
            units,
            order = new Dictionary<string, IReadOnlyList<int>>
            {
                ["density"] = store.Order(kind, UnitSort.Density), ["max"] = store.Order(kind, UnitSort.MaxActivation),
                ["score"] = store.Order(kind, UnitSort.Score), ["id"] = store.Order(kind, UnitSort.Id),
            },
        };
        return "window.MECHANIST_UNITS = " + JsonSerializer.Serialize(data) + ";\n";
    }
}
