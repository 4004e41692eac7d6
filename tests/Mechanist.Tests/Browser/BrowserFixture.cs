using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Tests.Features;

namespace Mechanist.Tests.Browser;

/// <summary>One fixture store, served in-process on a free loopback port, shared by the browser tests.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public string StoreDir { get; } = TestPaths.NewTempDir("mechanist-browser");
    public FeatureStore Store { get; private set; } = null!;
    public BrowserServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        FixtureStore.Build(StoreDir);
        Store = FeatureStore.Open(StoreDir);
        Server = await BrowserServer.StartAsync(Store, new FixtureStore.Encoder(), "127.0.0.1", 0);
        Http.BaseAddress = new Uri(Server.Address);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Store.Dispose();
    }
}

[CollectionDefinition("browser")]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>;
