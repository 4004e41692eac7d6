using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Pipeline;
using Mechanist.Features;

namespace Mechanist.Tests.Features;

/// <summary>
/// A feature store built from a tiny real model through the product's own stages: a small deterministic corpus
/// written here → BPE tokenizer → token store → micro model → harvest → top-k SAE → feature statistics → built-in
/// explanations (the demo pipeline's <c>tiny</c> preset, without its evaluation stage). Takes a few seconds.
/// </summary>
public static class ModelFixture
{
    /// <summary>The demo's tiny preset with a smaller vocabulary to suit the small corpus.</summary>
    public static DemoPreset Preset { get; } = DemoPreset.Tiny with { Name = "fixture", VocabSize = 384 };

    /// <summary>Builds every stage under <paramref name="dir"/>; returns the pipeline (its folders) and the seconds taken.</summary>
    public static (DemoPipeline Pipeline, double Seconds) Build(string dir)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        string corpus = Path.Combine(dir, "corpus.jsonl");
        WriteCorpus(corpus);
        var pipeline = new DemoPipeline(new DemoOptions { Corpus = [corpus], OutDir = Path.Combine(dir, "run"), Preset = Preset, Seed = 1 });
        var stages = pipeline.Stages(_ => { }).Where(s => s.Name != "eval").ToList();
        var log = new List<string>();
        new DemoRunner(Path.Combine(dir, "run"), IProgressReporter.None, log.Add).Run(stages, CancellationToken.None);
        File.WriteAllLines(Path.Combine(dir, "build.log"), log);
        return (pipeline, clock.Elapsed.TotalSeconds);
    }

    static readonly string[] Subjects = ["The cat", "The dog", "A bird", "My friend", "The teacher", "Our neighbour", "The old man", "A child"];
    static readonly string[] Verbs = ["sat on", "looked at", "walked to", "ran past", "found", "painted", "opened", "cleaned"];
    static readonly string[] Objects = ["the mat", "the door", "the garden", "the red box", "the window", "the park", "the river", "the house"];
    static readonly string[] Hebrew = ["שלום עולם", "בוקר טוב", "תודה רבה", "ספר חדש", "מים קרים"];
    static readonly string[] Hangul = ["안녕하세요", "감사합니다", "한국어 문장", "좋은 아침", "사랑해요"];
    static readonly string[] Code =
    [
        "for (int i = 0; i < n; i++) sum += x[i];", "if (value == null) return false;", "var list = new List<int>();",
        "return a * b + c;", "while (count > 0) count--;", "public static void Main(string[] args) { }",
    ];

    /// <summary>About 80 KB of documents mixing English sentences, numbers, Hebrew, Hangul and C# lines (seeded).</summary>
    public static void WriteCorpus(string path)
    {
        var random = new Random(12345);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        T Pick<T>(T[] items) => items[random.Next(items.Length)];
        for (int doc = 0; doc < 400; doc++)
        {
            var text = new StringBuilder();
            for (int line = 0; line < 4; line++)
            {
                switch ((doc + line) % 5)
                {
                    case 0: case 1: text.Append($"{Pick(Subjects)} {Pick(Verbs)} {Pick(Objects)}. "); break;
                    case 2: text.Append($"In {1900 + random.Next(120)} there were {random.Next(10, 9999)} people and {random.Next(100)} cars. "); break;
                    case 3: text.Append(random.Next(2) == 0 ? $"{Pick(Hebrew)} {Pick(Hebrew)}. " : $"{Pick(Hangul)} {Pick(Hangul)}. "); break;
                    default: text.Append('\n').Append(Pick(Code)).Append('\n'); break;
                }
            }
            writer.WriteLine(new JsonObject { ["text"] = text.ToString() }.ToJsonString());
        }
    }
}
