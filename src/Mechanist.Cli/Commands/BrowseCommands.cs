using System.CommandLine;
using Mechanist.Browser;
using Mechanist.Features;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist browse` (local web server) and `mechanist export-html` (static site) over a feature store.</summary>
static class BrowseCommands
{
    public static IEnumerable<Command> Create() => [Browse(), ExportHtml()];

    static Option<string> FeaturesOption() => new("--features")
    {
        Description = "Feature store folder written by `mechanist features build` (features.json, *.index, *.data).", Required = true,
    };

    static Command Browse()
    {
        var features = FeaturesOption();
        var port = new Option<int>("--port") { Description = "TCP port to listen on; 0 picks a free one.", DefaultValueFactory = _ => 0 };
        var host = new Option<string>("--host")
        {
            Description = "Address to bind. The default serves only this machine; 0.0.0.0 exposes the browser to the network.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var cmd = new Command("browse", "Serve the feature browser on this machine: index, feature and neuron pages, playground. Prints the address; Ctrl-C stops.")
        {
            features, port, host,
        };
        return cmd.WithAction((parse, cancel) =>
        {
            using var store = FeatureStore.Open(parse.GetValue(features)!);
            string h = parse.GetValue(host)!;
            // The playground runs typed text through the model and SAE the store was built from, when they are still there.
            var encoder = ModelFeatureEncoder.ForStore(store, out string? why);
            if (encoder == null) Console.Error.WriteLine($"note: the playground is off: {why}");
            var server = BrowserServer.StartAsync(store, encoder, h, parse.GetValue(port), cancel).GetAwaiter().GetResult();
            try
            {
                if (h is not ("127.0.0.1" or "::1" or "localhost")) Console.Error.WriteLine($"warning: listening on {h}: other machines can reach this browser");
                Console.WriteLine($"Mechanist browser: {server.Address}/  ({store.UnitCount(UnitKind.Feature):N0} features, {store.UnitCount(UnitKind.Neuron):N0} neurons; Ctrl-C to stop)");
                server.RunUntilCancelledAsync(cancel).GetAwaiter().GetResult();
            }
            finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
            return 0;
        });
    }

    static Command ExportHtml()
    {
        var features = FeaturesOption();
        var outDir = new Option<string>("--out") { Description = "Folder for the site (created; an earlier export there is replaced).", Required = true };
        var cmd = new Command("export-html", "Write the feature browser as a static site that works from any web host and from file:// (no playground).")
        {
            features, outDir,
        };
        return cmd.WithAction((parse, cancel) =>
        {
            var site = StaticExport.Export(parse.GetValue(features)!, parse.GetValue(outDir)!, ConsoleProgress.Instance, cancel);
            Console.WriteLine($"wrote {site.IndexPage} ({site.Bytes / 1e6:0.0} MB)");
            return 0;
        });
    }
}
