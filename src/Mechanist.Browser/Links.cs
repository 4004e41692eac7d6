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
    public abstract string Playground { get; }
}

sealed class ServerLinks : Links
{
    public static ServerLinks Instance { get; } = new();
    public override bool IsStatic => false;
    public override string Index(UnitKind kind) => kind == UnitKind.Feature ? "/" : "/?kind=neuron";
    public override string Unit(UnitKind kind, int id) => $"/{kind.Name()}/{id}";
    public override string Asset(string name) => $"/assets/{name}";
    public override string Playground => "/playground";
}

/// <param name="depth">How many folders below the site root the page lives (0 for index.html, 1 for feature/7.html).</param>
sealed class StaticLinks(int depth) : Links
{
    readonly string up = string.Concat(Enumerable.Repeat("../", depth));
    public override bool IsStatic => true;
    public override string Index(UnitKind kind) => up + (kind == UnitKind.Feature ? "index.html" : "neurons.html");
    public override string Unit(UnitKind kind, int id) => $"{up}{kind.Name()}/{id}.html";
    public override string Asset(string name) => $"{up}assets/{name}";
    public override string Playground => "";
}
