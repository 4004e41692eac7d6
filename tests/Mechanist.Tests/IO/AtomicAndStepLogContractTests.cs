using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// Atomic writers once committed or disposed refuse further use, a failed commit leaves nothing behind,
/// and the step log is readable line by line while training (flushed, no byte-order mark, blank lines
/// and a last line without its newline handled).
/// </summary>
public class AtomicAndStepLogContractTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("atomic-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void AtomicDirectoryIsUsableOnce()
    {
        var staging = AtomicDirectory.Begin(P("out"));
        staging.Commit();
        Assert.True(Directory.Exists(P("out")));
        Assert.Throws<ObjectDisposedException>(() => staging.Commit());
        staging.Dispose();
        Assert.True(Directory.Exists(P("out")));

        var dropped = AtomicDirectory.Begin(P("dropped"));
        dropped.Dispose();
        Assert.False(Directory.Exists(dropped.TempPath));
        Assert.Throws<ObjectDisposedException>(() => dropped.Commit());
        Assert.False(Directory.Exists(P("dropped")));
    }

    [Fact]
    public void AtomicDirectoryRefusesAFolderThatAppearedMeanwhile()
    {
        Directory.CreateDirectory(P("out"));
        var e = Assert.Throws<UserError>(() => AtomicDirectory.Begin(P("out")));
        Assert.Equal(P("out") + ": already exists (use --force to replace it)", e.Message);

        using var staging = AtomicDirectory.Begin(P("late"));
        Directory.CreateDirectory(P("late"));
        var late = Assert.Throws<UserError>(() => staging.Commit());
        Assert.Equal(P("late") + ": already exists (use --force to replace it)", late.Message);
        Assert.Empty(Directory.GetFileSystemEntries(P("late")));
    }

    [Fact]
    public void AFailedFileCommitThrowsAndLeavesNoTemporaryFile()
    {
        var w = AtomicFile.Begin(P("f.bin"));
        w.Stream.Write([1, 2, 3]);
        Directory.CreateDirectory(P("f.bin")); // the target became a folder: the rename must fail
        Assert.ThrowsAny<IOException>(() => w.Commit());
        Assert.False(File.Exists(w.TempPath));
        Assert.Equal([P("f.bin")], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void AFileCommitIsFinal()
    {
        var w = AtomicFile.Begin(P("g.bin"));
        w.Stream.Write([4]);
        w.Commit();
        Assert.Throws<ObjectDisposedException>(() => w.Commit());
        w.Dispose();
        Assert.Equal([4], File.ReadAllBytes(P("g.bin")));
    }

    [Fact]
    public void StepLogLinesAreVisibleAsSoonAsWrittenWithoutAByteOrderMark()
    {
        string path = P("log.jsonl");
        using var log = StepLog.Open(path, resumeStep: null);
        log.Write(new JsonObject { ["step"] = 1 });
        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[64];
        int n = read.Read(bytes);
        Assert.Equal("{\"step\":1}\n", System.Text.Encoding.UTF8.GetString(bytes, 0, n));
    }

    [Fact]
    public void TrimSkipsBlankLinesAndKeepsACompleteLastLineWithoutNewline()
    {
        string path = P("t.jsonl");
        File.WriteAllText(path, "\n{\"step\":1}\n\n{\"step\":2}");
        var warnings = new List<string>();
        var kept = StepLog.Trim(path, 5, warnings.Add);
        Assert.Equal([1L, 2L], kept.Select(o => o["step"]!.GetValue<long>()));
        Assert.Empty(warnings);
        Assert.Equal("{\"step\":1}\n{\"step\":2}\n", File.ReadAllText(path));
    }

    [Fact]
    public void TrimmingEverythingLeavesAnEmptyFile()
    {
        string path = P("e.jsonl");
        File.WriteAllText(path, "{\"step\":5}\n{\"step\":6}\n");
        Assert.Empty(StepLog.Trim(path, 2));
        Assert.Equal("", File.ReadAllText(path));
        Assert.Empty(StepLog.Trim(P("absent.jsonl"), 2));
        Assert.False(File.Exists(P("absent.jsonl")));
    }

    [Fact]
    public void ADamagedLineSaysWhatIsWrongAndHowToResume()
    {
        string path = P("d.jsonl");
        File.WriteAllText(path, "{\"step\":1}\nnot json\n");
        var e = Assert.Throws<DataFormatError>(() => StepLog.Trim(path, 5));
        Assert.Equal(("line 2", "not a JSON object with an integer \"step\"; the log is damaged (fix or delete that line to resume)"), (e.Field, e.Problem));
    }
}
