using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;

namespace Mechanist.Tests.Activations;

public class ActivationStoreTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("acts");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static float[] RandomRows(int rows, int width, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows * width).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
    }

    static float Stored(float v, DType dtype) => dtype switch
    {
        DType.F16 => (float)(Half)v,
        DType.BF16 => ElementConversion.BFloat16ToFloat(ElementConversion.FloatToBFloat16(v)),
        _ => v,
    };

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void WriteThenReadRoundTrips(DType dtype)
    {
        const int width = 5, rows = 103;
        var data = RandomRows(rows, width, 1);
        string dir = Path.Combine(_dir, dtype.ToString());
        var source = new ActivationSourceInfo { Model = "tiny", Hook = "blocks.0.hook_resid_post", ContextLength = 16, Tokens = "tokens/", RowsPerContext = 4, Seed = 9, Shuffled = true };
        ActivationStats written;
        // Shards of 10 rows (in any dtype), appended in uneven batches that straddle shard boundaries.
        using (var w = new ActivationStoreWriter(dir, width, dtype, source, shardBytes: 10 * width * dtype.Size()))
        {
            w.Manifest.Settings["batch"] = 7;
            for (int start = 0; start < rows; start += 7)
                w.Append(data.AsSpan(start * width, Math.Min(7, rows - start) * width));
            written = w.Complete();
        }
        Assert.Equal(11, Directory.GetFiles(dir, "shard-*.bin").Length);
        Assert.Empty(Directory.GetFiles(dir, ".*"));

        using var store = ActivationStore.Open(dir);
        Assert.Equal(rows, store.RowCount);
        Assert.Equal(width, store.Width);
        Assert.Equal(dtype, store.StoredDType);
        Assert.Equal(source, store.Source);
        Assert.Equal(7, store.Manifest.Settings.GetLong("m", "batch"));
        var all = new float[rows * width];
        store.ReadRows(0, rows, all);
        Assert.Equal(data.Select(v => Stored(v, dtype)), all);

        var part = new float[13 * width];
        store.ReadRows(8, 13, part); // crosses two shard boundaries
        Assert.Equal(all.AsSpan(8 * width, 13 * width).ToArray(), part);
        var gathered = new float[3 * width];
        store.ReadRows([102L, 0L, 55L], gathered);
        Assert.Equal(all.AsSpan(102 * width, width).ToArray(), gathered[..width]);
        Assert.Equal(all.AsSpan(0, width).ToArray(), gathered[width..(2 * width)]);
        Assert.Equal(all.AsSpan(55 * width, width).ToArray(), gathered[(2 * width)..]);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRows(100, 4, new float[4 * width]));

        // Recorded statistics describe the stored values, and match a fresh pass over the store.
        var recomputed = ActivationStats.Compute(store, IProgressReporter.None);
        Assert.Equal(rows, store.Stats!.Rows);
        Assert.Equal(recomputed.MeanSquaredNorm, store.Stats.MeanSquaredNorm, 1e-9);
        for (int j = 0; j < width; j++) Assert.Equal(recomputed.Mean[j], store.Stats.Mean[j], 1e-6);
        Assert.Equal(written.MeanSquaredNorm, store.Stats.MeanSquaredNorm, 1e-12);
        double expected = Enumerable.Range(0, rows).Average(r => all.AsSpan(r * width, width).ToArray().Sum(x => (double)x * x));
        Assert.Equal(expected, store.Stats.MeanSquaredNorm, 1e-9);
        Assert.Equal(Math.Sqrt(width / expected), store.Stats.NormalizationFactor, 1e-12);
    }

    [Fact]
    public void AnUnfinishedStoreIsRefused()
    {
        string dir = Path.Combine(_dir, "unfinished");
        using (var w = new ActivationStoreWriter(dir, 4, DType.F32, shardBytes: 16 * 4 * sizeof(float)))
            w.Append(new float[40 * 4]); // two full shards on disk, no manifest
        Assert.Equal(2, Directory.GetFiles(dir, "shard-*.bin").Length);
        Assert.Empty(Directory.GetFiles(dir, ".*"));
        var e = Assert.Throws<UserError>(() => ActivationSource.Open(dir));
        Assert.Contains("unfinished", e.Message);
        Assert.Contains(dir, e.Message);
    }

    [Fact]
    public void AnInterruptedStoreResumesAfterItsFinishedShards()
    {
        const int width = 3;
        var data = RandomRows(57, width, 4);
        long shardBytes = 10 * width * 2;
        string dir = Path.Combine(_dir, "resume");
        using (var w = new ActivationStoreWriter(dir, width, DType.F16, shardBytes: shardBytes))
            w.Append(data.AsSpan(0, 25 * width)); // shards 0 and 1 finished, 5 rows lost with the crash
        File.WriteAllBytes(Path.Combine(dir, ".shard-00002.bin.tmp-0123"), new byte[7]); // as a killed run leaves it

        // Same bytes per shard, different layout: refused.
        Assert.Contains("cannot resume", Assert.Throws<UserError>(() => new ActivationStoreWriter(dir, width, DType.F32, shardBytes: shardBytes, resume: true)).Message);
        using (var w = new ActivationStoreWriter(dir, width, DType.F16, shardBytes: shardBytes, resume: true))
        {
            Assert.Equal(20, w.RowCount);
            w.Append(data.AsSpan(20 * width));
            w.Complete();
        }
        Assert.Empty(Directory.GetFiles(dir, ".*"));
        Assert.False(File.Exists(Path.Combine(dir, "layout.json")));
        string fresh = Path.Combine(_dir, "fresh");
        using (var w = new ActivationStoreWriter(fresh, width, DType.F16, shardBytes: shardBytes)) { w.Append(data); w.Complete(); }

        using var a = ActivationStore.Open(dir);
        using var b = ActivationStore.Open(fresh);
        var x = new float[57 * width];
        var y = new float[57 * width];
        a.ReadRows(0, 57, x);
        b.ReadRows(0, 57, y);
        Assert.Equal(y, x);
        Assert.Equal(b.Stats!.MeanSquaredNorm, a.Stats!.MeanSquaredNorm, 1e-9);
        Assert.Equal(b.Stats.Mean, a.Stats.Mean);
    }

    [Fact]
    public void AFinishedStoreIsNotOverwrittenUnlessAsked()
    {
        string dir = Path.Combine(_dir, "done");
        using (var w = new ActivationStoreWriter(dir, 2, DType.F16)) { w.Append([1f, 2f]); w.Complete(); }
        Assert.Throws<UserError>(() => new ActivationStoreWriter(dir, 2, DType.F16));
        using (var w = new ActivationStoreWriter(dir, 3, DType.F32, overwrite: true)) { w.Append([1f, 2f, 3f, 4f, 5f, 6f]); w.Complete(); }
        using var s = ActivationStore.Open(dir);
        Assert.Equal((2L, 3), (s.RowCount, s.Width));
    }

    [Fact]
    public void CorruptStoresGiveDataFormatErrors()
    {
        string dir = Path.Combine(_dir, "corrupt");
        using (var w = new ActivationStoreWriter(dir, 2, DType.F32)) { w.Append([1f, 2f, 3f, 4f]); w.Complete(); }
        string shard = Path.Combine(dir, "shard-00000.bin");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..^1]);
        var e = Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir));
        Assert.Equal(shard, e.FilePath);
        File.Delete(shard);
        Assert.Equal("contents.shards[0].file", Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir)).Field);

        var manifest = JsonNode.Parse(File.ReadAllText(Manifest.PathIn(dir)))!.AsObject();
        manifest["contents"]!["dtype"] = "I32";
        File.WriteAllText(Manifest.PathIn(dir), manifest.ToJsonString());
        Assert.Equal("contents.dtype", Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir)).Field);
        manifest["contents"]!["dtype"] = "F32";
        manifest["contents"]!["shards"]![0]!["file"] = "../escape.bin";
        File.WriteAllText(Manifest.PathIn(dir), manifest.ToJsonString());
        Assert.Equal("contents.shards[0].file", Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir)).Field);
        manifest["contents"]!["format"] = "something else";
        File.WriteAllText(Manifest.PathIn(dir), manifest.ToJsonString());
        Assert.Equal("contents.format", Assert.Throws<DataFormatError>(() => ActivationStore.Open(dir)).Field);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    public void NpySourceReadsTheSameRowsAsAStore(DType dtype)
    {
        const int width = 6, rows = 50;
        var data = RandomRows(rows, width, 2);
        string npy = Path.Combine(_dir, $"acts-{dtype}.npy");
        Npy.Save(npy, Tensor.FromArray(data, rows, width), dtype);
        string dir = Path.Combine(_dir, $"store-{dtype}");
        using (var w = new ActivationStoreWriter(dir, width, dtype, shardBytes: 7 * width * dtype.Size()))
        {
            w.Append(data);
            w.Complete();
        }
        using var a = ActivationSource.Open(npy);
        using var b = ActivationSource.Open(dir);
        Assert.IsType<NpyActivations>(a);
        Assert.IsType<ActivationStore>(b);
        Assert.Equal((b.RowCount, b.Width, b.StoredDType), (a.RowCount, a.Width, a.StoredDType));
        var x = new float[rows * width];
        var y = new float[rows * width];
        a.ReadRows(0, rows, x);
        b.ReadRows(0, rows, y);
        Assert.Equal(y, x);
        long[] pick = [49, 3, 3, 20];
        var px = new float[pick.Length * width];
        var py = new float[pick.Length * width];
        a.ReadRows(pick, px);
        b.ReadRows(pick, py);
        Assert.Equal(py, px);
        Assert.Null(a.Stats);
        Assert.Equal(b.Stats!.MeanSquaredNorm, ActivationStats.Compute(a, IProgressReporter.None).MeanSquaredNorm, 1e-9);
    }

    [Fact]
    public void NpySourceMustBeATwoDimensionalFloatMatrix()
    {
        string oneD = Path.Combine(_dir, "1d.npy");
        Npy.Save(oneD, new float[] { 1, 2, 3 }, 3);
        Assert.Equal("shape", Assert.Throws<DataFormatError>(() => ActivationSource.Open(oneD)).Field);
        string ints = Path.Combine(_dir, "ints.npy");
        Npy.Save(ints, new int[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Equal("descr", Assert.Throws<DataFormatError>(() => ActivationSource.Open(ints)).Field);
        Assert.Throws<UserError>(() => ActivationSource.Open(Path.Combine(_dir, "nothing-here")));
    }
}
