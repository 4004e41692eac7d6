using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The synthetic activation sets with a known dictionary (docs/METHODS.md §2.9): rows are exactly the sum of their
/// true codes' features, firing rates and within-group correlation are what was asked for, the files hold what
/// was generated, and MMCS scores a dictionary as its definition says.
/// </summary>
public class SyntheticDataTests
{
    [Theory]
    [InlineData(0.5, 0)]
    [InlineData(0.3, -0.524400512708041)]
    [InlineData(0.9, 1.2815515655446)]
    [InlineData(0.975, 1.95996398454005)]
    [InlineData(0.99, 2.32634787404084)]
    [InlineData(0.999, 3.09023230616781)]
    [InlineData(0.02, -2.05374891063182)]
    [InlineData(0.001, -3.09023230616781)]
    [InlineData(1e-6, -4.75342430882289)]
    public void Inverse_normal_matches_tabulated_quantiles_in_every_region(double q, double expected) =>
        Assert.True(Math.Abs(SyntheticData.InverseNormal(q) - expected) <= 2e-9 * Math.Max(1, Math.Abs(expected)),
            $"Φ⁻¹({q}) = {SyntheticData.InverseNormal(q):R}, expected {expected}");

    [Fact]
    public void Inverse_normal_is_infinite_at_0_and_1()
    {
        Assert.Equal(double.NegativeInfinity, SyntheticData.InverseNormal(0));
        Assert.Equal(double.PositiveInfinity, SyntheticData.InverseNormal(1));
    }

    [Fact]
    public void Bad_settings_are_refused_naming_the_option()
    {
        Assert.Contains("--d, --features and --rows", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { D = 0 })).Message);
        Assert.Contains("--d, --features and --rows", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Features = 0 })).Message);
        Assert.Contains("--d, --features and --rows", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Rows = 0 })).Message);
        Assert.Contains("--l0 must be in (0, 16]", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Features = 16, L0 = 17 })).Message);
        Assert.Contains("--l0", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { L0 = 0 })).Message);
        Assert.Contains("--correlation", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Correlation = 1 })).Message);
        Assert.Contains("--correlation", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Correlation = -0.1 })).Message);
        Assert.Contains("--noise -1", Assert.Throws<UserError>(() => new SyntheticData(new SyntheticOptions { Noise = -1 })).Message);
        _ = new SyntheticData(new SyntheticOptions { Features = 16, L0 = 16, Correlation = 0 }); // the edges allowed
    }

    [Fact]
    public void Features_are_unit_rows_drawn_from_the_seed()
    {
        var a = new SyntheticData(new SyntheticOptions { D = 12, Features = 20, Seed = 4 });
        var b = new SyntheticData(new SyntheticOptions { D = 12, Features = 20, Seed = 4 });
        var c = new SyntheticData(new SyntheticOptions { D = 12, Features = 20, Seed = 5 });
        Assert.Equal(a.Dictionary.Span.ToArray(), b.Dictionary.Span.ToArray());
        Assert.NotEqual(a.Dictionary.Span.ToArray(), c.Dictionary.Span.ToArray());
        for (int j = 0; j < 20; j++)
        {
            double norm = 0;
            foreach (float v in a.Dictionary.Row(j)) norm += v * v;
            Assert.Equal(1, norm, 1e-5);
        }
    }

    static (Tensor x, SparseCodes codes, SyntheticData data) Generate(SyntheticOptions o)
    {
        var data = new SyntheticData(o);
        var x = new Tensor((int)o.Rows, o.D);
        return (x, data.Generate(x), data);
    }

    /// <summary>Row t as the sum of its true codes' features, in float64.</summary>
    static double[] FromCodes(SparseCodes codes, Tensor dictionary, int t, int d)
    {
        var row = new double[d];
        var idx = codes.RowIndices(t); var val = codes.RowValues(t);
        for (int e = 0; e < idx.Length; e++)
            for (int k = 0; k < d; k++) row[k] += val[e] * dictionary[idx[e] * d + k];
        return row;
    }

    [Fact]
    public void Rows_are_the_sum_of_their_codes_features_with_magnitudes_in_range_at_the_asked_rate()
    {
        var o = new SyntheticOptions { D = 10, Features = 40, L0 = 4, Rows = 5000, MinMagnitude = 0.25, MaxMagnitude = 2, Seed = 9 };
        var (x, codes, data) = Generate(o);
        Assert.Equal(5000, codes.Rows);
        Assert.Equal(40, codes.Latents);
        Assert.InRange(codes.L0, 3.85, 4.15); // binomial(40, 0.1) per row: the mean of 5,000 has a standard error of 0.027
        var perFeature = new int[40];
        for (int t = 0; t < o.Rows; t++)
        {
            var idx = codes.RowIndices(t); var val = codes.RowValues(t);
            for (int e = 0; e < idx.Length; e++)
            {
                perFeature[idx[e]]++;
                Assert.InRange(val[e], 0.25f, 2f);
                if (e > 0) Assert.True(idx[e] > idx[e - 1]);
            }
            var expected = FromCodes(codes, data.Dictionary, t, o.D);
            for (int k = 0; k < o.D; k++) Assert.Equal(expected[k], x[t * o.D + k], 1e-5);
        }
        Assert.All(perFeature, n => Assert.InRange(n, 500 - 5 * 21, 500 + 5 * 21)); // each fires with p = 0.1 (sd 21 of 5,000)
        double mean = 0; foreach (float v in codes.Values) mean += v;
        Assert.InRange(mean / codes.Values.Length, 1.125 - 0.03, 1.125 + 0.03); // uniform on [0.25, 2]
    }

    [Fact]
    public void Noise_adds_an_isotropic_gaussian_of_the_asked_deviation()
    {
        var o = new SyntheticOptions { D = 8, Features = 16, L0 = 2, Rows = 4000, Noise = 0.2, Seed = 3 };
        var (x, codes, data) = Generate(o);
        double sq = 0;
        for (int t = 0; t < o.Rows; t++)
        {
            var clean = FromCodes(codes, data.Dictionary, t, o.D);
            for (int k = 0; k < o.D; k++) sq += (x[t * o.D + k] - clean[k]) * (x[t * o.D + k] - clean[k]);
        }
        Assert.InRange(Math.Sqrt(sq / (o.Rows * o.D)), 0.19, 0.21);
    }

    [Fact]
    public void Correlated_features_fire_together_within_their_group_at_the_same_rate()
    {
        var o = new SyntheticOptions { D = 8, Features = 32, L0 = 4, Rows = 20000, Correlation = 0.6, GroupSize = 8, Seed = 17 };
        var (_, codes, _) = Generate(o);
        Assert.InRange(codes.L0, 3.8, 4.2); // the copula keeps each feature's rate at p = L0 / features
        long same = 0, other = 0;
        for (int t = 0; t < o.Rows; t++)
        {
            var on = new bool[32];
            foreach (int i in codes.RowIndices(t)) on[i] = true;
            if (on[0] && on[1]) same++;   // one group
            if (on[0] && on[8]) other++;  // two groups
        }
        // Independent: P(both) = p² = 1/64, about 310 of 20,000 rows; correlated within a group (ρ = 0.6): about 3.4 times that.
        Assert.InRange(other, 200, 450);
        Assert.True(same > 2 * other, $"same group {same}, different groups {other}");
    }

    [Fact]
    public void Write_saves_the_rows_and_the_truth_beside_them_and_refuses_to_overwrite()
    {
        string dir = TestPaths.NewTempDir("mechanist-synth");
        try
        {
            string npy = Path.Combine(dir, "acts.npy");
            var o = new SyntheticOptions { D = 6, Features = 12, L0 = 2, Rows = 50, Seed = 2, Noise = 0.01 };
            string truth = SyntheticData.Write(o, npy, overwrite: false);
            Assert.Equal(Path.Combine(dir, "acts.truth"), truth);
            Assert.Equal(truth, SyntheticData.TruthDirFor(npy));
            var (x, codes, data) = Generate(o);
            using (var f = NpyFile.Open(npy)) { Assert.Equal([50L, 6L], f.Shape); Assert.Equal(x.Span.ToArray(), f.ReadFloat().Span.ToArray()); }
            Assert.Equal(data.Dictionary.Span.ToArray(), SyntheticData.LoadDictionary(truth).Span.ToArray());
            Assert.Equal(data.Dictionary.Span.ToArray(), SyntheticData.LoadDictionary(Path.Combine(truth, "dictionary.npy")).Span.ToArray());
            using (var f = NpyFile.Open(Path.Combine(truth, "offsets.npy"))) Assert.Equal([51L], f.Shape);
            using (var f = NpyFile.Open(Path.Combine(truth, "indices.npy"))) Assert.Equal([(long)codes.Indices.Length], f.Shape);
            using (var f = NpyFile.Open(Path.Combine(truth, "values.npy"))) Assert.Equal(codes.Values, f.ReadFloat().Span.ToArray());
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(truth, "synth.json")))!;
            Assert.Equal("acts.npy", (string)json["data"]!);
            Assert.Equal(codes.L0, (double)json["mean_l0"]!);
            Assert.Equal(12, (int)json["features"]!);
            Assert.Equal(0.01, (double)json["noise"]!);
            Assert.Equal(2UL, (ulong)json["seed"]!);

            Assert.Contains("already exists", Assert.Throws<UserError>(() => SyntheticData.Write(o, npy, overwrite: false)).Message);
            SyntheticData.Write(o with { Seed = 3 }, npy, overwrite: true);
            Assert.NotEqual(data.Dictionary.Span.ToArray(), SyntheticData.LoadDictionary(truth).Span.ToArray());
            Assert.Contains("is a folder", Assert.Throws<UserError>(() => SyntheticData.Write(o, dir, overwrite: true)).Message);
            Assert.Contains("too large", Assert.Throws<UserError>(() => SyntheticData.Write(o with { Rows = Array.MaxLength, D = 2 }, Path.Combine(dir, "big.npy"), false)).Message);
            Assert.Contains("no true dictionary", Assert.Throws<UserError>(() => SyntheticData.LoadDictionary(Path.Combine(dir, "none"))).Message);
            Npy.Save(Path.Combine(dir, "flat.npy"), new float[4], 4);
            Assert.Equal("shape", Assert.Throws<DataFormatError>(() => SyntheticData.LoadDictionary(Path.Combine(dir, "flat.npy"))).Field);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Mmcs_is_the_mean_best_cosine_of_each_true_feature_and_recovered_counts_those_above_the_threshold()
    {
        var truth = new Tensor(3, 2);
        truth[0] = 1; truth[1] = 0;       // e1
        truth[2] = 0; truth[3] = 2;       // e2 (length 2: cosines, not dots)
        truth[4] = 1; truth[5] = 1;       // the diagonal
        var decoder = new Tensor(3, 2);
        decoder[0] = 3; decoder[1] = 0;   // e1 exactly
        decoder[2] = 0; decoder[3] = -1;  // −e2: cosine −1, never a match
        decoder[4] = 0; decoder[5] = 0;   // a zero row: cosine 0
        var (mmcs, recovered) = SyntheticData.Compare(truth, decoder);
        // best cosines: e1 → 1; e2 → 0 (the zero row beats −1); diagonal → 1/√2 (with e1).
        Assert.Equal((1 + 0 + 1 / Math.Sqrt(2)) / 3, mmcs, 1e-6);
        Assert.Equal(1.0 / 3, recovered, 1e-12);
        Assert.Equal(2.0 / 3, SyntheticData.Compare(truth, decoder, threshold: 0.7).Recovered, 1e-12);
        Assert.Equal(1.0 / 3, SyntheticData.Compare(truth, decoder, threshold: 1).Recovered, 1e-12); // ≥, not >
        Assert.Contains("d = 2, the SAE d_in = 3", Assert.Throws<UserError>(() => SyntheticData.Compare(truth, new Tensor(2, 3))).Message);
    }
}
