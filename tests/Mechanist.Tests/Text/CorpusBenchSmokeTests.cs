using Mechanist.Bench;

namespace Mechanist.Tests.Text;

/// <summary>`bench corpus` at a tiny size: the report's shape and fields, never a speed.</summary>
public class CorpusBenchSmokeTests
{
    [Fact]
    public void ReportsEveryFormatAndBothRatiosOnIdenticalTokens()
    {
        string dir = TestPaths.NewTempDir();
        string input = CorpusFiles.WriteGzip(Path.Combine(dir, "in.jsonl.gz"), CorpusFiles.JsonLinesBytes(CorpusFiles.Documents));
        var report = CorpusBench.Run(new CorpusBenchOptions { Input = input, Tokenizer = Gpt2.Dir, Documents = 5, Rounds = 2, WorkDir = Path.Combine(dir, "work") }, TextWriter.Null);
        Assert.Equal(5, report.Documents);
        Assert.Equal(CorpusBench.Formats, report.Formats.Select(f => f.Format));
        Assert.All(report.Formats, f => Assert.True(f.FileBytes > 0 && f.MedianSeconds > 0 && f.Seconds.Length == 2));
        Assert.True(report.ZstdOverGzip > 0 && report.ParquetOverJsonl > 0);
        Assert.Equal(CorpusFiles.Documents.Take(5).Sum(d => Gpt2.Tokenizer.Encode(d.Text).Length + 1), report.Tokens);
        Assert.False(Directory.Exists(Path.Combine(dir, "work")));
    }
}
