using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Browser;
using Mechanist.Pipeline;
using Mechanist.Features;
using Mechanist.IO;
using Spectre.Console;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist demo`: every stage from raw text to the feature browser, in one command.</summary>
static class DemoCommand
{
    public static Command Create()
    {
        var corpus = new Option<string[]>("--corpus")
        {
            Description = "Text files, folders, JSON Lines (.gz, .zst) or Parquet to train on (e.g. ../shared/corpus/mini-pile.train.jsonl.gz). " +
                          "Default: the XML API documentation inside the .NET SDK, which needs no download.",
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "Output folder: one subfolder per stage; re-running skips finished stages.", DefaultValueFactory = _ => "demo-run" };
        var preset = new Option<string>("--preset")
        {
            Description = string.Join(" ", DemoPreset.All.Select(p => $"{p.Name}: {p.Description}.")),
            DefaultValueFactory = _ => "quick",
        };
        var exportHtml = new Option<bool>("--export-html") { Description = "Also write the browser as a static site into OUT/site (open OUT/site/index.html)." };
        var noBrowse = new Option<bool>("--no-browse") { Description = "Stop after the summary instead of serving the browser." };
        var port = new Option<int>("--port") { Description = "Browser port; 0 picks a free one.", DefaultValueFactory = _ => 0 };
        var host = new Option<string>("--host") { Description = "Browser address to bind (loopback by default).", DefaultValueFactory = _ => "127.0.0.1" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the data split, model, SAE and samples.", DefaultValueFactory = _ => 0UL };
        var ab = new Option<bool>("--ab")
        {
            Description = "Also train model B (the next seed) with its own SAE, and SAEs of a half, a quarter and an eighth of the width on A's activations; " +
                          "match A's features to B's (`universal features`) and link the widths' split families with their map (`features splits`), attached to A's " +
                          "feature store: the browser gains an A/B page, best matches and split families on feature pages, and a Map page. " +
                          "By the demo's rates it adds about 3.6 minutes to the quick preset's 2.7 on 2 idle cores (model B's training is 40 % of it; see README).",
        };
        var cmd = new Command("demo",
            "Train a tokenizer, a one-layer model (toy-1l) and a 4,096-latent SAE at blocks.0.mlp.hook_post on your text, " +
            "measure and explain every feature, and open the feature browser. Ctrl-C and re-run resumes.")
            { corpus, output, preset, exportHtml, noBrowse, port, host, seed, ab };
        return cmd.WithAction((parse, cancel) =>
        {
            var p = DemoPreset.Named(parse.GetValue(preset)!);
            var options = new DemoOptions { Corpus = parse.GetValue(corpus) ?? [], OutDir = parse.GetValue(output)!, Preset = p, Seed = parse.GetValue(seed), ExportHtml = parse.GetValue(exportHtml), Ab = parse.GetValue(ab) };
            foreach (string c in options.Corpus)
                if (!File.Exists(c) && !Directory.Exists(c)) throw new UserError($"--corpus {c}: no such file or folder");
            string outDir = Path.GetFullPath(options.OutDir);
            Directory.CreateDirectory(outDir);
            var pipeline = new DemoPipeline(options);

            Console.WriteLine($"Mechanist demo, preset {p.Name} ({p.Description}) → {outDir}");
            long corpusBytes = options.Corpus.Count > 0 ? CorpusBytes(options.Corpus) : DemoEstimate.SdkDocsCorpusBytes;
            var estimate = DemoEstimate.Seconds(p, corpusBytes, options.Ab);
            Console.WriteLine($"expected time on 2 idle cores: {DemoRunner.Clock(estimate.Values.Sum())} " +
                              $"({string.Join(", ", estimate.Select(e => $"{e.Key} {DemoRunner.Clock(e.Value)}"))}); finished stages are skipped");

            var stages = pipeline.Stages(Log);
            for (int i = 0; i < stages.Count; i++)
            {
                var stage = stages[i];
                var run = stage.Run;
                int number = i + 1;
                stages[i] = new DemoStage
                {
                    Name = stage.Name, Folder = stage.Folder, RecordFile = stage.RecordFile, Inputs = stage.Inputs, FastHashInputs = stage.FastHashInputs,
                    Settings = stage.Settings,
                    Run = ctx => { Console.WriteLine($"[{number}/{stages.Count}] {stage.Name} → {stage.Folder}"); return run(ctx); },
                };
            }
            IReadOnlyList<DemoStageOutcome> outcomes;
            try { outcomes = new DemoRunner(outDir, ConsoleProgress.Instance, Log).Run(stages, cancel); }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("stopped; run the same command again to continue where it left off");
                throw;
            }

            var summary = DemoSummary.From(outcomes, pipeline.FeaturesDir);
            AtomicFile.WriteAllText(Path.Combine(outDir, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions
            {
                WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            }) + "\n");
            Print(summary, outDir);

            if (parse.GetValue(exportHtml)) Console.WriteLine($"static site: {Path.Combine(pipeline.SiteDir, "index.html")}");
            if (parse.GetValue(noBrowse))
            {
                Console.WriteLine($"browse later with: mechanist browse --features {pipeline.FeaturesDir}");
                return 0;
            }
            using var store = FeatureStore.Open(pipeline.FeaturesDir);
            var encoder = ModelFeatureEncoder.ForStore(store, out string? why);
            if (encoder == null) Console.Error.WriteLine($"note: the playground is off: {why}");
            var model = BrowseCommands.PackModel(encoder, WebPrecision.F32, out string? whyNot);
            var server = BrowserServer.StartAsync(store, encoder, parse.GetValue(host)!, parse.GetValue(port), cancel, model, whyNot ?? why)
                .GetAwaiter().GetResult();
            try
            {
                Console.WriteLine($"Mechanist browser: {server.Address}/  (open it in a web browser; Ctrl-C to stop)");
                server.RunUntilCancelledAsync(cancel).GetAwaiter().GetResult();
            }
            finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
            return 0;
        });
    }

    static void Log(string line) => Console.WriteLine("  " + line);

    static long CorpusBytes(IReadOnlyList<string> paths) => paths.Sum(p =>
        File.Exists(p) ? new FileInfo(p).Length : Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length));

    static void Print(DemoSummary s, string outDir)
    {
        string F(double v, string format) => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
        var times = new Table().Border(TableBorder.Rounded).Title("stages");
        times.AddColumn("stage").AddColumn(new TableColumn("time").RightAligned()).AddColumn(new TableColumn("CPU").RightAligned()).AddColumn("result");
        foreach (var o in s.Stages)
            times.AddRow(Markup.Escape(o.Name), DemoRunner.Clock(o.Seconds) + (o.Skipped ? " (earlier)" : ""), $"{o.CpuSeconds:0}s", Markup.Escape(o.Summary));
        AnsiConsole.Write(times);

        var metrics = new Table().Border(TableBorder.Rounded).Title("summary");
        metrics.AddColumn("measure").AddColumn(new TableColumn("value").RightAligned()).AddColumn("meaning");
        metrics.AddRow("model validation loss", s.ModelValidationLoss is double v ? F(v, "0.000") : "–", $"nats/token after {ConsoleProgress.Human(s.ModelTokens)} training tokens");
        metrics.AddRow("SAE explained variance", F(s.ExplainedVariance, "0.000"), "of held-out activations at " + DemoPreset.Hook);
        metrics.AddRow("L0", F(s.L0, "0.0"), "latents active per token");
        metrics.AddRow("dead latents", $"{s.Dead:N0} / {s.Latents:N0}", "never fired on the held-out activations");
        metrics.AddRow("ultralow latents", $"{s.Ultralow:N0}", "density below 1e-6 (Towards Monosemanticity's ultralow cluster)");
        metrics.AddRow("CE loss score", F(s.CeLossScore, "0.000"), $"loss {F(s.CeClean, "0.000")} → {F(s.CeSae, "0.000")} with the SAE spliced in ({F(s.CeZero, "0.000")} zero-ablated)");
        if (s.FeatureSimulationPearson is double sim)
            metrics.AddRow("explanation score", F(sim, "0.00"), $"median simulation correlation of features (top-token control {F(s.FeatureTopTokenPearson ?? double.NaN, "0.00")})");
        AnsiConsole.Write(metrics);

        var examples = new Table().Border(TableBorder.Rounded).Title("feature examples");
        examples.AddColumn("feature").AddColumn("explanation").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("density").RightAligned()).AddColumn("top tokens");
        foreach (var e in s.Examples)
            examples.AddRow($"{e.Id}", Markup.Escape(e.Explanation), F(e.Score, "0.00"), F(e.Density * 100, "0.###") + "%",
                Markup.Escape(string.Join(" ", e.TopTokens.Select(t => "'" + t.Replace("\n", "\\n") + "'"))));
        AnsiConsole.Write(examples);
        Console.WriteLine($"summary saved to {Path.Combine(outDir, "summary.json")}");
    }
}
