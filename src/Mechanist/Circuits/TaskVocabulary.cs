using Mechanist.Numerics;

namespace Mechanist.Circuits;

/// <summary>
/// The words templates fill in. Train and held-out prompts draw from disjoint halves (every other word), so a
/// held-out prompt never shares a variable name, function or string word with a train prompt.
/// </summary>
public sealed class TaskVocabulary
{
    static readonly string[] AllNames =
        ["items", "count", "total", "value", "result", "data", "name", "key", "line", "word", "text", "size", "index",
         "node", "path", "user", "row", "col", "item", "buf", "parts", "seen", "out", "acc", "left", "right", "head", "tail"];
    static readonly string[] AllFunctions = ["len", "str", "print", "open", "list", "sorted", "sum", "max", "min", "format", "repr", "int"];
    static readonly string[] AllWords = ["hello", "world", "error", "file", "done", "spam", "eggs", "test", "start", "end", "foo", "ok"];

    TaskVocabulary(int half)
    {
        Names = Half(AllNames, half);
        Functions = Half(AllFunctions, half);
        Words = Half(AllWords, half);
    }

    public static TaskVocabulary Train { get; } = new(0);
    public static TaskVocabulary HeldOut { get; } = new(1);

    public IReadOnlyList<string> Names { get; }
    public IReadOnlyList<string> Functions { get; }
    public IReadOnlyList<string> Words { get; }

    public string Name(Rng rng) => Names[rng.NextInt(Names.Count)];
    public string Function(Rng rng) => Functions[rng.NextInt(Functions.Count)];
    public string Word(Rng rng) => Words[rng.NextInt(Words.Count)];

    /// <summary>A short argument: a name or a small number.</summary>
    public string Operand(Rng rng) => rng.NextInt(3) == 0 ? rng.NextInt(100).ToString(System.Globalization.CultureInfo.InvariantCulture) : Name(rng);

    /// <summary>Two different names.</summary>
    public (string, string) TwoNames(Rng rng)
    {
        string a = Name(rng), b;
        do b = Name(rng); while (b == a);
        return (a, b);
    }

    static string[] Half(string[] all, int half) => all.Where((_, i) => i % 2 == half).ToArray();
}
