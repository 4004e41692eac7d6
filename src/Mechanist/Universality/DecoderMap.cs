using System.Globalization;
using System.Text;
using Mechanist.Features.Statistics;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// What the feature map is laid out from (docs/METHODS.md §3.5): the live latents of several dictionaries of one hook
/// together, each with its nearest decoder directions among all of them by cosine (itself first at distance 0, then the
/// 14 nearest at 1 − cos), the neighbour graph UMAP starts from. The browser's Map page lays the graph out in 2-D with
/// UMAP (umap-js: 15 neighbours, min_dist 0.05) and colours each point by its dictionary. Neighbours are exact (one
/// GEMM per chunk, <see cref="NearestNeighbours"/>) rather than UMAP's approximate search, so the page only runs the layout.
/// </summary>
/// <param name="Widths">The dictionaries' widths, smallest first.</param>
/// <param name="Points">Per point: its dictionary (index into <paramref name="Widths"/>) and latent.</param>
/// <param name="Neighbours">Per point, the indices of its nearest points (itself first).</param>
/// <param name="Distances">Per point, the cosine distances to those points.</param>
public sealed record DecoderMap(int[] Widths, IReadOnlyList<(int Dictionary, int Latent)> Points, int[][] Neighbours, float[][] Distances)
{
    public const string FileName = "map.json";
    /// <summary>UMAP's n_neighbors as in Towards Monosemanticity's map (the point itself counts as one).</summary>
    public const int NeighbourCount = 15;

    /// <param name="dictionaries">The dictionaries, smallest first (as <see cref="SplitGraph.Widths"/>).</param>
    /// <param name="density">Per dictionary and latent, the fraction of tokens it fired on; dead and ultralow latents (below
    /// <paramref name="minDensity"/>) are left off the map, their directions being noise.</param>
    public static DecoderMap Build(IReadOnlyList<SparseAutoencoder> dictionaries, double[][] density, double minDensity)
    {
        var points = new List<(int, int)>();
        for (int k = 0; k < dictionaries.Count; k++)
            for (int latent = 0; latent < dictionaries[k].DSae; latent++)
                if (density[k][latent] > 0 && density[k][latent] >= minDensity) points.Add((k, latent));
        int dIn = dictionaries[0].DIn;
        var directions = new Tensor(Math.Max(points.Count, 1), dIn);
        for (int i = 0; i < points.Count; i++)
        {
            var (k, latent) = points[i];
            dictionaries[k].WDec.Value.Row(latent).CopyTo(directions.Row(i));
        }
        var nearest = NearestNeighbours.Compute(directions.Rows(0, points.Count), NeighbourCount - 1);
        var neighbours = new int[points.Count][];
        var distances = new float[points.Count][];
        for (int i = 0; i < points.Count; i++)
        {
            neighbours[i] = [i, .. nearest[i].Select(n => n.Id)];
            distances[i] = [0f, .. nearest[i].Select(n => Math.Max(0f, 1f - n.Cosine))];
        }
        return new DecoderMap(dictionaries.Select(d => d.DSae).ToArray(), points, neighbours, distances);
    }

    /// <summary>
    /// map.json: <c>{"widths": [...], "points": [[width, latent, explanation|null], ...], "neighbours": [[...]], "distances": [[...]]}</c>,
    /// written by hand because a map of tens of thousands of points is megabytes of small arrays.
    /// </summary>
    /// <param name="explain">The best explanation of (dictionary, latent), or null.</param>
    public string ToJson(Func<int, int, string?>? explain = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(64 + Points.Count * 200);
        sb.Append("{\"widths\":[").AppendJoin(',', Widths).Append("],\"points\":[");
        for (int i = 0; i < Points.Count; i++)
        {
            var (k, latent) = Points[i];
            string? text = explain?.Invoke(k, latent);
            sb.Append(i == 0 ? "" : ",").Append('[').Append(Widths[k]).Append(',').Append(latent).Append(',')
              .Append(text == null ? "null" : System.Text.Json.JsonSerializer.Serialize(text)).Append(']');
        }
        sb.Append("],\"neighbours\":[");
        for (int i = 0; i < Points.Count; i++) sb.Append(i == 0 ? "[" : ",[").AppendJoin(',', Neighbours[i]).Append(']');
        sb.Append("],\"distances\":[");
        for (int i = 0; i < Points.Count; i++)
            sb.Append(i == 0 ? "[" : ",[").AppendJoin(',', Distances[i].Select(d => d.ToString("0.#####", inv))).Append(']');
        return sb.Append("]}\n").ToString();
    }
}
