using Mechanist.Activations;

namespace Mechanist.Tests.Activations;

public class ActivationRowStreamTests
{
    /// <summary>Rows 0..n−1 of width 3, row r = (r, r + 0.25, r + 0.5), in chunks of varying size.</summary>
    static IEnumerable<ReadOnlyMemory<float>> Source(int rows)
    {
        int chunk = 1;
        for (int r = 0; r < rows;)
        {
            int n = Math.Min(chunk, rows - r);
            var values = new float[n * 3];
            for (int i = 0; i < n; i++) { values[3 * i] = r + i; values[3 * i + 1] = r + i + 0.25f; values[3 * i + 2] = r + i + 0.5f; }
            yield return values;
            r += n;
            chunk = chunk % 7 + 2;
        }
    }

    static float[] ReadIn(ActivationRowStream s, params int[] pieces)
    {
        var all = new List<float>();
        foreach (int n in pieces)
        {
            var dst = new float[n * 3];
            s.Read(dst);
            all.AddRange(dst);
        }
        return all.ToArray();
    }

    [Fact]
    public void Without_a_buffer_rows_come_in_source_order()
    {
        using var s = new ActivationRowStream(Source(50), 3, 0, 1);
        var rows = ReadIn(s, 4, 1, 20);
        for (int r = 0; r < 25; r++) Assert.Equal([r, r + 0.25f, r + 0.5f], rows[(3 * r)..(3 * r + 3)]);
        Assert.Equal(25, s.RowsRead);
    }

    [Fact]
    public void Shuffled_rows_do_not_depend_on_how_reads_are_split_and_skip_equals_read()
    {
        using var a = new ActivationRowStream(Source(200), 3, 16, 7);
        using var b = new ActivationRowStream(Source(200), 3, 16, 7);
        using var c = new ActivationRowStream(Source(200), 3, 16, 7);
        var whole = ReadIn(a, 150);
        Assert.Equal(whole, ReadIn(b, 1, 40, 9, 100));
        c.Skip(61);
        Assert.Equal(61, c.RowsRead);
        Assert.Equal(whole[(61 * 3)..], ReadIn(c, 89));
        // Mixed: not the source order, but each row whole, and no row twice; a row leaves the buffer within the rows it has seen.
        var firsts = Enumerable.Range(0, 150).Select(r => whole[3 * r]).ToArray();
        Assert.NotEqual(Enumerable.Range(0, 150).Select(r => (float)r), firsts);
        Assert.Equal(150, firsts.Distinct().Count());
        for (int r = 0; r < 150; r++)
        {
            Assert.Equal(whole[3 * r] + 0.25f, whole[3 * r + 1]);
            Assert.True(whole[3 * r] < r + 16, $"row {r} is source row {whole[3 * r]}, past the 16 the buffer held");
        }
    }

    [Fact]
    public void A_finite_source_drains_its_buffer_then_the_stream_ends()
    {
        using var s = new ActivationRowStream(Source(30), 3, 8, 2);
        var rows = ReadIn(s, 30);
        Assert.Equal(Enumerable.Range(0, 30).Select(r => (float)r), Enumerable.Range(0, 30).Select(r => rows[3 * r]).Order());
        Assert.Throws<InvalidOperationException>(() => s.Read(new float[3]));
    }

    [Fact]
    public void Cancellation_is_checked_before_the_source_is_asked_for_more()
    {
        using var s = new ActivationRowStream(Source(100), 3, 4, 2);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => s.Read(new float[3], cts.Token));
    }
}
