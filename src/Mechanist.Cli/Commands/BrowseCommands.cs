using System.CommandLine;
using Mechanist.Browser;
using Mechanist.Features;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist browse` (local web server) and `mechanist export-html` (static site) over a feature store.</summary>
static class BrowseCommands
{
    public static IEnumerable<Command> Create() => [Browse(), ExportHtml(), ExportWeb()];

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
            if (encoder == null) Console.Error.WriteLine($"note: the playground and the Generate page are off: {why}");
            var model = PackModel(encoder, WebPrecision.F32, out string? whyNot);
            var server = BrowserServer.StartAsync(store, encoder, h, parse.GetValue(port), cancel, model, whyNot ?? why).GetAwaiter().GetResult();
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
        var precision = new Option<string>("--precision")
        {
            Description = "How the page's copy of the model and SAE is stored: f32, or f16 / bf16 for half the bytes (refused if that moves a logit by more than 1e-3).",
            DefaultValueFactory = _ => "f32",
        };
        var noModel = new Option<bool>("--no-model") { Description = "Leave the model out: no Generate page and no playground." };
        var cmd = new Command("export-html",
            "Write the feature browser as a static site that works from any web host and from file://. With the store's model and SAE still on this machine, " +
            "the site also packs them (model/) for a Generate page and a playground that run the model in the page.")
        {
            features, outDir, precision, noModel,
        };
        return cmd.WithAction((parse, cancel) =>
        {
            WebPrecision? p = parse.GetValue(noModel) ? null : ParsePrecision(parse.GetValue(precision)!);
            var site = StaticExport.Export(parse.GetValue(features)!, parse.GetValue(outDir)!, ConsoleProgress.Instance, cancel, p);
            Console.Error.WriteLine("note: " + site.Model);
            Console.WriteLine($"wrote {site.IndexPage} ({site.Bytes / 1e6:0.0} MB)");
            return 0;
        });
    }

    static Command ExportWeb()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors).", Required = true };
        var sae = new Option<string?>("--sae") { Description = "SAELens SAE folder whose features the page shows and steers (optional)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder or tokenizer.json; default: the model folder." };
        var outDir = new Option<string>("--out") { Description = "Folder for the page (created; an earlier export there is replaced).", Required = true };
        var precision = new Option<string>("--precision") { Description = "f32, or f16 / bf16 for half the bytes (refused if that moves a logit by more than 1e-3).", DefaultValueFactory = _ => "f32" };
        var cmd = new Command("export-web", "Write a page that runs a model (and an SAE's features) in the browser, from file:// or any host: open OUT/index.html.")
        {
            model, sae, tokenizer, outDir, precision,
        };
        return cmd.WithAction((parse, cancel) =>
        {
            string modelDir = parse.GetValue(model)!;
            var m = Mechanist.Models.ModelFiles.Load(modelDir);
            var tok = Mechanist.Text.TokenizerFiles.Load(parse.GetValue(tokenizer) ?? modelDir);
            var s = parse.GetValue(sae) is string saeDir ? Mechanist.Sae.SaeLensFormat.Load(saeDir) : null;
            var files = WebModelFiles.Build(m, tok, s, s?.Metadata.Hook, ParsePrecision(parse.GetValue(precision)!));
            Console.Error.WriteLine("note: " + files.Summary);
            StaticExport.WriteModelOnly(files, parse.GetValue(outDir)!);
            Console.WriteLine($"wrote {Path.GetFullPath(parse.GetValue(outDir)!)}/index.html");
            return 0;
        });
    }

    internal static WebPrecision ParsePrecision(string text) => text.ToLowerInvariant() switch
    {
        "f32" or "float32" => WebPrecision.F32,
        "f16" or "float16" => WebPrecision.F16,
        "bf16" or "bfloat16" => WebPrecision.BF16,
        _ => throw new UserError($"--precision: '{text}' is not f32, f16 or bf16"),
    };

    /// <summary>The store's model, tokenizer and SAE packed for the page (Generate page, static playground); its size on the console.</summary>
    /// <param name="whyNot">Why a model at hand cannot be packed (null when it was packed or there is none).</param>
    internal static WebModelFiles? PackModel(ModelFeatureEncoder? encoder, WebPrecision precision, out string? whyNot)
    {
        whyNot = null;
        if (encoder == null) return null;
        if (WebModelFiles.Unsupported(encoder.Model.Config) is string why)
        {
            whyNot = why;
            Console.Error.WriteLine($"note: no Generate page: {why}");
            return null;
        }
        var model = WebModelFiles.Build(encoder.Model, encoder.Tokenizer, encoder.Sae, encoder.Hook, precision);
        Console.Error.WriteLine("note: " + model.Summary);
        return model;
    }
}
