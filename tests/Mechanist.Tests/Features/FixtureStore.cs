using Mechanist.Features;

namespace Mechanist.Tests.Features;

/// <summary>
/// A tiny, deterministic feature store for tests: a made-up corpus of real words, and units whose activations
/// follow a simple rule (feature f fires strongly on one word and weakly on another; every 12th is dead).
/// The statistics (density, histograms, top windows, interval samples, logit effects, neighbours) are computed
/// from that corpus the way the statistics builder will, and written through <see cref="FeatureStoreWriter"/>.
/// For format tests; the browser tests use <see cref="ModelFixture"/>, a store built from a real tiny model.
/// </summary>
public static class FixtureStore
{
    public const int Features = 48, Neurons = 16, Window = 4;
    public const string Unknown = "<unk>";

    static readonly string[] Words =
    [
        "cat", "dog", "sat", "ran", "on", "in", "the", "a", "mat", "park", "big", "small", "red", "blue", "house", "tree",
        "river", "city", "king", "queen", "man", "woman", "child", "book", "read", "wrote", "code", "number", "one", "two",
        "three", "light", "dark", "happy", "sad", "day", "night", "water", "fire", "stone", "music", "song", "bird", "sky",
        "green", "old", "new", "fast",
    ];

    /// <summary>Token id → display string: unknown, "The", the words with a leading space, punctuation.</summary>
    public static string[] Vocabulary { get; } = [Unknown, "The", .. Words.Select(w => " " + w), ".", ",", "\n"];

    public static int WordToken(int word) => 2 + word;

    /// <summary>The word feature <paramref name="f"/> fires on most strongly ("cat" for feature 0).</summary>
    public static string PreferredWord(int f) => Words[(f * 7) % Words.Length];
    static int Secondary(int f) => WordToken((f * 11 + 5) % Words.Length);
    public static bool IsDead(UnitKind kind, int id) => kind == UnitKind.Feature && id % 12 == 11;
    static float Peak(UnitKind kind, int id) => kind == UnitKind.Feature ? 2f + id % 5 : 1f + id % 3 * 0.5f;

    /// <summary>The rule: activation of a unit on a token, with a jitter in [0, 1) drawn by the caller.</summary>
    public static float Activation(UnitKind kind, int id, int token, double jitter)
    {
        if (IsDead(kind, id)) return 0;
        int preferred = kind == UnitKind.Feature ? WordToken((id * 7) % Words.Length) : WordToken((id * 5 + 2) % Words.Length);
        if (token == preferred) return Peak(kind, id) * (float)(0.55 + 0.45 * jitter);
        if (token == Secondary(id)) return Peak(kind, id) * (float)(0.1 + 0.25 * jitter);
        return 0;
    }

    public static IReadOnlyList<string> Explanations(int f) => [$"the word \"{PreferredWord(f)}\"", $"mentions of {PreferredWord(f)}s"];

    /// <summary>Builds the store in <paramref name="dir"/> (plus explanations for every third live feature). Fast: about 0.2 s.</summary>
    public static string Build(string dir, int corpusTokens = 12_000)
    {
        var rng = new Random(1234);
        int[] corpus = Corpus(rng, corpusTokens);
        var source = new FeatureStoreSource { Model = "fixture-model", Sae = "fixture-sae-48", Hook = "blocks.0.mlp.hook_post", TokensAnalysed = corpus.Length };
        var decoder = new float[Features + Neurons][];
        for (int i = 0; i < decoder.Length; i++) decoder[i] = Enumerable.Range(0, 12).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

        using var writer = FeatureStoreWriter.Create(dir, source, Vocabulary, Features, Neurons);
        foreach (var kind in new[] { UnitKind.Feature, UnitKind.Neuron })
        {
            int count = kind == UnitKind.Feature ? Features : Neurons;
            for (int id = 0; id < count; id++)
            {
                var acts = new float[corpus.Length];
                for (int t = 0; t < corpus.Length; t++) acts[t] = Activation(kind, id, corpus[t], rng.NextDouble());
                int offset = kind == UnitKind.Feature ? 0 : Features;
                writer.Add(Statistics(kind, id, corpus, acts, rng, Nearest(decoder, offset, count, offset + id)));
            }
        }
        writer.Complete();

        var lines = Enumerable.Range(0, Features).Where(f => f % 3 == 0 && !IsDead(UnitKind.Feature, f)).Select(f =>
            System.Text.Json.JsonSerializer.Serialize(new Mechanist.Explain.ExplanationResult
            {
                Kind = "feature", Id = f, Explanation = Explanations(f)[f % 2], Explainer = "fixture",
                Scores = new() { SimulationPearson = 0.3 + 0.6 * ((f * 37) % 100) / 100.0, DetectionBalancedAccuracy = 0.8 },
            }, Mechanist.Explain.ExplanationResult.Json));
        File.WriteAllLines(Path.Combine(dir, "explanations.jsonl"), lines);
        return dir;
    }

    static int[] Corpus(Random rng, int n)
    {
        var tokens = new List<int>(n + 20);
        while (tokens.Count < n)
        {
            tokens.Add(1); // "The"
            int len = rng.Next(4, 11);
            for (int i = 0; i < len; i++) tokens.Add(WordToken(rng.Next(Words.Length)));
            tokens.Add(Vocabulary.Length - (rng.Next(4) == 0 ? 2 : 3)); // "." or ","
            if (rng.Next(6) == 0) tokens.Add(Vocabulary.Length - 1); // "\n"
        }
        return tokens.Take(n).ToArray();
    }

    static Neighbour[] Nearest(float[][] decoder, int offset, int count, int self)
    {
        static float Cos(float[] a, float[] b)
        {
            double ab = 0, aa = 0, bb = 0;
            for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
            return (float)(ab / Math.Sqrt(aa * bb));
        }
        return Enumerable.Range(offset, count).Where(j => j != self).Select(j => new Neighbour(j - offset, Cos(decoder[self], decoder[j])))
            .OrderByDescending(n => n.Cosine).Take(5).ToArray();
    }

    static ActivationRecord WindowAt(int[] corpus, float[] acts, int center)
    {
        int start = Math.Max(0, center - Window), end = Math.Min(corpus.Length, center + Window + 1);
        return new ActivationRecord(corpus[start..end], acts[start..end], center - start);
    }

    /// <summary>Per-unit statistics from the corpus, as METHODS.md §3 defines them (small sizes).</summary>
    static FeatureRecord Statistics(UnitKind kind, int id, int[] corpus, float[] acts, Random rng, Neighbour[] nearest)
    {
        var live = Enumerable.Range(0, acts.Length).Where(t => acts[t] > 0).ToArray();
        float max = live.Length == 0 ? 0 : live.Max(t => acts[t]);
        var record = new FeatureRecord
        {
            Kind = kind, Id = id, Density = (float)live.Length / acts.Length, MaxActivation = max,
            MeanActivation = live.Length == 0 ? 0 : (float)live.Average(t => acts[t]), Nearest = nearest,
            RandomExamples = Enumerable.Range(0, 3).Select(_ => WindowAt(corpus, acts, rng.Next(corpus.Length))).ToArray(),
        };
        var logits = Enumerable.Range(0, Vocabulary.Length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float median = logits.Order().ElementAt(logits.Length / 2);
        var shifted = logits.Select((v, i) => new TokenValue(i, v - median)).ToArray();
        record = record with
        {
            Logits = new LogitEffects(shifted.OrderByDescending(v => v.Value).Take(10).ToArray(), shifted.OrderBy(v => v.Value).Take(10).ToArray(),
                Histogram(shifted.Select(v => v.Value).ToArray(), 30)),
        };
        if (live.Length == 0) return record;

        var top = new List<ActivationRecord>();
        var used = new HashSet<int>();
        foreach (int t in live.OrderByDescending(t => acts[t]))
        {
            if (Enumerable.Range(t - Window, 2 * Window + 1).Any(used.Contains)) continue; // deduplicate overlapping windows
            used.Add(t);
            top.Add(WindowAt(corpus, acts, t));
            if (top.Count == 10) break;
        }
        const int intervals = 5;
        var samples = new IntervalSamples[intervals];
        for (int i = 0; i < intervals; i++)
        {
            float lo = max * i / intervals, hi = max * (i + 1) / intervals;
            var inside = live.Where(t => acts[t] > lo && (acts[t] <= hi)).ToArray();
            samples[i] = new IntervalSamples(lo, hi, (float)inside.Length / live.Length,
                inside.OrderBy(_ => rng.Next()).Take(3).Select(t => WindowAt(corpus, acts, t)).ToArray());
        }
        return record with
        {
            ActivationHistogram = Histogram(live.Select(t => acts[t]).ToArray(), 20, 0), TopExamples = [.. top], Intervals = samples,
        };
    }

    static Histogram Histogram(float[] values, int bins, float? min = null)
    {
        float lo = min ?? values.Min(), hi = values.Max();
        if (hi <= lo) hi = lo + 1;
        var counts = new long[bins];
        foreach (float v in values) counts[Math.Clamp((int)((v - lo) / (hi - lo) * bins), 0, bins - 1)]++;
        return new Histogram(lo, hi, counts);
    }
}
