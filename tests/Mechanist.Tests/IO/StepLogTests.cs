using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

public class StepLogTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("steplog");
    string LogPath => Path.Combine(_dir, "training.jsonl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ResumeKeepsTheStepsUpToTheCheckpointAndAppendsAfterThem()
    {
        File.WriteAllText(LogPath, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"loss\":1}\n");
        using (var log = StepLog.Open(LogPath, resumeStep: 2)) log.Write(new JsonObject { ["step"] = 3, ["loss"] = 1.5 });
        Assert.Equal("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"loss\":1.5}\n", File.ReadAllText(LogPath));
    }

    [Fact]
    public void AFreshRunStartsAnEmptyLog()
    {
        File.WriteAllText(LogPath, "{\"step\":1}\n");
        using (StepLog.Open(LogPath, resumeStep: null)) { }
        Assert.Equal("", File.ReadAllText(LogPath));
    }

    [Fact]
    public void ALastLineCutShortByACrashIsDroppedWithAWarning()
    {
        File.WriteAllText(LogPath, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"lo");
        var warnings = new List<string>();
        var kept = StepLog.Trim(LogPath, 10, warnings.Add);
        Assert.Equal([1L, 2L], kept.Select(o => o["step"]!.GetValue<long>()));
        Assert.Equal("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n", File.ReadAllText(LogPath));
        var warning = Assert.Single(warnings);
        Assert.Contains(LogPath, warning);
        Assert.Contains("line 3", warning);
        Assert.Contains("cut short", warning);
    }

    [Theory]
    [InlineData("{\"step\":1}\n{\"step\":2,\"lo\n{\"step\":3}\n", 2)]        // torn in the middle: not a crash's mark
    [InlineData("{\"step\":1}\n[1, 2]\n", 2)]                               // JSON, not an object
    [InlineData("{\"step\":1}\n{\"loss\":2}\n", 2)]                          // no step
    [InlineData("{\"step\":\"one\"}\n", 1)]                                 // step not an integer
    [InlineData("{\"step\":1}\n{\"step\":2,\"lo\n", 2)]                      // a complete line that does not parse
    public void AnyOtherDamagedLineIsAnErrorNamingTheFileAndLine(string text, int line)
    {
        File.WriteAllText(LogPath, text);
        var warnings = new List<string>();
        var e = Assert.Throws<DataFormatError>(() => StepLog.Trim(LogPath, 10, warnings.Add));
        Assert.Equal(LogPath, e.FilePath);
        Assert.Equal($"line {line}", e.Field);
        Assert.Empty(warnings);
        Assert.Equal(text, File.ReadAllText(LogPath)); // nothing rewritten
    }
}
