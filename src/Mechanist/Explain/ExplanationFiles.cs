using System.Text;

namespace Mechanist.Explain;

/// <summary>
/// Where a feature store keeps its explanations: one JSON Lines file per explainer run, so several explainers'
/// results sit side by side. The built-in explainer with seed 0 (what the demo runs) writes
/// <c>explanations.jsonl</c>; any other explainer, model or seed writes <c>explanations.{key}.jsonl</c>, e.g.
/// <c>explanations.llm-qwen2.5-7b-seed0.jsonl</c>. Each has its <c>*.failures.jsonl</c> beside it
/// (<see cref="ExplanationStore"/>, the one reader and writer of the format).
/// </summary>
public static class ExplanationFiles
{
    public const string Default = "explanations.jsonl";
    const string Prefix = "explanations", Failures = ".failures.jsonl";

    /// <summary>The results file of one explainer run in a store folder.</summary>
    public static string FileName(string explainer, string? model, int seed) =>
        explainer == BuiltinExplainer.Name && model is null && seed == 0 ? Default
            : $"{Prefix}.{Slug(model is null ? explainer : $"{explainer}-{model}")}-seed{seed}.jsonl";

    /// <summary>Every explainer run's results file in <paramref name="storeDir"/> (not the failures files), by name.</summary>
    public static IReadOnlyList<string> InStore(string storeDir) =>
        !Directory.Exists(storeDir) ? []
            : Directory.EnumerateFiles(storeDir, Prefix + "*.jsonl")
                .Where(f => !f.EndsWith(Failures, StringComparison.Ordinal) && IsOurs(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal).ToList();

    /// <summary>Results and failures files: what a new store over new units must remove.</summary>
    public static IEnumerable<string> AllInStore(string storeDir) =>
        InStore(storeDir).SelectMany(f => new[] { f, ExplanationStore.FailuresPathFor(f) }).Where(File.Exists);

    static bool IsOurs(string name) => name == Default || name.StartsWith(Prefix + ".", StringComparison.Ordinal);

    /// <summary>A file-name-safe form: letters, digits, '.', '_' and '-' kept, anything else '-'.</summary>
    static string Slug(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant()) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        return sb.ToString().Trim('-', '.');
    }
}
