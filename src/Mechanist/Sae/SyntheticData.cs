using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>Settings of a synthetic activation set with a known dictionary (docs/METHODS.md §2.9).</summary>
public sealed record SyntheticOptions
{
    public int D { get; init; } = 64;
    public int Features { get; init; } = 256;
    /// <summary>Expected active features per row.</summary>
    public double L0 { get; init; } = 5;
    public long Rows { get; init; } = 200_000;
    /// <summary>Correlation of firing within groups of <see cref="GroupSize"/> features (Gaussian copula); 0 = independent.</summary>
    public double Correlation { get; init; }
    public int GroupSize { get; init; } = 8;
    /// <summary>Active magnitudes are uniform in [MinMagnitude, MaxMagnitude].</summary>
    public double MinMagnitude { get; init; } = 0.5;
    public double MaxMagnitude { get; init; } = 1.5;
    /// <summary>Standard deviation of isotropic Gaussian noise added to every row.</summary>
    public double Noise { get; init; }
    public ulong Seed { get; init; }

    public JsonObject ToJson() => new()
    {
        ["d"] = D, ["features"] = Features, ["l0"] = L0, ["rows"] = Rows, ["correlation"] = Correlation,
        ["group_size"] = GroupSize, ["min_magnitude"] = MinMagnitude, ["max_magnitude"] = MaxMagnitude,
        ["noise"] = Noise, ["seed"] = Seed,
    };
}

/// <summary>
/// Activations x = Σ_j a_j g_j (+ noise) from N random unit directions g_j with sparse, optionally
/// correlated activity, so an SAE's dictionary can be scored against the truth (MMCS, recovered fraction).
/// </summary>
public sealed class SyntheticData
{
    public SyntheticData(SyntheticOptions o)
    {
        if (o.D <= 0 || o.Features <= 0 || o.Rows <= 0) throw new UserError("--d, --features and --rows must be positive");
        if (!(o.L0 > 0 && o.L0 <= o.Features)) throw new UserError($"--l0 must be in (0, {o.Features}]");
        if (!(o.Correlation >= 0 && o.Correlation < 1)) throw new UserError("--correlation must be in [0, 1)");
        if (!(o.Noise >= 0)) throw new UserError($"--noise {o.Noise}: a standard deviation must be ≥ 0");
        Options = o;
        var rng = new Rng(o.Seed);
        Dictionary = new Tensor(o.Features, o.D);
        rng.FillNormal(Dictionary.Span, 0, 1);
        for (int j = 0; j < o.Features; j++)
        {
            var row = Dictionary.Row(j);
            float inv = 1 / MathF.Sqrt(VectorMath.Dot<float>(row, row));
            VectorMath.Scale(inv, row, row);
        }
    }

    public SyntheticOptions Options { get; }
    /// <summary>The true features g_j, unit rows [features, d].</summary>
    public Tensor Dictionary { get; }

    /// <summary>Generates every row into <paramref name="x"/> ([rows, d]) and returns the true codes.</summary>
    public SparseCodes Generate(Tensor x)
    {
        var o = Options;
        int m = o.Features, d = o.D;
        var rng = new Rng(o.Seed).Stream(1);
        double p = o.L0 / m;
        double cut = InverseNormal(1 - p);
        double rho = o.Correlation, shared = Math.Sqrt(rho), own = Math.Sqrt(1 - rho);
        int groups = (m + o.GroupSize - 1) / o.GroupSize;
        var groupNoise = new double[groups];
        var offsets = new int[x.RowCount + 1];
        var indices = new List<int>();
        var values = new List<float>();
        for (int t = 0; t < x.RowCount; t++)
        {
            var row = x.Row(t);
            row.Clear();
            if (rho > 0) for (int g = 0; g < groups; g++) groupNoise[g] = rng.NextNormal();
            for (int j = 0; j < m; j++)
            {
                bool on = rho > 0
                    ? shared * groupNoise[j / o.GroupSize] + own * rng.NextNormal() > cut
                    : rng.NextDouble() < p;
                if (!on) continue;
                float a = (float)(o.MinMagnitude + (o.MaxMagnitude - o.MinMagnitude) * rng.NextDouble());
                VectorMath.Axpy(a, Dictionary.Row(j), row);
                indices.Add(j); values.Add(a);
            }
            if (o.Noise > 0) for (int k = 0; k < d; k++) row[k] += (float)o.Noise * rng.NextNormal();
            offsets[t + 1] = indices.Count;
        }
        return new SparseCodes(m, offsets, [.. indices], [.. values]);
    }

    /// <summary>
    /// Writes the rows to <paramref name="npyPath"/> and the truth beside it in <c>NAME.truth/</c>:
    /// dictionary.npy [features, d], the codes in compressed rows (offsets.npy, indices.npy, values.npy) and synth.json.
    /// </summary>
    public static string Write(SyntheticOptions o, string npyPath, bool overwrite)
    {
        if (o.Rows * o.D > Array.MaxLength) throw new UserError("--rows × --d is too large for one file here");
        if (Directory.Exists(npyPath)) throw new UserError($"--out {npyPath} is a folder; give the path of the .npy file to write");
        string truthDir = TruthDirFor(npyPath);
        if (!overwrite && (File.Exists(npyPath) || Directory.Exists(truthDir))) throw new UserError($"{npyPath}: already exists (use --force to replace it)");
        var data = new SyntheticData(o);
        var x = new Tensor((int)o.Rows, o.D);
        var codes = data.Generate(x);
        AtomicDirectory.Create(truthDir, dir =>
        {
            Npy.Save(Path.Combine(dir, "dictionary.npy"), data.Dictionary);
            Npy.Save(Path.Combine(dir, "offsets.npy"), codes.Offsets, codes.Offsets.Length);
            Npy.Save(Path.Combine(dir, "indices.npy"), codes.Indices, codes.Indices.Length);
            Npy.Save(Path.Combine(dir, "values.npy"), codes.Values, codes.Values.Length);
            var json = o.ToJson();
            json["data"] = Path.GetFileName(npyPath);
            json["mean_l0"] = codes.L0;
            AtomicFile.WriteAllText(Path.Combine(dir, "synth.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }, overwrite);
        Npy.Save(npyPath, x);
        return truthDir;
    }

    public static string TruthDirFor(string npyPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(npyPath))!, Path.GetFileNameWithoutExtension(npyPath) + ".truth");

    /// <summary>Reads the true dictionary from a truth folder (or a dictionary .npy file directly).</summary>
    public static Tensor LoadDictionary(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "dictionary.npy") : path;
        if (!File.Exists(file)) throw new UserError($"{path}: no true dictionary (expected a .truth folder with dictionary.npy)");
        using var npy = NpyFile.Open(file);
        if (npy.Shape.Length != 2) throw new DataFormatError(file, "shape", "expected [features, d]");
        return npy.ReadFloat();
    }

    /// <summary>
    /// How well learned decoder rows recover true features: MMCS = mean over true features of the best
    /// cosine with any learned row (Sharkey et al. 2022), and the fraction whose best cosine ≥ <paramref name="threshold"/>.
    /// </summary>
    public static (double Mmcs, double Recovered) Compare(Tensor truth, Tensor decoder, double threshold = 0.9)
    {
        if (truth.Columns != decoder.Columns) throw new UserError($"true features have d = {truth.Columns}, the SAE d_in = {decoder.Columns}");
        var learned = Normalised(decoder);
        var real = Normalised(truth);
        var cos = new Tensor(real.RowCount, learned.RowCount);
        Gemm.Multiply(real, false, learned, true, cos, 1f, 0f);
        double sum = 0; int hit = 0;
        for (int j = 0; j < real.RowCount; j++)
        {
            float best = float.NegativeInfinity;
            foreach (float c in cos.Row(j)) best = MathF.Max(best, c);
            sum += best;
            if (best >= threshold) hit++;
        }
        return (sum / real.RowCount, (double)hit / real.RowCount);
    }

    static Tensor Normalised(Tensor rows)
    {
        var r = rows.Clone();
        for (int i = 0; i < r.RowCount; i++)
        {
            var row = r.Row(i);
            double n = Math.Sqrt(VectorMath.Dot<float>(row, row));
            if (n > 0) VectorMath.Scale((float)(1 / n), row, row);
        }
        return r;
    }

    /// <summary>Φ⁻¹(q) by Acklam's rational approximation (relative error below 1.2e-9).</summary>
    internal static double InverseNormal(double q)
    {
        if (q <= 0) return double.NegativeInfinity;
        if (q >= 1) return double.PositiveInfinity;
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] dd = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double Low = 0.02425;
        if (q < Low)
        {
            double r = Math.Sqrt(-2 * Math.Log(q));
            return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((dd[0] * r + dd[1]) * r + dd[2]) * r + dd[3]) * r + 1);
        }
        if (q > 1 - Low) return -InverseNormal(1 - q);
        double u = q - 0.5, s = u * u;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * u / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
