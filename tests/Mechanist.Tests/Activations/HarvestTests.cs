using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Tests.Activations;

public class HarvestTests
{
    static readonly HookPoint Hook = HookPoint.MlpPost(0);

    /// <summary>The windows the harvester reads, in its order, with each one's direct (unbatched) hook rows.</summary>
    static List<(int[] Tokens, Tensor Rows)> Expected(Transformer<float> model, TokenStore store, int context, ulong seed, int windows, HookPoint? hook = null)
    {
        var sampler = store.SampleWindows(context - 1, seed);
        var result = new List<(int[], Tensor)>();
        for (int i = 0; i < windows; i++)
        {
            var w = new int[context];
            sampler.Next(w);
            result.Add((w, HarvestFixture.Direct(model, w, hook ?? Hook)));
        }
        return result;
    }

    static float[][] ReadAll(string dir)
    {
        using var store = ActivationStore.Open(dir);
        var rows = new float[store.RowCount][];
        for (long r = 0; r < store.RowCount; r++)
        {
            rows[r] = new float[store.Width];
            store.ReadRows(r, 1, rows[r]);
        }
        return rows;
    }

    static bool Close(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < a.Length; i++) if (Math.Abs(a[i] - b[i]) > 1e-5f * Math.Max(1, Math.Abs(b[i]))) return false;
        return true;
    }

    /// <summary>Each actual row is matched to a distinct expected row (multiset equality up to rounding).</summary>
    static void AssertSameMultiset(List<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        var left = new List<float[]>(expected);
        foreach (var row in actual)
        {
            int at = left.FindIndex(e => Close(row, e));
            Assert.True(at >= 0, "a stored row matches no expected row (or one matched twice)");
            left.RemoveAt(at);
        }
    }

    [Fact]
    public void Every_position_but_the_first_is_stored_once_shuffled_and_matches_a_direct_forward()
    {
        var model = HarvestFixture.Model();
        string tokens = HarvestFixture.TokenStore();
        using var store = TokenStore.Open(tokens);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "acts");
        int context = 12, windows = 10;
        var options = new HarvestOptions { Hook = Hook, Tokens = windows * (context - 1), Seed = 7, BatchWindows = 3 };
        var result = Harvester.Harvest(model, store, outDir, options, IProgressReporter.None, modelName: "fixture");

        Assert.Equal(windows * (context - 1), result.Rows);
        Assert.Equal(12, result.Windows); // 4 passes of 3 windows ran; only the first 10 windows' rows were needed
        var expected = Expected(model, store, context, 7, windows);
        var inOrder = expected.SelectMany(e => Enumerable.Range(1, context - 1).Select(p => e.Rows.Row(p).ToArray())).ToList();
        var stored = ReadAll(outDir);
        AssertSameMultiset(inOrder, stored);
        // Position 0 is absent: no stored row equals a window's first row (they differ from every later row here).
        foreach (var (_, rows) in expected) Assert.DoesNotContain(stored, r => Close(r, rows.Row(0)));
        // Shuffled: the stored order is not the harvest order.
        Assert.Contains(Enumerable.Range(0, stored.Length), i => !Close(stored[i], inOrder[i]));

        using var written = ActivationStore.Open(outDir);
        Assert.Equal(Hook.Name, written.Source.Hook);
        Assert.Equal(context, written.Source.ContextLength);
        Assert.Equal(context - 1, written.Source.RowsPerContext);
        Assert.True(written.Source.Shuffled);
        Assert.Equal("acts harvest", written.Manifest.Stage);
    }

    [Fact]
    public void K_positions_per_context_without_shuffling_come_in_window_order()
    {
        var model = HarvestFixture.Model(2);
        string tokens = HarvestFixture.TokenStore(seed: 4);
        using var store = TokenStore.Open(tokens);
        string outDir = Path.Combine(TestPaths.NewTempDir(), "acts");
        int context = 12, k = 3, windows = 8;
        var options = new HarvestOptions { Hook = HookPoint.ResidPost(0), Tokens = windows * k, RowsPerContext = k, Seed = 11, ShuffleBufferMiB = 0, BatchWindows = 5 };
        Harvester.Harvest(model, store, outDir, options, IProgressReporter.None);

        var source = new HarvestSource(model, store, options);
        var expected = Expected(model, store, context, 11, windows, HookPoint.ResidPost(0));
        var stored = ReadAll(outDir);
        var positionSets = new HashSet<string>();
        int at = 0;
        for (int w = 0; w < windows; w++)
        {
            var positions = source.PositionsFor(w);
            Assert.Equal(k, positions.Distinct().Count());
            Assert.All(positions, p => Assert.InRange(p, 1, context - 1));
            positionSets.Add(string.Join(",", positions));
            foreach (int p in positions) Assert.True(Close(stored[at++], expected[w].Rows.Row(p)), $"window {w} position {p}");
        }
        Assert.True(positionSets.Count > 1, "every window drew the same positions");
        using var written = ActivationStore.Open(outDir);
        Assert.False(written.Source.Shuffled);
        Assert.Equal(k, written.Source.RowsPerContext);
    }

    [Fact]
    public void Including_the_first_position_and_per_head_hooks()
    {
        var model = HarvestFixture.Model(3);
        using var store = TokenStore.Open(HarvestFixture.TokenStore(seed: 5));
        var hook = HookPoint.Z(0);
        var options = new HarvestOptions { Hook = hook, Tokens = 24, SkipFirstPosition = false, ShuffleBufferMiB = 0, Seed = 1 };
        string outDir = Path.Combine(TestPaths.NewTempDir(), "acts");
        Harvester.Harvest(model, store, outDir, options, IProgressReporter.None);
        var stored = ReadAll(outDir);
        var expected = Expected(model, store, 12, 1, 2, hook); // [12, h·d_head] per window: heads concatenated per token
        Assert.Equal(16, stored[0].Length);
        for (int i = 0; i < 24; i++) Assert.True(Close(stored[i], expected[i / 12].Rows.Row(i % 12)), $"row {i}");
    }

    [Fact]
    public void Streaming_batches_hold_the_same_rows_as_the_store()
    {
        var model = HarvestFixture.Model(4);
        using var store = TokenStore.Open(HarvestFixture.TokenStore(seed: 6));
        var options = new HarvestOptions { Hook = Hook, Tokens = 50, RowsPerContext = 4, Seed = 9, BatchWindows = 2 };
        string outDir = Path.Combine(TestPaths.NewTempDir(), "acts");
        Harvester.Harvest(model, store, outDir, options, IProgressReporter.None);
        var batches = new HarvestStream(model, store, options).Batches(8).ToList();
        Assert.All(batches.SkipLast(1), b => Assert.Equal(8, b.RowCount));
        AssertSameMultiset(ReadAll(outDir).ToList(), batches.SelectMany(b => Enumerable.Range(0, b.RowCount).Select(r => b.Row(r).ToArray())).ToList());
    }

    [Fact]
    public void An_interrupted_harvest_leaves_no_store_and_resumes_to_the_same_bytes()
    {
        var model = HarvestFixture.Model(6);
        using var store = TokenStore.Open(HarvestFixture.TokenStore(seed: 10));
        var options = new HarvestOptions { Hook = Hook, Tokens = 200, Seed = 3, ShuffleBufferMiB = 0, BatchWindows = 2, ShardBytes = 40 * 32 * 4 };
        string whole = Path.Combine(TestPaths.NewTempDir(), "acts");
        Harvester.Harvest(model, store, whole, options, IProgressReporter.None);

        string cut = Path.Combine(TestPaths.NewTempDir(), "acts");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Harvester.Harvest(model, store, cut, options, new CancelAfter(100, cancel), cancel.Token));
        Assert.ThrowsAny<UserError>(() => ActivationStore.Open(cut)); // no manifest: readers refuse it
        Assert.True(File.Exists(Path.Combine(cut, "shard-00001.bin")));
        Harvester.Harvest(model, store, cut, options, IProgressReporter.None, resume: true);
        var a = Directory.GetFiles(whole, "shard-*.bin").Order().ToArray();
        var b = Directory.GetFiles(cut, "shard-*.bin").Order().ToArray();
        Assert.Equal(a.Select(Path.GetFileName), b.Select(Path.GetFileName));
        for (int i = 0; i < a.Length; i++) Assert.Equal(File.ReadAllBytes(a[i]), File.ReadAllBytes(b[i]));
    }

    /// <summary>Cancels the token once a progress bar has advanced by <paramref name="rows"/>.</summary>
    sealed class CancelAfter(long rows, CancellationTokenSource source) : IProgressReporter, IProgressTask
    {
        long _done;
        public IProgressTask Start(string label, long total, string unit) => this;
        public void Advance(long amount) { if ((_done += amount) >= rows) source.Cancel(); }
        public void SetDone(long done) => _done = done;
        public void SetStatus(string status) { }
        public void Dispose() { }
    }

}
