using System.Globalization;
using System.Text;
using Mechanist.Features;

namespace Mechanist.Plots;

/// <summary>
/// A split family drawn as a tree across dictionary widths (docs/METHODS.md §3.5): one row per latent, roots first, each
/// latent under its parent (depth-first, the most similar child first), in the column of its width, so a glance shows
/// one latent becoming several as the dictionary grows. Each node is labelled with its latent id and the start of its
/// explanation; the full explanation, density and the sim to its parent are a tooltip. Colours and lines are attributes,
/// so the same drawing reads as a standalone file (<see cref="ToFile"/>) and inside a page (<see cref="AppendSvg"/>,
/// where <see cref="Link"/> can make nodes links).
/// </summary>
/// <param name="Widths">All the widths compared, smallest first (the columns).</param>
public sealed record SplitTreeChart(string Title, IReadOnlyList<int> Widths, IReadOnlyList<SplitMember> Members)
{
    const int Indent = 74, RowHeight = 18, Left = 12, LabelChars = 64;
    static readonly string[] Palette = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A node's link (page address), or null for none; inline drawings only.</summary>
    public Func<SplitMember, string?>? Link { get; init; }
    /// <summary>The latent to mark (the page's own), if any.</summary>
    public (int Width, int Latent)? Current { get; init; }

    int Top => 40;
    public int Width => Left + (Widths.Count - 1) * Indent + 10 + (int)(LabelChars * 6.3) + 10;
    public int Height => Top + Members.Count * RowHeight;

    /// <summary>The members in drawing order with their depth-first rows: roots by (width, latent), children by descending sim.</summary>
    public IReadOnlyList<SplitMember> Order()
    {
        var byNode = Members.ToDictionary(m => (m.Width, m.Latent));
        var children = Members.Where(m => m.Parent is { } p && byNode.ContainsKey(p)).GroupBy(m => m.Parent!.Value)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(m => m.ParentSimilarity).ThenBy(m => m.Latent).ToList());
        var order = new List<SplitMember>(Members.Count);
        var stack = new Stack<SplitMember>();
        foreach (var root in Members.Where(m => m.Parent is not { } p || !byNode.ContainsKey(p)).OrderByDescending(m => m.Width).ThenByDescending(m => m.Latent))
            stack.Push(root);
        while (stack.Count > 0)
        {
            var m = stack.Pop();
            order.Add(m);
            if (children.TryGetValue((m.Width, m.Latent), out var kids))
                for (int i = kids.Count - 1; i >= 0; i--) stack.Push(kids[i]);
        }
        return order;
    }

    public string ToFile() => Svg.Document(Width, Height, Draw);

    /// <summary>An inline &lt;svg&gt; at its natural size (the page scrolls it), labelled for screen readers.</summary>
    public void AppendSvg(StringBuilder sb)
    {
        sb.Append("<svg class=\"splittree\" width=\"").Append(Width).Append("\" height=\"").Append(Height).Append("\" viewBox=\"0 0 ").Append(Width).Append(' ')
          .Append(Height).Append("\" role=\"img\" aria-label=\"").Append(Svg.Escape(Title)).Append("\">");
        Draw(sb);
        sb.Append("</svg>");
    }

    double X(int width) => Left + Math.Max(0, IndexOf(width)) * Indent;
    int IndexOf(int width) { for (int k = 0; k < Widths.Count; k++) if (Widths[k] == width) return k; return -1; }

    void Draw(StringBuilder sb)
    {
        Svg.Text(sb, "title", Left, 14, Title);
        for (int k = 0; k < Widths.Count; k++) Svg.Text(sb, "tick", Left + k * Indent - 4, 32, Widths[k].ToString("N0", Inv));
        var order = Order();
        var row = new Dictionary<(int, int), int>();
        for (int i = 0; i < order.Count; i++) row[(order[i].Width, order[i].Latent)] = i;
        double Y(int i) => Top + i * RowHeight + RowHeight / 2.0;
        foreach (var m in order)
            if (m.Parent is { } p && row.TryGetValue(p, out int pr))
                sb.Append("<path class=\"edge\" fill=\"none\" stroke=\"#98a2b3\" d=\"M").Append(Svg.Num(X(p.Width))).Append(' ').Append(Svg.Num(Y(pr) + 4))
                  .Append(" V").Append(Svg.Num(Y(row[(m.Width, m.Latent)]))).Append(" H").Append(Svg.Num(X(m.Width) - 4)).Append("\"/>");
        for (int i = 0; i < order.Count; i++)
        {
            var m = order[i];
            bool on = Current is { } c && c.Width == m.Width && c.Latent == m.Latent;
            string? href = Link?.Invoke(m);
            sb.Append("<g class=\"node").Append(on ? " on" : "").Append("\" data-width=\"").Append(m.Width).Append("\" data-latent=\"").Append(m.Latent).Append("\">");
            if (href != null) sb.Append("<a href=\"").Append(Svg.Escape(href)).Append("\">");
            sb.Append("<title>").Append(Svg.Escape(Tooltip(m))).Append("</title>");
            sb.Append("<circle cx=\"").Append(Svg.Num(X(m.Width))).Append("\" cy=\"").Append(Svg.Num(Y(i))).Append("\" r=\"").Append(on ? 5.5 : 4)
              .Append("\" fill=\"").Append(Palette[Math.Max(0, IndexOf(m.Width)) % Palette.Length]).Append('"').Append(on ? " stroke=\"#111\" stroke-width=\"1.5\"" : "").Append("/>");
            Svg.Text(sb, href != null ? "label link" : "label", X(m.Width) + 8, Y(i) + 4, Label(m));
            if (href != null) sb.Append("</a>");
            sb.Append("</g>\n");
        }
    }

    static string Label(SplitMember m)
    {
        string text = $"#{m.Latent}";
        if (m.Explanation is { Length: > 0 } e) text += " " + e;
        return text.Length <= LabelChars ? text : text[..(LabelChars - 1)] + "…";
    }

    static string Tooltip(SplitMember m) =>
        string.Create(Inv, $"width {m.Width:N0} · latent {m.Latent} · density {m.Density:0.###E+0}") +
        (m.Parent is { } p ? string.Create(Inv, $" · sim {m.ParentSimilarity:0.00} to {p.Width:N0} #{p.Latent}") : "") +
        (m.Explanation is { Length: > 0 } e ? "\n" + e : "");
}
