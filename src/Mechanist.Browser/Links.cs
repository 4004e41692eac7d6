using Mechanist.Features;

namespace Mechanist.Browser;

/// <summary>
/// Where a page's links point. The server uses absolute paths (`/feature/7`); the static export uses paths
/// relative to the page's folder (`../feature/7.html`) so the site works from any host and from file://.
/// </summary>
abstract class Links
{
    public abstract bool IsStatic { get; }
    public abstract string Index(UnitKind kind);
    public abstract string Unit(UnitKind kind, int id);
    public abstract string Asset(string name);
    /// <summary>The playground page, or "" when the site has none.</summary>
    public abstract string Playground { get; }
    /// <summary>The Generate page, or "" when no model was packed for the page.</summary>
    public abstract string Generate { get; }
    /// <summary>The A/B universality page (shown when the store has matches attached).</summary>
    public abstract string Ab { get; }
    /// <summary>The universal-neurons page (with a universal-neurons run attached).</summary>
    public abstract string Universal { get; }
    /// <summary>The feature map page (shown when the store has a map attached).</summary>
    public abstract string Map { get; }
    /// <summary>The list of split families (shown when the store has families attached).</summary>
    public abstract string Families { get; }
    /// <summary>A split family's page: its tree across widths.</summary>
    public abstract string Family(int id);
    /// <summary>The script with the map's neighbour graph (<c>window.MECHANIST_MAP</c>).</summary>
    public abstract string MapData { get; }
    /// <summary>A task's circuit page (shown when a circuit report is attached for it).</summary>
    public abstract string Circuit(string task);
    /// <summary>The folder of the in-page model's files (<see cref="WebModelFiles"/>), ending in "/".</summary>
    public abstract string ModelBase { get; }
    /// <summary>A feature page's address with "{id}" in place of the id (for scripts).</summary>
    public string UnitPattern(UnitKind kind) => Unit(kind, 0)[..^(IsStatic ? "0.html".Length : 1)] + "{id}" + (IsStatic ? ".html" : "");
    /// <summary>The script with the index's unit data (<see cref="StaticExport.UnitsScript"/>).</summary>
    public abstract string UnitsData(UnitKind kind);
}

/// <param name="model">Whether the server packs the model for the page (the Generate page).</param>
sealed class ServerLinks(bool model) : Links
{
    /// <summary>A server without a packed model.</summary>
    public static ServerLinks Instance { get; } = new(false);
    public override bool IsStatic => false;
    public override string Index(UnitKind kind) => kind == UnitKind.Feature ? "/" : "/?kind=neuron";
    public override string Unit(UnitKind kind, int id) => $"/{kind.Name()}/{id}";
    public override string Asset(string name) => $"/assets/{name}";
    public override string Playground => "/playground";
    public override string Generate => model ? "/generate" : "";
    public override string Ab => "/ab";
    public override string Universal => "/universal";
    public override string Map => "/map";
    public override string MapData => "/data/map.js";
    public override string Families => "/families";
    public override string Family(int id) => $"/family/{id}";
    public override string Circuit(string task) => $"/circuit/{Uri.EscapeDataString(task)}";
    public override string ModelBase => "/model/";
    public override string UnitsData(UnitKind kind) => $"/data/units-{kind.Name()}.js";
}

/// <param name="depth">How many folders below the site root the page lives (0 for index.html, 1 for feature/7.html).</param>
/// <param name="model">Whether the export packs the model (then it has generate.html and an in-page playground).</param>
sealed class StaticLinks(int depth, bool model = false) : Links
{
    readonly string up = string.Concat(Enumerable.Repeat("../", depth));
    public override bool IsStatic => true;
    public override string Index(UnitKind kind) => up + (kind == UnitKind.Feature ? "index.html" : "neurons.html");
    public override string Unit(UnitKind kind, int id) => $"{up}{kind.Name()}/{id}.html";
    public override string Asset(string name) => $"{up}assets/{name}";
    public override string Playground => model ? up + "playground.html" : "";
    public override string Generate => model ? up + "generate.html" : "";
    public override string Ab => up + "ab.html";
    public override string Universal => up + "universal.html";
    public override string Map => up + "map.html";
    public override string MapData => up + "data/map.js";
    public override string Families => up + "families.html";
    public override string Family(int id) => $"{up}family/{id}.html";
    public override string Circuit(string task) => $"{up}circuit/{Uri.EscapeDataString(task)}.html";
    public override string ModelBase => up + "model/";
    public override string UnitsData(UnitKind kind) => $"{up}data/units-{kind.Name()}.js";
}
