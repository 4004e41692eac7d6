using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>One edge of the split graph: latent A of dictionary <c>Dictionary</c> and latent B of the next larger one.</summary>
public sealed record SplitEdge(int Dictionary, int A, int B, double Similarity, double SmallToLarge, double LargeToSmall);

/// <summary>
/// A family: latents of several widths joined by split edges (a tree of best parents, or a connected component, by
/// <see cref="SplitFamilyRule"/>), as (dictionary, latent) pairs in width order, with the edges that join them.
/// </summary>
public sealed record SplitFamily(int Id, IReadOnlyList<(int Dictionary, int Latent)> Members, IReadOnlyList<SplitEdge> Edges)
{
    public int Widths => Members.Select(m => m.Dictionary).Distinct().Count();
}

/// <summary>
/// The split graph across dictionaries of growing width: every edge above the threshold, each latent's firing density
/// and its best parent (<c>Parent[k][b]</c>, the latent of dictionary k − 1 it is most similar to above the threshold,
/// −1 for none; <c>ParentSimilarity[k][b]</c> its sim), and the families under <c>Rule</c>.
/// </summary>
public sealed record SplitGraph(int[] Widths, double[][] Density, IReadOnlyList<SplitEdge> Edges, IReadOnlyList<SplitFamily> Families, long Tokens,
    double Threshold, double MinDensity, SplitFamilyRule Rule, int[][] Parent, double[][] ParentSimilarity);

/// <summary>
/// Feature splitting (docs/METHODS.md §3.5): dictionaries of growing width read the same rows; between each one and the
/// next larger, sim(a, b) = max(mc(a→b), mc(b→a)) from <see cref="SplitSums"/>, an edge where sim exceeds the threshold
/// (0.4), ultralow latents (density below <c>minDensity</c>) left out. Families span at least two widths, largest
/// first: by default (<see cref="SplitFamilyRule.Tree"/>) each latent joins only its best parent's family, so families
/// are trees; with <see cref="SplitFamilyRule.Components"/> every edge joins, so families are connected components.
/// </summary>
public static class FeatureSplits
{
    public static SplitGraph Build(IReadOnlyList<SparseAutoencoder> dictionaries, IUnitBatches rows, double threshold = 0.4, double minDensity = 1e-5,
        SplitFamilyRule rule = SplitFamilyRule.Tree, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        if (dictionaries.Count < 2) throw new UserError($"feature splitting needs at least two dictionaries of different widths, got {dictionaries.Count}");
        var ordered = dictionaries.OrderBy(d => d.DSae).ToArray();
        for (int k = 1; k < ordered.Length; k++)
            if (ordered[k].DSae == ordered[k - 1].DSae) throw new UserError($"two dictionaries of width {ordered[k].DSae}: give one per width");
        int dIn = rows.Layouts[0].Units;
        foreach (var d in ordered)
            if (d.DIn != dIn) throw new UserError($"a dictionary of width {d.DSae} reads d_in = {d.DIn} values per token, but the rows have {dIn}");

        var sums = Enumerable.Range(0, ordered.Length - 1).Select(k => new SplitSums(ordered[k].DSae, ordered[k + 1].DSae)).ToArray();
        var buffer = new[] { GC.AllocateUninitializedArray<float>(rows.MaxTokens * dIn) };
        using (var task = (progress ?? IProgressReporter.None).Start("splits: encode + co-active sums", rows.BatchCount, "batch"))
            for (int batch = 0; batch < rows.BatchCount; batch++)
            {
                cancel.ThrowIfCancellationRequested();
                int n = rows.Read(batch, buffer);
                var x = Tensor.FromArray(buffer[0].AsSpan(0, n * dIn), n, dIn);
                var codes = ordered.Select(d => d.Encode(x)).ToArray();
                for (int k = 0; k < sums.Length; k++) sums[k].Add(codes[k], codes[k + 1]);
                task.Advance(1);
            }
        long tokens = sums[0].Tokens;
        if (tokens == 0) throw new UserError("no rows read: nothing to compare");

        var density = new double[ordered.Length][];
        for (int k = 0; k < sums.Length; k++)
        {
            density[k] = sums[k].SmallFiring.Select(c => (double)c / tokens).ToArray();
            density[k + 1] = sums[k].LargeFiring.Select(c => (double)c / tokens).ToArray();
        }
        var edges = new List<SplitEdge>();
        var best = new SplitEdge?[ordered.Length][];
        best[0] = new SplitEdge?[ordered[0].DSae];
        for (int k = 0; k < sums.Length; k++)
        {
            best[k + 1] = new SplitEdge?[ordered[k + 1].DSae];
            for (int a = 0; a < sums[k].Small; a++)
            {
                if (density[k][a] < minDensity) continue;
                foreach (int b in sums[k].Partners(a))
                {
                    if (density[k + 1][b] < minDensity) continue;
                    var (ab, ba) = sums[k].Cosines(a, b);
                    double sim = Math.Max(ab, ba);
                    if (sim <= threshold) continue;
                    var e = new SplitEdge(k, a, b, sim, ab, ba);
                    edges.Add(e);
                    // Ties go to the smaller parent id (a ascends), so the tree does not depend on anything but the sums.
                    if (best[k + 1][b] is not { } held || sim > held.Similarity) best[k + 1][b] = e;
                }
            }
        }
        var widths = ordered.Select(d => d.DSae).ToArray();
        var joining = rule == SplitFamilyRule.Tree ? best.SelectMany(row => row).OfType<SplitEdge>().ToList() : edges;
        return new SplitGraph(widths, density, edges, Families(widths, joining), tokens, threshold, minDensity, rule,
            best.Select(row => row.Select(e => e?.A ?? -1).ToArray()).ToArray(), best.Select(row => row.Select(e => e?.Similarity ?? 0).ToArray()).ToArray());
    }

    /// <summary>
    /// Connected components of the joining edges (union–find over (dictionary, latent) nodes) spanning two or more widths;
    /// for best-parent edges (one per latent) each component is a tree.
    /// </summary>
    static List<SplitFamily> Families(int[] widths, List<SplitEdge> edges)
    {
        var offset = new int[widths.Length + 1];
        for (int k = 0; k < widths.Length; k++) offset[k + 1] = offset[k] + widths[k];
        var parent = Enumerable.Range(0, offset[^1]).ToArray();
        int Find(int x) { while (parent[x] != x) x = parent[x] = parent[parent[x]]; return x; }
        foreach (var e in edges) parent[Find(offset[e.Dictionary] + e.A)] = Find(offset[e.Dictionary + 1] + e.B);
        var groups = new Dictionary<int, (List<(int, int)> Members, List<SplitEdge> Edges)>();
        foreach (var e in edges)
        {
            int root = Find(offset[e.Dictionary] + e.A);
            if (!groups.TryGetValue(root, out var g)) groups[root] = g = ([], []);
            g.Edges.Add(e);
        }
        foreach (var (root, g) in groups)
        {
            var nodes = new SortedSet<(int, int)>();
            foreach (var e in g.Edges) { nodes.Add((e.Dictionary, e.A)); nodes.Add((e.Dictionary + 1, e.B)); }
            g.Members.AddRange(nodes);
        }
        return groups.Values.Where(g => g.Members.Select(m => m.Item1).Distinct().Count() >= 2)
            .OrderByDescending(g => g.Members.Count).ThenBy(g => g.Members[0])
            .Select((g, i) => new SplitFamily(i, g.Members, g.Edges)).ToList();
    }
}
