using System.Text.Json.Nodes;
using Mechanist.Cli.Commands;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Sae;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

/// <summary>Feature splitting (docs/METHODS.md §3.5): the co-active sums and the split graph.</summary>
// Its command tests read what the command printed (Console.Out is process-wide): run alone.
[Collection("console-alone")]
public class FeatureSplitsTests
{
    static SparseCodes Codes(int rows, int latents, int seed)
    {
        var rng = new Random(seed);
        var offsets = new int[rows + 1];
        List<int> idx = []; List<float> val = [];
        for (int t = 0; t < rows; t++)
        {
            var set = new SortedSet<int>();
            int n = rng.Next(0, 4);
            while (set.Count < n) set.Add(rng.Next(latents));
            foreach (int i in set) { idx.Add(i); val.Add((float)(0.2 + rng.NextDouble())); }
            offsets[t + 1] = idx.Count;
        }
        return new SparseCodes(latents, offsets, [.. idx], [.. val]);
    }

    /// <summary>cos(f_a|T_a, f_b|T_a) straight from the definition, over dense columns.</summary>
    static double Restricted(Tensor fa, int a, Tensor fb, int b)
    {
        double p = 0, qa = 0, qb = 0;
        for (int t = 0; t < fa.RowCount; t++)
        {
            double x = fa.Row(t)[a];
            if (x == 0) continue;
            double y = fb.Row(t)[b];
            p += x * y; qa += x * x; qb += y * y;
        }
        return p == 0 ? 0 : p / Math.Sqrt(qa * qb);
    }

    [Fact]
    public void Co_active_sums_give_the_restricted_cosines_of_the_definition()
    {
        var sums = new SplitSums(12, 20);
        var parts = new[] { (Codes(400, 12, 1), Codes(400, 20, 2)), (Codes(300, 12, 3), Codes(300, 20, 4)) };
        foreach (var (s, l) in parts) sums.Add(s, l);
        Tensor Dense(IEnumerable<SparseCodes> c)
        {
            var list = c.Select(x => x.ToDense()).ToArray();
            var all = new Tensor(list.Sum(x => x.RowCount), list[0].Columns);
            int r = 0;
            foreach (var x in list) { x.Span.CopyTo(all.Span[(r * x.Columns)..]); r += x.RowCount; }
            return all;
        }
        var ds = Dense(parts.Select(p => p.Item1)); var dl = Dense(parts.Select(p => p.Item2));
        for (int a = 0; a < 12; a++)
            for (int b = 0; b < 20; b++)
            {
                var (ab, ba) = sums.Cosines(a, b);
                Assert.Equal(Restricted(ds, a, dl, b), ab, 12);
                Assert.Equal(Restricted(dl, b, ds, a), ba, 12);
            }
    }

    /// <summary>A ReLU dictionary whose latent i reads the sum of the inputs in <paramref name="reads"/>[i] (with weights <paramref name="weights"/>[i], else 1).</summary>
    static string Dictionary(string root, int[][] reads, float[][]? weights = null)
    {
        var sae = new SparseAutoencoder(SaeArchitecture.Relu, 4, reads.Length);
        for (int i = 0; i < reads.Length; i++)
            for (int n = 0; n < reads[i].Length; n++)
            {
                int j = reads[i][n];
                sae.WEnc.Value.Row(i)[j] = weights?[i][n] ?? 1;
                sae.WDec.Value.Row(i)[j] = (float)(1 / Math.Sqrt(reads[i].Length));
            }
        sae.Metadata = new SaeMetadata { Hook = HookPoint.MlpPost(0) };
        string dir = Path.Combine(root, $"w{reads.Length}");
        sae.Save(dir);
        return dir;
    }

    [Fact]
    public void A_feature_reading_two_directions_splits_into_the_two_latents_of_the_larger_dictionary()
    {
        string root = TestPaths.NewTempDir();
        // Width 2: latent 0 fires on directions 0 and 1, latent 1 on direction 2. Width 4: one latent per direction.
        Dictionary(root, [[0, 1], [2]]);
        Dictionary(root, [[0], [1], [2], [3]]);
        string acts = OneDirectionRows(root, 2000, 5);
        string outDir = Path.Combine(root, "splits");
        var (code, stdout, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", root, "--acts", acts, "--out", outDir);
        Assert.True(code == 0, err);
        var edges = File.ReadAllLines(Path.Combine(outDir, SplitGraphOutput.EdgesFile));
        Assert.Equal(SplitGraphOutput.EdgesHeader, edges[0]);
        Assert.Equal(["2,0,4,0,1,0.7,1", "2,0,4,1,1,0.7,1", "2,1,4,2,1,1,1"], edges.Skip(1).Select(l => Round(l)).Order().ToArray());
        var families = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, SplitGraphOutput.FamiliesFile)))!.AsArray();
        Assert.Equal(2, families.Count);
        Assert.Equal(3, (int)families[0]!["size"]!);
        Assert.Equal(["2#0", "4#0", "4#1"], families[0]!["members"]!.AsArray().Select(m => $"{m!["width"]}#{m["latent"]}").ToArray());
        Assert.Equal(["2#1", "4#2"], families[1]!["members"]!.AsArray().Select(m => $"{m!["width"]}#{m["latent"]}").ToArray());
        Assert.Contains("Family 0: 1 → 2 latents (widths 2 → 4)", stdout);
        Assert.Equal([null, "[2,0]", "[2,0]"], families[0]!["members"]!.AsArray().Select(m => m!["parent"]?.ToJsonString()).ToArray());

        // The map's neighbour graph: every live latent of both widths, itself first, then the others by cosine distance.
        var map = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, DecoderMap.FileName)))!;
        Assert.Equal(["2#0", "2#1", "4#0", "4#1", "4#2", "4#3"], map["points"]!.AsArray().Select(p => $"{p![0]}#{p[1]}").ToArray());
        var neighbours = map["neighbours"]!.AsArray().Select(r => r!.AsArray().Select(v => (int)v!).ToArray()).ToArray();
        var distances = map["distances"]!.AsArray().Select(r => r!.AsArray().Select(v => (double)v!).ToArray()).ToArray();
        Assert.All(Enumerable.Range(0, 6), i => { Assert.Equal(i, neighbours[i][0]); Assert.Equal(0, distances[i][0]); Assert.Equal(6, neighbours[i].Length); });
        Assert.Equal(4, neighbours[1][1]); // 2#1 and 4#2 read the same direction
        Assert.Equal(0, distances[1][1], 5);
        Assert.Equal([2, 3], neighbours[0][1..3].Order()); // 2#0 reads directions 0 and 1: 1 − 1/√2 from 4#0 and 4#1
        Assert.Equal(1 - 1 / Math.Sqrt(2), distances[0][1], 4);
        Assert.Equal(1, distances[0][5], 5); // orthogonal
    }

    /// <summary>Rows that each carry one of the four input directions, chosen at random, with a magnitude in [0.5, 1.5).</summary>
    static string OneDirectionRows(string root, int rows, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * 4];
        for (int t = 0; t < rows; t++) x[t * 4 + rng.Next(4)] = (float)(0.5 + rng.NextDouble());
        string acts = Path.Combine(root, "acts.npy");
        Npy.Save(acts, x, rows, 4);
        return acts;
    }

    static string[] Members(JsonNode family) => family["members"]!.AsArray().Select(m => $"{m!["width"]}#{m["latent"]}").ToArray();

    [Fact]
    public void Best_parent_trees_keep_two_planted_families_apart_where_connected_components_chain_them()
    {
        // Width 2: parent 0 reads directions 0 and 1, parent 1 reads 2 and 3. Width 5: one child per direction, and latent 4,
        // which reads direction 1 fully and direction 2 at half weight: sim ≈ 0.89 to parent 0 and ≈ 0.71 to parent 1, both
        // above 0.4. Every edge chains the two families into one; the best parent keeps latent 4 with parent 0 only.
        string root = TestPaths.NewTempDir();
        Dictionary(root, [[0, 1], [2, 3]]);
        Dictionary(root, [[0], [1], [2], [3], [1, 2]], [[1], [1], [1], [1], [1, 0.5f]]);
        string acts = OneDirectionRows(root, 3000, 7);

        string trees = Path.Combine(root, "trees");
        var (code, stdout, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", root, "--acts", acts, "--out", trees);
        Assert.True(code == 0, err);
        var edges = File.ReadAllLines(Path.Combine(trees, SplitGraphOutput.EdgesFile)).Skip(1).ToArray();
        Assert.Contains(edges, e => e.StartsWith("2,1,5,4,")); // splits.csv keeps every edge, the chaining one too
        var families = JsonNode.Parse(File.ReadAllText(Path.Combine(trees, SplitGraphOutput.FamiliesFile)))!.AsArray();
        Assert.Equal(2, families.Count);
        Assert.Equal(["2#0", "5#0", "5#1", "5#4"], Members(families[0]!));
        Assert.Equal(["2#1", "5#2", "5#3"], Members(families[1]!));
        var bridge = families[0]!["members"]!.AsArray().Single(m => (int)m!["latent"]! == 4 && (int)m["width"]! == 5)!;
        Assert.Equal("[2,0]", bridge["parent"]!.ToJsonString());
        Assert.InRange((double)bridge["parent_sim"]!, 0.85, 0.93);
        Assert.All(families, f => Assert.Equal((int)f!["size"]! - 1, f["edges"]!.AsArray().Count)); // a tree: one edge fewer than latents
        Assert.Contains("best-parent trees", stdout);

        // The pictures: one tree per family, every latent labelled with its id.
        string svg = File.ReadAllText(Path.Combine(trees, SplitGraphOutput.PictureFile(0)));
        Assert.StartsWith("<svg", svg);
        Assert.Contains("Family 0: 1 → 3 latents (widths 2 → 5)", svg);
        foreach (string id in new[] { "#0", "#1", "#4" }) Assert.Contains($">{id}<", svg);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(svg, "class=\"edge\"").Count);
        Assert.True(File.Exists(Path.Combine(trees, SplitGraphOutput.PictureFile(1))));

        // The old rule on the same graph: one family of all seven.
        string components = Path.Combine(root, "components");
        (code, _, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", root, "--acts", acts, "--out", components, "--families", "components");
        Assert.True(code == 0, err);
        families = JsonNode.Parse(File.ReadAllText(Path.Combine(components, SplitGraphOutput.FamiliesFile)))!.AsArray();
        Assert.Equal(["2#0", "2#1", "5#0", "5#1", "5#2", "5#3", "5#4"], Members(Assert.Single(families)!));
    }

    /// <summary>A CSV edge with its cosines cut to one decimal (mc(a→b) of a two-direction latent on either half is about 0.7).</summary>
    static string Round(string line)
    {
        var c = line.Split(',');
        return string.Join(',', c.Take(4).Concat(c.Skip(4).Select(v => Math.Round(double.Parse(v, System.Globalization.CultureInfo.InvariantCulture), 1).ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Dictionaries_of_other_hooks_or_one_width_are_refused_and_nothing_is_written()
    {
        string root = TestPaths.NewTempDir();
        string one = Dictionary(Path.Combine(root, "one"), [[0], [1]]);
        string same = Dictionary(Path.Combine(root, "same"), [[2], [3]]);
        string acts = Path.Combine(root, "acts.npy");
        Npy.Save(acts, new float[40], 10, 4);
        string outDir = Path.Combine(root, "out");
        var (code, _, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", one, same, "--acts", acts, "--out", outDir);
        Assert.Equal(1, code);
        Assert.Contains("two dictionaries of width 2", err);
        Assert.False(Directory.Exists(outDir));
    }
}
