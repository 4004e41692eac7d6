namespace Mechanist.Tests;

/// <summary>Locates the repository root and the shared data folder that CI places beside the clone.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>`../shared` beside the repository (corpus, GPT-2 tokenizer files, baselines).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string SharedFile(params string[] parts) => Path.Combine([Shared, .. parts]);

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
