using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>
/// The partial sums of one shard on disk: <c>OUT/shard-IIIII-of-NNNNN/</c> holds <c>manifest.json</c> (the run's
/// identity, the shard, the tiling) and one <c>tile-KKKKK.safetensors</c> per row tile with, in float64, the row
/// moments (<c>rows.*</c>) and per target t the column moments and cross-products (<c>t.shift</c>, <c>t.sum</c>,
/// <c>t.squares</c>, <c>t.cross</c> [rows, columns]), plus <c>tokens</c>. Merging adds them.
/// </summary>
public static class CorrelationShard
{
    public const string Stage = "universal-neurons-shard";

    /// <summary>
    /// What makes shards parts of one run: the inputs, the baselines and their seed, the shard count and the
    /// tiling. Any difference means their sums cannot be added.
    /// </summary>
    public static string RunId(JsonObject inputs, CorrelationOptions options) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["inputs"] = inputs.DeepClone(),
            ["baselines"] = string.Join(",", options.Baselines.Select(b => b.Name())),
            ["seed"] = options.Seed,
            ["shards"] = options.Shard.Count,
        }.ToJsonString())))[..32];

    public static string TileFile(int tile) => $"tile-{tile:D5}.safetensors";

    public static void SaveTile(string path, PearsonSums[] sums, IReadOnlyList<CorrelationTarget> targets)
    {
        var rows = sums[0].Rows;
        var entries = new List<SafeTensorsEntry>
        {
            SafeTensorsEntry.Of("tokens", [rows.Tokens], 1),
            SafeTensorsEntry.Of("rows.shift", rows.Shift, rows.Count),
            SafeTensorsEntry.Of("rows.sum", rows.Sum, rows.Count),
            SafeTensorsEntry.Of("rows.squares", rows.Squares, rows.Count),
        };
        for (int t = 0; t < sums.Length; t++)
        {
            var c = sums[t].Columns;
            string name = targets[t].Name;
            entries.Add(SafeTensorsEntry.Of($"{name}.shift", c.Shift, c.Count));
            entries.Add(SafeTensorsEntry.Of($"{name}.sum", c.Sum, c.Count));
            entries.Add(SafeTensorsEntry.Of($"{name}.squares", c.Squares, c.Count));
            entries.Add(SafeTensorsEntry.Of($"{name}.cross", sums[t].Cross, rows.Count, c.Count));
        }
        SafeTensors.Save(path, entries);
    }

    /// <summary>Reads a tile's sums, checking every tensor's size against the expected block.</summary>
    public static PearsonSums[] LoadTile(string path, int rows, IReadOnlyList<CorrelationTarget> targets, IReadOnlyList<UnitLayout> layouts)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: missing (the shard folder is incomplete)");
        using var file = SafeTensorsFile.Open(path);
        T[] Read<T>(string name, long count) where T : unmanaged
        {
            if (!file.Contains(name)) throw new DataFormatError(path, name, "missing");
            var info = file.Info(name);
            if (info.DType != DTypes.Of<T>() || info.ElementCount != count)
                throw new DataFormatError(path, name, $"{info.DType} {info.ShapeString}, expected {DTypes.Of<T>()} with {count:N0} values");
            return file.ReadArray<T>(name);
        }
        long tokens = Read<long>("tokens", 1)[0];
        var rowShift = Read<float>("rows.shift", rows);
        var rowSum = Read<double>("rows.sum", rows);
        var rowSquares = Read<double>("rows.squares", rows);
        var result = new PearsonSums[targets.Count];
        for (int t = 0; t < targets.Count; t++)
        {
            string name = targets[t].Name;
            int columns = layouts[targets[t].Model].Units;
            var rowMoments = new UnitMoments(rowShift, (double[])rowSum.Clone(), (double[])rowSquares.Clone(), tokens);
            var columnMoments = new UnitMoments(Read<float>($"{name}.shift", columns), Read<double>($"{name}.sum", columns),
                Read<double>($"{name}.squares", columns), tokens);
            var s = new PearsonSums(rowMoments, columnMoments, Read<double>($"{name}.cross", (long)rows * columns));
            result[t] = s;
        }
        return result;
    }
}
