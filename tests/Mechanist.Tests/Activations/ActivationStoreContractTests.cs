using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;

namespace Mechanist.Tests.Activations;

/// <summary>
/// What <see cref="ActivationStore"/> promises: each broken manifest field or shard file is refused naming the
/// file and the field; reads are exact across shard boundaries and empty shards, and out-of-range reads or short
/// destinations are argument errors, never a wrong answer.
/// </summary>
public class ActivationStoreContractTests
{
    const int W = 3;

    static float Value(long row, int col) => row * 10 + col;

    /// <summary>10 rows of width 3 (F32), row r holding r*10 + column, in shards of 4, 4 and 2 rows.</summary>
    static string Make(ActivationSourceInfo? source = null)
    {
        string dir = Path.Combine(TestPaths.NewTempDir("acts-contract"), "store");
        var data = new float[10 * W];
        for (int r = 0; r < 10; r++) for (int c = 0; c < W; c++) data[r * W + c] = Value(r, c);
        using (var w = new ActivationStoreWriter(dir, W, DType.F32, source, shardBytes: 4 * W * sizeof(float)))
        {
            w.Append(data);
            w.Complete();
        }
        return dir;
    }

    static void Edit(string dir, Action<JsonObject> edit)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Manifest.PathIn(dir)))!.AsObject();
        edit(manifest["contents"]!.AsObject());
        File.WriteAllText(Manifest.PathIn(dir), manifest.ToJsonString());
    }

    static JsonObject Shard(JsonObject contents, int i) => contents["shards"]![i]!.AsObject();

    static DataFormatError Refused(string dir, string field, string? file = null)
    {
        var e = Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir).Dispose());
        Assert.Equal(file ?? Manifest.PathIn(dir), e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.False(string.IsNullOrWhiteSpace(e.Problem));
        return e;
    }

    [Fact]
    public void TheSourceTokenStoreFolderRoundTrips()
    {
        var source = new ActivationSourceInfo { Model = "m", TokenStore = "/data/tokens", Tokens = "tokens" };
        using var store = ActivationStore.Open(Make(source));
        Assert.Equal("/data/tokens", store.Source.TokenStore);
        Assert.Equal("tokens", store.Source.Tokens);
        using var without = ActivationStore.Open(Make());
        Assert.Null(without.Source.TokenStore);
    }

    [Fact]
    public void AMissingFolderIsNamed()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "absent");
        var e = Assert.Throws<UserError>(() => ActivationStore.Open(dir));
        Assert.Contains(dir, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void HeaderFieldsAreCheckedAndNamed()
    {
        string dir = Make();
        Edit(dir, c => c["format"] = "other");
        Assert.Contains("mechanist-activations", Refused(dir, "contents.format").Problem);

        dir = Make();
        Edit(dir, c => c["version"] = 2);
        Assert.Contains("version 2", Refused(dir, "contents.version").Problem);

        dir = Make();
        Edit(dir, c => c["dtype"] = "I32");
        Assert.Contains("\"I32\"", Refused(dir, "contents.dtype").Problem);

        dir = Make();
        Edit(dir, c => c["d"] = int.MaxValue / 64 + 1);
        Assert.Contains($"{int.MaxValue / 64 + 1}", Refused(dir, "contents.d").Problem);

        dir = Make();
        Edit(dir, c => c["rows"] = 11);
        Assert.Contains("11, but the shards hold 10 rows", Refused(dir, "contents.rows").Problem);
    }

    [Fact]
    public void TheWidestPlausibleRowIsAccepted()
    {
        string dir = Make();
        Edit(dir, c => { c["d"] = int.MaxValue / 64; c["rows"] = 0; c["shards"] = new JsonArray(); c.Remove("stats"); });
        using var store = ActivationStore.Open(dir);
        Assert.Equal(int.MaxValue / 64, store.Width);
        Assert.Equal(0, store.RowCount);
    }

    [Fact]
    public void ShardEntriesAreCheckedAndNamed()
    {
        string dir = Make();
        Edit(dir, c => c["shards"]![1] = 5);
        Refused(dir, "contents.shards[1]");

        dir = Make();
        Edit(dir, c => Shard(c, 1).Remove("file"));
        Refused(dir, "contents.shards[1].file");

        dir = Make();
        Edit(dir, c => Shard(c, 1).Remove("rows"));
        Refused(dir, "contents.shards[1].rows");

        foreach (string bad in new[] { "sub/shard.bin", ".hidden.bin", "../escape.bin" })
        {
            dir = Make();
            Edit(dir, c => Shard(c, 0)["file"] = bad);
            Assert.Contains($"\"{bad}\"", Refused(dir, "contents.shards[0].file").Problem);
        }

        dir = Make();
        Edit(dir, c => Shard(c, 2)["file"] = "shard-00009.bin");
        Assert.Contains("shard-00009.bin is missing", Refused(dir, "contents.shards[2].file").Problem);

        dir = Make();
        string second = Path.Combine(dir, Shard(JsonNode.Parse(File.ReadAllText(Manifest.PathIn(dir)))!["contents"]!.AsObject(), 1)["file"]!.GetValue<string>());
        File.WriteAllBytes(second, new byte[4 * W * sizeof(float) - 4]);
        var size = Refused(dir, "size", second);
        Assert.Contains("4 rows of 3 × F32 = 48 bytes", size.Problem);
    }

    [Fact]
    public void EmptyShardsAnywhereAreSkippedWhenReading()
    {
        string dir = Make();
        File.WriteAllBytes(Path.Combine(dir, "empty-a.bin"), []);
        File.WriteAllBytes(Path.Combine(dir, "empty-b.bin"), []);
        Edit(dir, c =>
        {
            var shards = c["shards"]!.AsArray();
            shards.Insert(0, new JsonObject { ["file"] = "empty-a.bin", ["rows"] = 0 });
            shards.Insert(2, new JsonObject { ["file"] = "empty-b.bin", ["rows"] = 0 });
            shards.Insert(3, new JsonObject { ["file"] = "empty-b.bin", ["rows"] = 0 });
        });
        using var store = ActivationStore.Open(dir);
        Assert.Equal(10, store.RowCount);
        var all = new float[10 * W];
        store.ReadRows(0, 10, all);
        Assert.Equal(Enumerable.Range(0, 10 * W).Select(i => Value(i / W, i % W)), all);
        var picked = new float[3 * W];
        store.ReadRows([4, 0, 9], picked);
        Assert.Equal(new[] { 4L, 0, 9 }.SelectMany(r => Enumerable.Range(0, W).Select(c => Value(r, c))), picked);
    }

    [Fact]
    public void RangeReadsAreCheckedAndExactAcrossShards()
    {
        using var store = ActivationStore.Open(Make());
        var across = new float[5 * W + 2]; // a larger destination is allowed; the rest is left alone
        Array.Fill(across, -1f);
        store.ReadRows(3, 5, across);
        Assert.Equal(Enumerable.Range(3 * W, 5 * W).Select(i => Value(i / W, i % W)).Concat([-1f, -1f]), across);
        store.ReadRows(10, 0, Span<float>.Empty);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows(8, 3, new float[3 * W]));
        Assert.Contains("rows [8, 11) outside [0, 10)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows(-1, 1, new float[W]));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows(0, -1, new float[W]));
        var small = Assert.Throws<ArgumentException>(() => store.ReadRows(0, 2, new float[2 * W - 1]));
        Assert.Contains("destination holds 5 floats, 6 needed", small.Message);
    }

    [Fact]
    public void PickedReadsAreCheckedAndExact()
    {
        using var store = ActivationStore.Open(Make());
        var dst = new float[2 * W + 1];
        dst[^1] = -1f;
        store.ReadRows([9, 3], dst);
        Assert.Equal(new[] { 9L, 3 }.SelectMany(r => Enumerable.Range(0, W).Select(c => Value(r, c))).Append(-1f), dst);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows([10], new float[W]));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows([-1], new float[W]));
        var small = Assert.Throws<ArgumentException>(() => store.ReadRows([1, 2], new float[2 * W - 1]));
        Assert.Contains("destination holds 5 floats, 6 needed", small.Message);
    }
}
