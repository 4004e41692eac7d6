using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Pipeline;

/// <summary>What a stage's run function gets: where to write, whether it may continue an interrupted attempt.</summary>
public sealed record DemoStageContext(DemoStage Stage, bool CanResume, IProgressReporter Progress, CancellationToken Cancel);

/// <summary>What a stage reports when it finishes: a one-line summary and the numbers later stages and the summary read.</summary>
public sealed record DemoStageResult(string Summary, JsonObject? Results = null);

/// <summary>
/// One step of the demo: a folder it writes, the inputs it depends on (hashed), its settings, and a run
/// function. When the run function returns, <see cref="DemoRunner"/> records settings, input hashes and the
/// stage's results in <see cref="RecordPath"/> (IO's <see cref="Manifest"/>; merged into the manifest the
/// stage itself wrote there, if any). A later run skips the stage while that record matches.
/// </summary>
public sealed class DemoStage
{
    /// <summary>Short name shown in progress and summaries ("tokenizer", "model", ...).</summary>
    public required string Name { get; init; }
    /// <summary>The stage's output folder.</summary>
    public required string Folder { get; init; }
    /// <summary>The record's file name in <see cref="Folder"/>: manifest.json unless two stages share a folder.</summary>
    public string RecordFile { get; init; } = Manifest.FileName;
    /// <summary>Files or folders whose content the stage depends on: earlier stages' records, the user's corpus.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];
    /// <summary>Hash inputs by size, time and ends (large corpora) instead of every byte.</summary>
    public bool FastHashInputs { get; init; }
    public JsonObject Settings { get; init; } = new();
    public required Func<DemoStageContext, DemoStageResult> Run { get; init; }

    public string RecordPath => Path.Combine(Folder, RecordFile);

    /// <summary>The settings and inputs as one string: an interrupted attempt may be resumed only by a run with the same.</summary>
    internal string Fingerprint()
    {
        var text = new StringBuilder(Settings.ToJsonString());
        foreach (string input in Inputs) text.Append('\n').Append(Path.GetFullPath(input)).Append('=').Append(ContentHash.Of(input, FastHashInputs));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

/// <summary>How the runner saw a stage.</summary>
/// <param name="CpuSeconds">Processor time of this process during the stage (both cores count), for estimating an idle machine's time.</param>
public sealed record DemoStageOutcome(string Name, bool Skipped, double Seconds, double CpuSeconds, string Summary, JsonObject Results);

/// <summary>
/// Runs stages in order. A stage whose record matches its settings and inputs is skipped; the first stage
/// that runs makes every later one run too. Before running a stage it notes the attempt (settings + input
/// hashes) under <c>OUT/.demo/</c>: after Ctrl-C, the next run with the same settings and inputs lets the
/// stage resume from its checkpoint instead of starting over.
/// </summary>
public sealed class DemoRunner(string outDir, IProgressReporter progress, Action<string> log)
{
    const string DemoKey = "demo";

    public IReadOnlyList<DemoStageOutcome> Run(IReadOnlyList<DemoStage> stages, CancellationToken cancel)
    {
        var outcomes = new List<DemoStageOutcome>();
        bool rerun = false;
        string attempts = Path.Combine(outDir, ".demo");
        Directory.CreateDirectory(attempts);
        foreach (var stage in stages)
        {
            cancel.ThrowIfCancellationRequested();
            if (!rerun && ReadRecord(stage) is { } done)
            {
                outcomes.Add(new DemoStageOutcome(stage.Name, true, done.Seconds, done.CpuSeconds, done.Summary, done.Results));
                log($"{stage.Name}: {done.Summary} (done earlier, skipped)");
                continue;
            }
            rerun = true;
            string attemptFile = Path.Combine(attempts, stage.Name + ".attempt");
            string fingerprint = stage.Fingerprint();
            bool canResume = File.Exists(attemptFile) && File.ReadAllText(attemptFile).Trim() == fingerprint;
            if (File.Exists(stage.RecordPath)) File.Delete(stage.RecordPath);
            AtomicFile.WriteAllText(attemptFile, fingerprint + "\n");
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var result = stage.Run(new DemoStageContext(stage, canResume, progress, cancel));
            double seconds = clock.Elapsed.TotalSeconds;
            double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            var results = result.Results ?? new JsonObject();
            WriteRecord(stage, result.Summary, seconds, cpuSeconds, results);
            File.Delete(attemptFile);
            outcomes.Add(new DemoStageOutcome(stage.Name, false, seconds, cpuSeconds, result.Summary, results));
            log($"{stage.Name}: {result.Summary}, {Clock(seconds)} ({cpuSeconds:0} CPU-s)");
        }
        return outcomes;
    }

    /// <summary>The stage's summary and results if its record is complete and matches its settings and inputs; else null.</summary>
    public static (string Summary, double Seconds, double CpuSeconds, JsonObject Results)? ReadRecord(DemoStage stage)
    {
        if (!File.Exists(stage.RecordPath)) return null;
        Manifest manifest;
        try { manifest = Manifest.Load(stage.RecordPath); }
        catch (Exception e) when (e is DataFormatError or UserError or IOException) { return null; }
        if (manifest.Settings[DemoKey] is not JsonNode settings || !JsonNode.DeepEquals(settings, stage.Settings)) return null;
        foreach (string input in stage.Inputs)
        {
            string full = Path.GetFullPath(input);
            var recorded = manifest.Inputs.FirstOrDefault(i => i.Path == full);
            if (recorded?.Hash is not string hash || !ContentHash.Matches(full, hash)) return null;
        }
        if (manifest.Contents[DemoKey] is not JsonObject demo) return null;
        string summary = demo["summary"]?.GetValue<string>() ?? "";
        double seconds = demo["seconds"]?.GetValue<double>() ?? 0;
        double cpuSeconds = demo["cpu_seconds"]?.GetValue<double>() ?? 0;
        var results = demo["results"] as JsonObject ?? new JsonObject();
        return (summary, seconds, cpuSeconds, (JsonObject)results.DeepClone());
    }

    static void WriteRecord(DemoStage stage, string summary, double seconds, double cpuSeconds, JsonObject results)
    {
        // A stage that writes its own manifest.json there (activation store, feature store) keeps it; ours is merged in.
        Manifest manifest = File.Exists(stage.RecordPath) ? Manifest.Load(stage.RecordPath) : new Manifest { Stage = "demo " + stage.Name };
        manifest.Settings[DemoKey] = stage.Settings.DeepClone();
        foreach (string input in stage.Inputs)
        {
            string full = Path.GetFullPath(input);
            manifest.Inputs.RemoveAll(i => i.Path == full);
            manifest.AddInput(full, stage.FastHashInputs);
        }
        manifest.Contents[DemoKey] = new JsonObject { ["summary"] = summary, ["seconds"] = Math.Round(seconds, 2), ["cpu_seconds"] = Math.Round(cpuSeconds, 2), ["results"] = results.DeepClone() };
        Directory.CreateDirectory(stage.Folder);
        AtomicFile.WriteAllText(stage.RecordPath, manifest.ToJson());
    }

    public static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m{t.Seconds:D2}s"
            : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:D2}s"
            : $"{t.TotalSeconds:0.0}s";
    }
}

static class DemoFormat
{
    /// <summary>12,345,678 → "12.3M", 40,960 → "41.0k", 512 → "512".</summary>
    public static string Count(double n) => n switch
    {
        >= 1e9 => (n / 1e9).ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (n / 1e6).ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (n / 1e3).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "k",
        _ => n.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
    };
}
