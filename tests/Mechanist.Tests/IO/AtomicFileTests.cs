using Mechanist.IO;

namespace Mechanist.Tests.IO;

public class AtomicFileTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("atomic");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesAndReplaces()
    {
        string path = Path.Combine(_dir, "sub", "a.txt");
        AtomicFile.WriteAllText(path, "one");
        Assert.Equal("one", File.ReadAllText(path));
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "sub"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void AFolderWhereAFileGoesAndAFileWhereAFolderGoesAreUserErrors()
    {
        string folder = Path.Combine(_dir, "folder"), file = Path.Combine(_dir, "file.txt");
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(file, "x");
        Assert.Contains("is a folder", Assert.ThrowsAny<UserError>(() => AtomicFile.WriteAllText(folder, "y")).Message);
        Assert.Contains("is a file", Assert.ThrowsAny<UserError>(() => AtomicDirectory.Begin(file, overwrite: true)).Message);
        Assert.Equal(["file.txt", "folder"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void AFailingWriterLeavesTheOldFileAndNoTempFile()
    {
        string path = Path.Combine(_dir, "keep.txt");
        AtomicFile.WriteAllText(path, "old content");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("new partial"u8);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", e.Message);
        Assert.Equal("old content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));

        string fresh = Path.Combine(_dir, "never.txt");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(fresh, _ => throw new InvalidOperationException()));
        Assert.False(File.Exists(fresh));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void UncommittedIncrementalWriterLeavesNothing()
    {
        string path = Path.Combine(_dir, "inc.bin");
        using (var w = AtomicFile.Begin(path))
        {
            w.Stream.Write([1, 2]);
            Assert.True(File.Exists(w.TempPath));
            Assert.False(File.Exists(path));
        }
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void AtomicDirectoryAppearsOnlyOnCommit()
    {
        string target = Path.Combine(_dir, "stage");
        using (var staging = AtomicDirectory.Begin(target))
        {
            File.WriteAllText(Path.Combine(staging.TempPath, "x.txt"), "x");
            Assert.False(Directory.Exists(target));
        }
        Assert.Empty(Directory.GetFileSystemEntries(_dir));

        AtomicDirectory.Create(target, tmp => File.WriteAllText(Path.Combine(tmp, "x.txt"), "v1"));
        Assert.Equal("v1", File.ReadAllText(Path.Combine(target, "x.txt")));
        Assert.Throws<UserError>(() => AtomicDirectory.Begin(target));
        Assert.Throws<IOException>(() => AtomicDirectory.Create(target, _ => throw new IOException("fail"), overwrite: true));
        Assert.Equal("v1", File.ReadAllText(Path.Combine(target, "x.txt")));
        AtomicDirectory.Create(target, tmp => File.WriteAllText(Path.Combine(tmp, "y.txt"), "v2"), overwrite: true);
        Assert.Equal(["y.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        Assert.Equal([target], Directory.GetFileSystemEntries(_dir));
    }
}
