using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Tests.Features;

namespace Mechanist.Tests.Browser;

/// <summary>
/// One feature store built from a tiny real model (<see cref="ModelFixture"/>), served in-process on a free
/// loopback port with the real model encoder for the playground, shared by the browser tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public string Root { get; } = TestPaths.NewTempDir("mechanist-browser");
    public string StoreDir { get; private set; } = null!;
    public FeatureStore Store { get; private set; } = null!;
    public BrowserServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new();
    /// <summary>Seconds the model fixture took to build (corpus to explanations).</summary>
    public double BuildSeconds { get; private set; }

    /// <summary>A feature that fired, with its strongest top token that is a searchable word (chosen from the store, not hard-coded).</summary>
    public (int Id, string Token) Probe { get; private set; }

    /// <summary>Text to search explanations for: a descriptive phrase from some explanation (or the probe's whole explanation).</summary>
    public string ExplanationQuery { get; private set; } = null!;

    public ModelFeatureEncoder Encoder { get; private set; } = null!;

    /// <summary>What a search for <paramref name="q"/> should list: units by top token, then by explanation text.</summary>
    public HashSet<int> Matches(string q) =>
        [.. Store.FindByToken(UnitKind.Feature, q), .. Store.FindByExplanation(UnitKind.Feature, q)];

    public async Task InitializeAsync()
    {
        (var pipeline, BuildSeconds) = ModelFixture.Build(Root);
        // Kept beside the screenshots: how long each stage took, for whoever tunes the fixture's budgets.
        string artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);
        File.WriteAllLines(Path.Combine(artifacts, "model-fixture.log"),
            [.. File.ReadAllLines(Path.Combine(Root, "build.log")), $"total: {BuildSeconds:0.00} s"]);
        StoreDir = pipeline.FeaturesDir;
        Store = FeatureStore.Open(StoreDir);
        Probe = FindProbe(Store);
        ExplanationQuery = FindExplanationQuery(Store, Probe.Id);
        Encoder = ModelFeatureEncoder.ForStore(Store, out string? reason) ?? throw new InvalidOperationException(reason);
        Server = await BrowserServer.StartAsync(Store, Encoder, "127.0.0.1", 0);
        Http.BaseAddress = new Uri(Server.Address);
    }

    /// <summary>The lowest-id live feature whose first top token is at least two letters (so a search for it is meaningful).</summary>
    static (int, string) FindProbe(FeatureStore store)
    {
        for (int id = 0; id < store.UnitCount(UnitKind.Feature); id++)
        {
            var s = store.GetSummary(UnitKind.Feature, id);
            if (s.Density <= 0 || s.TopTokenIds.Length == 0) continue;
            string token = store.TokenString(s.TopTokenIds[0]).Trim();
            if (token.Length >= 2 && token.All(char.IsLetter)) return (id, token);
        }
        throw new InvalidOperationException("no live feature has a word as its top token");
    }

    /// <summary>The built-in explainer's "also …" phrase of the first explanation that has one, else the probe's whole explanation.</summary>
    static string FindExplanationQuery(FeatureStore store, int probe)
    {
        for (int id = 0; id < store.UnitCount(UnitKind.Feature); id++)
        {
            string? text = store.GetSummary(UnitKind.Feature, id).Explanation?.Text;
            int also = text?.IndexOf("; also ", StringComparison.Ordinal) ?? -1;
            if (also >= 0) return text![(also + 7)..].Split(';')[0].Trim();
        }
        return store.GetSummary(UnitKind.Feature, probe).Explanation?.Text ?? throw new InvalidOperationException("the fixture store has no explanations");
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Store.Dispose();
        Encoder = null!;
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition("browser")]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>;
