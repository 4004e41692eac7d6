namespace Mechanist.Tests;

/// <summary>Locates the repository root and the test fixtures in it. Tests read nothing outside the clone.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>A file or folder under tests/Mechanist.Tests/Fixtures (data the tests compare against).</summary>
    public static string Fixture(params string[] parts) => Path.Combine([RepoRoot, "tests", "Mechanist.Tests", "Fixtures", .. parts]);

    /// <summary>A fresh empty folder under the system temp directory, for one test's files.</summary>
    public static string NewTempDir(string prefix = "mechanist-test")
    {
        string dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Mechanist.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Mechanist.slnx not found above " + AppContext.BaseDirectory);
    }
}
