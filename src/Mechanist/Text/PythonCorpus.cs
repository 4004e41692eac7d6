namespace Mechanist.Text;

/// <summary>
/// The default corpus of the weight-sparse models (docs/METHODS.md §6: the paper's models read Python): the Python
/// standard library's own .py files, found where Python is installed on this machine. Nothing is downloaded.
/// </summary>
public static class PythonCorpus
{
    /// <summary>Folders searched for python3.N/ (the highest version with an os.py wins).</summary>
    public static readonly IReadOnlyList<string> SearchRoots = ["/usr/lib", "/usr/local/lib", "/opt/homebrew/lib", "/usr/lib64"];

    /// <summary>What a folder of code contributes: Python sources, and the usual text and JSON Lines files.</summary>
    public static CorpusOptions Options { get; } = new() { Include = ["*.py", .. CorpusOptions.DefaultInclude] };

    /// <summary>The standard library folder (e.g. /usr/lib/python3.11), or null when none is installed.</summary>
    public static string? StandardLibrary(IEnumerable<string>? roots = null)
    {
        var found = new List<(Version Version, string Path)>();
        foreach (string root in roots ?? SearchRoots)
        {
            if (!Directory.Exists(root)) continue;
            foreach (string dir in Directory.EnumerateDirectories(root, "python3.*"))
                if (Version.TryParse(Path.GetFileName(dir)["python".Length..], out var version) && File.Exists(Path.Combine(dir, "os.py")))
                    found.Add((version, dir));
        }
        return found.Count == 0 ? null : found.MaxBy(f => f.Version).Path;
    }

    /// <summary>The inputs to read: the given ones, else the standard library, else a UserError asking for --corpus.</summary>
    public static IReadOnlyList<string> InputsOrDefault(IReadOnlyList<string>? given, IEnumerable<string>? roots = null)
    {
        if (given is { Count: > 0 }) return given;
        return StandardLibrary(roots) is string stdlib ? [stdlib]
            : throw new UserError($"no Python standard library found (looked for python3.N/os.py under {string.Join(", ", roots ?? SearchRoots)}); " +
                "give --corpus with code to train on: a folder of .py files, text files or JSON Lines with a \"text\" field");
    }
}
