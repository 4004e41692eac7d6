using System.Runtime.Intrinsics;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Activations;

/// <summary>
/// Scale statistics of a set of activation rows, so a dictionary can normalise its input: SAEs commonly
/// rescale activations so the mean squared row norm equals d (<see cref="NormalizationFactor"/>).
/// </summary>
public sealed record ActivationStats(long Rows, double MeanSquaredNorm, float[] Mean)
{
    /// <summary>The factor that makes the mean squared norm equal to d: sqrt(d / mean ‖x‖²).</summary>
    public double NormalizationFactor => MeanSquaredNorm > 0 ? Math.Sqrt(Mean.Length / MeanSquaredNorm) : 1;

    /// <summary>Reads every row of a source once (e.g. a .npy file that carries no statistics).</summary>
    public static ActivationStats Compute(IActivationSource source, IProgressReporter progress)
    {
        var acc = new Accumulator(source.Width);
        const int Batch = 4096;
        var buffer = new float[Batch * source.Width];
        using var task = progress.Start("activation statistics", source.RowCount, "row");
        for (long r = 0; r < source.RowCount; r += Batch)
        {
            int n = (int)Math.Min(Batch, source.RowCount - r);
            source.ReadRows(r, n, buffer);
            acc.Add(buffer.AsSpan(0, n * source.Width));
            task.Advance(n);
        }
        return acc.Result();
    }

    public JsonObject ToJson() => new()
    {
        ["rows"] = Rows,
        ["mean_squared_norm"] = MeanSquaredNorm,
        ["mean"] = new JsonArray(Mean.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
    };

    internal static ActivationStats FromJson(JsonObject o, string path, int width)
    {
        long rows = o.GetLong(path, "rows", 0, "contents.stats.");
        double msn = o.GetDouble(path, "mean_squared_norm", "contents.stats.");
        var meanArray = o.GetArray(path, "mean", "contents.stats.");
        if (meanArray.Count != width) throw new DataFormatError(path, "contents.stats.mean", $"has {meanArray.Count} values, expected d = {width}");
        var mean = new float[width];
        for (int i = 0; i < width; i++)
        {
            if (meanArray[i] is not JsonValue v || !v.TryGetValue(out double x))
                throw new DataFormatError(path, "contents.stats.mean", $"item {i} is not a number");
            mean[i] = (float)x;
        }
        if (!(msn >= 0) || double.IsInfinity(msn)) throw new DataFormatError(path, "contents.stats.mean_squared_norm", $"{msn} is not a finite non-negative number");
        return new ActivationStats(rows, msn, mean);
    }

    /// <summary>Running sums in float64 (rows may number in the billions).</summary>
    internal sealed class Accumulator(int width)
    {
        readonly double[] _sum = new double[width];
        double _squaredNorms;
        long _rows;

        public void Add(ReadOnlySpan<float> rows)
        {
            for (int start = 0; start < rows.Length; start += width)
            {
                _squaredNorms += AccumulateRow(rows.Slice(start, width), _sum);
                _rows++;
            }
        }

        /// <summary>Adds the row into sum (in float64) and returns its squared norm; 16 lanes at a time.</summary>
        static double AccumulateRow(ReadOnlySpan<float> row, Span<double> sum)
        {
            int j = 0;
            double squares = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var acc = Vector512<double>.Zero;
                for (; j <= row.Length - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    acc = Vector512.FusedMultiplyAdd(lo, lo, acc);
                    acc = Vector512.FusedMultiplyAdd(hi, hi, acc);
                    (Vector512.Create(sum.Slice(j, 8)) + lo).CopyTo(sum.Slice(j, 8));
                    (Vector512.Create(sum.Slice(j + 8, 8)) + hi).CopyTo(sum.Slice(j + 8, 8));
                }
                squares = Vector512.Sum(acc);
            }
            for (; j < row.Length; j++)
            {
                double x = row[j];
                squares += x * x;
                sum[j] += x;
            }
            return squares;
        }

        public ActivationStats Result() => new(_rows, _rows == 0 ? 0 : _squaredNorms / _rows,
            _sum.Select(s => _rows == 0 ? 0f : (float)(s / _rows)).ToArray());
    }
}
