using System.IO.Compression;
using System.Text.Json;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>GPT-2's tokenizer files and golden ids (tests/Mechanist.Tests/Fixtures/gpt2), loaded once for all tests.</summary>
public static class Gpt2
{
    public static string Dir => TestPaths.Fixture("gpt2");

    static readonly Lazy<BpeTokenizer> LazyTokenizer = new(() => TokenizerFiles.Load(Dir));
    public static BpeTokenizer Tokenizer => LazyTokenizer.Value;

    public static IEnumerable<(string Source, string Text, int[] Ids)> Golden()
    {
        using var file = File.OpenRead(Path.Combine(Dir, "golden.jsonl.gz"));
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            yield return (root.GetProperty("source").GetString()!, root.GetProperty("text").GetString()!,
                root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }
    }
}
