using Mechanist.Activations;

namespace Mechanist.Tests.Activations;

/// <summary>
/// What <see cref="ActivationRowStream"/> promises at its edges: argument refusals, a clear end of an unbuffered
/// source, chunks that are not whole rows refused, skips longer than its scratch buffer, and source time that
/// counts only the source's own work.
/// </summary>
public class ActivationRowStreamContractTests
{
    /// <summary>Rows 0..rows-1 of the given width, value = row * 100 + column, in chunks of <paramref name="chunkRows"/>.</summary>
    static IEnumerable<ReadOnlyMemory<float>> Rows(int rows, int width, int chunkRows, Action? beforeChunk = null)
    {
        for (int start = 0; start < rows; start += chunkRows)
        {
            beforeChunk?.Invoke();
            int n = Math.Min(chunkRows, rows - start);
            var chunk = new float[n * width];
            for (int i = 0; i < chunk.Length; i++) chunk[i] = (start + i / width) * 100 + i % width;
            yield return chunk;
        }
    }

    [Fact]
    public void WidthAndCapacityAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationRowStream(Rows(1, 1, 1), 0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationRowStream(Rows(1, 1, 1), 1, -1, 1));
        using var one = new ActivationRowStream(Rows(2, 1, 1), 1, 0, 1);
        var dst = new float[2];
        one.Read(dst);
        Assert.Equal([0f, 100f], dst);
    }

    [Fact]
    public void AReadThatIsNotWholeRowsIsRefused()
    {
        using var s = new ActivationRowStream(Rows(4, 3, 2), 3, 0, 1);
        var e = Assert.Throws<ArgumentException>(() => s.Read(new float[4]));
        Assert.Contains("4 values is not a whole number of rows of 3", e.Message);
    }

    [Fact]
    public void AnUnbufferedSourceEndsWithAClearError()
    {
        using var s = new ActivationRowStream(Rows(4, 3, 3), 3, 0, 1);
        s.Read(new float[4 * 3]);
        var e = Assert.Throws<InvalidOperationException>(() => s.Read(new float[3]));
        Assert.Contains("ended after 4 rows", e.Message);
    }

    [Fact]
    public void AChunkThatIsNotWholeRowsIsRefused()
    {
        using var s = new ActivationRowStream([new float[5]], 3, 0, 1);
        var e = Assert.Throws<InvalidOperationException>(() => s.Read(new float[3]));
        Assert.Contains("a chunk of 5 values is not a whole number of rows of 3", e.Message);
    }

    [Theory]
    [InlineData(1, 0)]     // fewer rows than the width
    [InlineData(5, 0)]
    [InlineData(5000, 0)]   // more than the 4,096-row scratch buffer
    [InlineData(5000, 64)]
    public void SkipEqualsReadingAndReportsEveryRow(int skip, int shuffle)
    {
        const int width = 2;
        using var skipped = new ActivationRowStream(Rows(6000, width, 700), width, shuffle, 7);
        using var read = new ActivationRowStream(Rows(6000, width, 700), width, shuffle, 7);
        long reported = 0;
        skipped.Skip(skip, n => reported += n);
        Assert.Equal(skip, reported);
        Assert.Equal(skip, skipped.RowsRead);
        read.Read(new float[skip * width]);
        var a = new float[10 * width];
        var b = new float[10 * width];
        skipped.Read(a);
        read.Read(b);
        Assert.Equal(b, a);
        if (shuffle == 0) Assert.Equal(skip * 100f, a[0]);
    }

    [Fact]
    public void SourceTimeCountsOnlyTheSource()
    {
        using var s = new ActivationRowStream(Rows(4, 1, 2, () => Thread.Sleep(5)), 1, 0, 1);
        Assert.Equal(TimeSpan.Zero, s.SourceTime);
        s.Read(new float[4]);
        var afterReads = s.SourceTime;
        Assert.True(afterReads > TimeSpan.Zero);
        Thread.Sleep(20); // the caller's own work is not the source's
        Assert.Equal(afterReads, s.SourceTime);
    }
}
