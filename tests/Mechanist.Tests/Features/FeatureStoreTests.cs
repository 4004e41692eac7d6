using System.Buffers.Binary;
using Mechanist.Features;

namespace Mechanist.Tests.Features;

public class FeatureStoreTests
{
    static FeatureRecord Sample(UnitKind kind, int id) => new()
    {
        Kind = kind, Id = id, Density = 0.01f * (id + 1), MaxActivation = 3.5f + id, MeanActivation = 1.25f,
        ActivationHistogram = new Histogram(0, 3.5f, [5, 0, 300_000, 1]),
        TopExamples = [new ActivationRecord([1, 2, 3], [0f, 3.5f, 0.1f], 1), new ActivationRecord([4, 2], [2.0f, 0.3f])],
        Intervals = [new IntervalSamples(0, 1.75f, 0.8f, [new ActivationRecord([5], [0.5f])]), new IntervalSamples(1.75f, 3.5f, 0.2f, [])],
        RandomExamples = [new ActivationRecord([0, 0, 1], [0, 0, 0])],
        Logits = new LogitEffects([new TokenValue(3, 1.5f)], [new TokenValue(4, -2.25f)], new Histogram(-2.25f, 1.5f, [1, 2, 3])),
        Nearest = [new Neighbour((id + 1) % 3, 0.75f)],
    };

    static readonly string[] Vocab = ["<unk>", " the", " cat", "\n", " sat", "."];

    static string WriteSmall(string dir, int features = 3, int neurons = 2)
    {
        using var w = FeatureStoreWriter.Create(dir, new FeatureStoreSource { Model = "m", Hook = "h", TokensAnalysed = 100 }, Vocab, features, neurons);
        for (int i = features - 1; i >= 0; i--) w.Add(Sample(UnitKind.Feature, i)); // any order
        for (int i = 0; i < neurons; i++) w.Add(Sample(UnitKind.Neuron, i));
        w.Complete();
        return dir;
    }

    [Fact]
    public void Round_trip_keeps_every_field_with_activations_rounded_to_float16()
    {
        using var store = FeatureStore.Open(WriteSmall(TestPaths.NewTempDir()));
        Assert.Equal(3, store.UnitCount(UnitKind.Feature));
        Assert.Equal(2, store.UnitCount(UnitKind.Neuron));
        Assert.Equal(Vocab, store.Vocabulary);
        Assert.Equal("m", store.Source.Model);
        Assert.Equal(100, store.Source.TokensAnalysed);

        var expected = Sample(UnitKind.Feature, 1);
        var got = store.GetUnit(UnitKind.Feature, 1);
        Assert.Equal(expected.Density, got.Density);
        Assert.Equal(expected.MaxActivation, got.MaxActivation);
        Assert.Equal(expected.ActivationHistogram.Counts, got.ActivationHistogram.Counts);
        Assert.Equal(expected.ActivationHistogram.Max, got.ActivationHistogram.Max);
        Assert.Equal(2, got.TopExamples.Length);
        Assert.Equal([1, 2, 3], got.TopExamples[0].TokenIds);
        Assert.Equal([" the", " cat", "\n"], got.TopExamples[0].Tokens);
        Assert.Equal((float)(Half)0.1f, got.TopExamples[0].Activations[2]);
        Assert.Equal(3.5f, got.TopExamples[0].Activations[1]);
        Assert.Equal(1, got.TopExamples[0].Position);
        Assert.Equal(-1, got.TopExamples[1].Position);
        Assert.Equal(0.8f, got.Intervals[0].Fraction);
        Assert.Single(got.Intervals[0].Examples);
        Assert.Empty(got.Intervals[1].Examples);
        Assert.Equal([0, 0, 1], got.RandomExamples[0].TokenIds);
        Assert.Equal(" sat", got.Logits.Bottom[0].Token);
        Assert.Equal(-2.25f, got.Logits.Bottom[0].Value);
        Assert.Equal("\n", got.Logits.Top[0].Token);
        Assert.Equal([1L, 2, 3], got.Logits.Histogram.Counts);
        Assert.Equal(new Neighbour(2, 0.75f), got.Nearest[0]);

        var summary = store.GetSummary(UnitKind.Feature, 1);
        Assert.Equal([2, 4], summary.TopTokenIds); // argmax tokens of the top examples: " cat" then " sat"
        Assert.Equal(UnitKind.Neuron, store.GetUnit(UnitKind.Neuron, 1).Kind);
    }

    [Fact]
    public void Search_by_token_reads_top_tokens_and_explanations_are_merged()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        File.WriteAllLines(Path.Combine(dir, "explanations.jsonl"),
        [
            """{"id": 0, "explanation": "Cats on mats", "scores": {"simulation_pearson": 0.9}, "explainer": "x"}""",
            "",
            """{"kind": "feature", "id": 2, "explanation": "Sitting", "scores": {"simulation_pearson": 0.4}}""",
        ]);
        using var store = FeatureStore.Open(dir);
        Assert.Equal([0, 1, 2], store.FindByToken(UnitKind.Feature, "CAT "));
        Assert.Equal([0, 1, 2], store.FindByToken(UnitKind.Feature, "sat"));
        Assert.Empty(store.FindByToken(UnitKind.Feature, "dog"));
        Assert.Equal([0], store.FindByExplanation(UnitKind.Feature, "mats"));
        Assert.Equal("Cats on mats", store.GetUnit(UnitKind.Feature, 0).Explanation!.Text);
        Assert.Equal(0.9f, store.GetSummary(UnitKind.Feature, 0).Explanation!.Scores["simulation_pearson"]);
        Assert.Equal([0, 2, 1], store.Order(UnitKind.Feature, UnitSort.Score));
        Assert.Equal([2, 1, 0], store.Order(UnitKind.Feature, UnitSort.Density));
    }

    [Fact]
    public void Reads_explanations_as_the_explain_stage_writes_them()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        var good = new Mechanist.Explain.ExplanationResult
        {
            Kind = "feature", Id = 1, Explanation = "cats & <mats>", Explainer = "builtin",
            Scores = new() { SimulationPearson = 0.625, DetectionF1 = 0.5, TopTokenPearson = double.NaN },
        };
        var unscored = new Mechanist.Explain.ExplanationResult { Kind = "neuron", Id = 0, Explanation = "flat", Scores = new() { SimulationPearson = double.NaN } };
        File.WriteAllLines(Path.Combine(dir, "explanations.jsonl"),
            [System.Text.Json.JsonSerializer.Serialize(good, Mechanist.Explain.ExplanationResult.Json),
             System.Text.Json.JsonSerializer.Serialize(unscored, Mechanist.Explain.ExplanationResult.Json)]);
        using var store = FeatureStore.Open(dir);
        var e = store.GetSummary(UnitKind.Feature, 1).Explanation!;
        Assert.Equal("cats & <mats>", e.Text);
        Assert.Equal(0.625f, e.Score);
        Assert.Equal("builtin", e.Explainer);
        Assert.Equal(0.5f, e.Scores["detection_f1"]);
        Assert.False(e.Scores.ContainsKey("top_token_pearson"));
        Assert.Null(store.GetSummary(UnitKind.Neuron, 0).Explanation!.Score);
    }

    [Fact]
    public void Incomplete_writer_leaves_no_store_and_names_the_missing_unit()
    {
        string dir = TestPaths.NewTempDir();
        using (var w = FeatureStoreWriter.Create(dir, new FeatureStoreSource(), Vocab, 3))
        {
            w.Add(Sample(UnitKind.Feature, 0));
            w.Add(Sample(UnitKind.Feature, 2));
            var e = Assert.Throws<InvalidOperationException>(w.Complete);
            Assert.Contains("first missing: 1", e.Message);
            Assert.Throws<ArgumentException>(() => w.Add(Sample(UnitKind.Feature, 0)));
            Assert.Throws<ArgumentException>(() => w.Add(Sample(UnitKind.Feature, 1) with { TopExamples = [new([99], [1f])] }));
            Assert.Throws<ArgumentException>(() => w.Add(Sample(UnitKind.Feature, 1) with { TopExamples = [new([1], [1f], 1)] }));
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        Assert.Throws<UserError>(() => FeatureStore.Open(dir));
    }

    [Fact]
    public void Corrupt_manifest_is_one_error_naming_file_and_field()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        string manifest = Path.Combine(dir, "features.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"tokenIdBytes\": 2", "\"tokenIdBytes\": 3"));
        var e = Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir));
        Assert.Equal(manifest, e.FilePath);
        Assert.Equal("tokenIdBytes", e.Field);

        File.WriteAllText(manifest, "{ not json");
        Assert.Equal(manifest, Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir)).FilePath);
        Assert.Contains("a file, not a folder", Assert.ThrowsAny<UserError>(() => FeatureStore.Open(manifest)).Message);
        Assert.Contains("no such folder", Assert.ThrowsAny<UserError>(() => FeatureStore.Open(Path.Combine(dir, "missing"))).Message);
    }

    [Fact]
    public void Truncated_data_or_bad_index_fails_at_open()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        string data = Path.Combine(dir, "feature.data");
        using (var f = new FileStream(data, FileMode.Open)) f.SetLength(f.Length - 5);
        var e = Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir));
        Assert.EndsWith("feature.index", e.FilePath);
        Assert.Contains("blob", e.Field);

        dir = WriteSmall(TestPaths.NewTempDir());
        string index = Path.Combine(dir, "neuron.index");
        var bytes = File.ReadAllBytes(index);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(32 + 64), 7f); // neuron 1's density
        File.WriteAllBytes(index, bytes);
        e = Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir));
        Assert.Equal("neuron 1: density", e.Field);

        File.WriteAllBytes(index, bytes[..^1]);
        Assert.Equal("length", Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir)).Field);
    }

    [Fact]
    public void Corrupt_blob_fails_on_read_naming_the_unit()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        string data = Path.Combine(dir, "feature.data");
        var bytes = File.ReadAllBytes(data);
        bytes[0] ^= 0xFF; // feature 2 was written first: its magic
        File.WriteAllBytes(data, bytes);
        using var store = FeatureStore.Open(dir);
        store.GetUnit(UnitKind.Feature, 0);
        var e = Assert.Throws<DataFormatError>(() => store.GetUnit(UnitKind.Feature, 2));
        Assert.Equal(data, e.FilePath);
        Assert.Equal("feature 2: magic", e.Field);
    }

    [Fact]
    public void Several_explainers_sit_side_by_side_and_an_llm_explanation_is_shown_first()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        static string Line(int id, string text, string explainer, string? model, double score) =>
            System.Text.Json.JsonSerializer.Serialize(new Mechanist.Explain.ExplanationResult
            {
                Kind = "feature", Id = id, Explanation = text, Explainer = explainer, Model = model, Scores = new() { SimulationPearson = score },
            }, Mechanist.Explain.ExplanationResult.Json);
        File.WriteAllLines(Path.Combine(dir, Mechanist.Explain.ExplanationFiles.FileName("builtin", null, 0)),
            [Line(0, "builtin zero", "builtin", null, 0.95), Line(1, "builtin one", "builtin", null, 0.5)]);
        File.WriteAllLines(Path.Combine(dir, Mechanist.Explain.ExplanationFiles.FileName("llm", "m", 0)), [Line(0, "llm m zero", "llm", "m", 0.7)]);
        File.WriteAllLines(Path.Combine(dir, Mechanist.Explain.ExplanationFiles.FileName("llm", "N/7b", 0)),
            [Line(0, "llm n zero, first try", "llm", "N/7b", 0.1), Line(0, "llm n zero", "llm", "N/7b", 0.8)]);
        // Failures files sit beside the results and are not explanations.
        File.WriteAllText(Path.Combine(dir, "explanations.llm-m-seed0.failures.jsonl"), "{\"id\": 99}\n");

        using var store = FeatureStore.Open(dir);
        var zero = store.GetSummary(UnitKind.Feature, 0);
        Assert.Equal(["llm n zero", "llm m zero", "builtin zero"], zero.Explanations.Select(e => e.Text));
        Assert.Same(zero.Explanations[0], zero.Explanation);
        Assert.Equal("llm (N/7b)", zero.Explanation!.By);
        Assert.Equal(["llm n zero", "llm m zero", "builtin zero"], store.GetUnit(UnitKind.Feature, 0).Explanations.Select(e => e.Text));
        Assert.Equal("builtin one", store.GetSummary(UnitKind.Feature, 1).Explanation!.Text);
        Assert.Equal(2, store.ExplanationCount);
        Assert.Equal([0, 1, 2], store.Order(UnitKind.Feature, UnitSort.Score)); // by the shown explanation's score: 0.8, 0.5, none
        Assert.Equal([0], store.FindByExplanation(UnitKind.Feature, "builtin zero")); // search reads every explanation

        var page = Mechanist.Browser.UnitPage.Render(store, Mechanist.Browser.ServerLinks.Instance, UnitKind.Feature, 0);
        Assert.Contains("llm n zero", page[..page.IndexOf("other-explanations", StringComparison.Ordinal)]);
        Assert.Contains("Other explanations (2)", page);
        Assert.Contains("builtin zero", page);
    }

    [Fact]
    public void Bad_explanation_line_names_the_line()
    {
        string dir = WriteSmall(TestPaths.NewTempDir());
        File.WriteAllLines(Path.Combine(dir, "explanations.jsonl"), ["""{"id": 0, "explanation": "ok"}""", """{"id": 7, "explanation": "no such"}"""]);
        var e = Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir));
        Assert.Equal("line 2.id", e.Field);
    }

    [Fact]
    public void Fixture_store_follows_its_rule()
    {
        using var store = FeatureStore.Open(FixtureStore.Build(TestPaths.NewTempDir()));
        Assert.Equal(FixtureStore.Features, store.UnitCount(UnitKind.Feature));
        var f0 = store.GetUnit(UnitKind.Feature, 0);
        Assert.Equal(" cat", f0.TopExamples[0].Tokens[Array.IndexOf(f0.TopExamples[0].Activations, f0.TopExamples[0].Activations.Max())]);
        Assert.Contains(0, store.FindByToken(UnitKind.Feature, "cat"));
        Assert.True(store.GetSummary(UnitKind.Feature, 11).IsDead);
        Assert.Equal(f0.ActivationHistogram.Total, (long)Math.Round(f0.Density * store.Source.TokensAnalysed));
        Assert.NotNull(f0.Explanation);
    }
}
