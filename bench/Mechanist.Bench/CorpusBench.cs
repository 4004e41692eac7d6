using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Text;
using Parquet;
using Parquet.Schema;

namespace Mechanist.Bench;

/// <summary>Settings of <see cref="CorpusBench.Run"/>.</summary>
public sealed record CorpusBenchOptions
{
    /// <summary>JSON Lines (optionally .gz) to take the slice from, e.g. ../shared/corpus/mini-pile.train.jsonl.gz.</summary>
    public required string Input { get; init; }

    /// <summary>GPT-2-style tokenizer folder used to encode.</summary>
    public required string Tokenizer { get; init; }

    /// <summary>Documents in the slice (the first ones of the input).</summary>
    public int Documents { get; init; } = 3000;

    /// <summary>Rounds; each times every format once, in an order rotated per round.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Folder for the slice files and the stores (deleted after); default: a new temporary folder.</summary>
    public string? WorkDir { get; init; }
}

/// <summary>One format's timings: wall seconds and the process's CPU seconds (all threads) per round.</summary>
public sealed record CorpusFormatTiming(string Format, long FileBytes, double MedianSeconds, double TextMegabytesPerSecond, double[] Seconds,
    double MedianCpuSeconds, double[] CpuSeconds);

/// <summary>What <see cref="CorpusBench.Run"/> measured: per format, and the two ratios the issue asks for (medians of per-round ratios).</summary>
/// <param name="ZstdOverGzip">Speed of .jsonl.zst relative to .jsonl.gz by wall time (median of per-round ratios).</param>
/// <param name="ZstdOverGzipCpu">The same by CPU time: steadier on a shared machine, blind to a reader thread that stalls idle cores.</param>
public sealed record CorpusBenchReport(int Documents, long TextBytes, long Tokens, string LoadAverage, IReadOnlyList<CorpusFormatTiming> Formats,
    double ZstdOverGzip, double ParquetOverJsonl, double ZstdOverGzipCpu, double ParquetOverJsonlCpu);

/// <summary>
/// `mechanist bench corpus`: `corpus prepare` (TokenStoreWriter.Prepare, all cores) on one slice of a corpus written as
/// .jsonl, .jsonl.gz (gzip level 6), .jsonl.zst (Zstandard level 3, the `zstd` tool's default) and Parquet (Snappy,
/// 1,000-row groups, text plus a meta.source struct, like a Hugging Face shard), timed interleaved: each round runs every
/// format once in a rotated order. A speed ratio is time(reference) / time(format) within one round; the report gives the
/// median over rounds. Every format must give byte-identical token stores, or the bench fails.
/// </summary>
public static class CorpusBench
{
    public static readonly string[] Formats = ["jsonl", "jsonl.gz", "jsonl.zst", "parquet"];

    public static CorpusBenchReport Run(CorpusBenchOptions options, TextWriter log, CancellationToken cancel = default)
    {
        if (options.Documents < 1) throw new UserError($"--docs must be at least 1 (got {options.Documents})");
        if (options.Rounds < 1) throw new UserError($"--rounds must be at least 1 (got {options.Rounds})");
        var tokenizer = TokenizerFiles.Load(options.Tokenizer);
        string work = options.WorkDir ?? Path.Combine(Path.GetTempPath(), $"mechanist-bench-corpus-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        string loadBefore = BenchClock.LoadAverage();
        try
        {
            var (lines, textBytes) = Slice(options.Input, options.Documents, cancel);
            var files = Write(work, lines);
            log.WriteLine($"slice: {lines.Count:N0} documents, {textBytes / 1e6:F1} MB of text; " +
                          string.Join(", ", Formats.Select(f => $"{f} {new FileInfo(files[f]).Length / 1e6:F1} MB")));
            var seconds = Formats.ToDictionary(f => f, _ => new List<double>());
            var cpuSeconds = Formats.ToDictionary(f => f, _ => new List<double>());
            using var process = Process.GetCurrentProcess();
            string? reference = null;
            long tokens = 0;
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int k = 0; k < Formats.Length; k++)
                {
                    string format = Formats[(k + round) % Formats.Length];
                    string store = Path.Combine(work, "store-" + format);
                    process.Refresh();
                    var cpu = process.TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    var meta = TokenStoreWriter.Prepare(new CorpusReader([files[format]]), tokenizer, store,
                        new TokenStoreOptions { Force = true }, IProgressReporter.None, cancel);
                    seconds[format].Add(clock.Elapsed.TotalSeconds);
                    process.Refresh();
                    cpuSeconds[format].Add((process.TotalProcessorTime - cpu).TotalSeconds);
                    tokens = meta.Splits.Values.Sum(s => s.Tokens);
                    string hash = StoreHash(store);
                    reference ??= hash;
                    if (hash != reference) throw new InvalidOperationException($"{format} gave a different token store than the first format timed");
                    Directory.Delete(store, recursive: true);
                }
                log.WriteLine($"round {round + 1}: " + string.Join(", ", Formats.Select(f => $"{f} {seconds[f][^1]:F2} s ({cpuSeconds[f][^1]:F2} CPU-s)")));
            }
            double Ratio(Dictionary<string, List<double>> times, string reference, string format) =>
                Median(Enumerable.Range(0, options.Rounds).Select(r => times[reference][r] / times[format][r]));
            var timings = Formats.Select(f => new CorpusFormatTiming(f, new FileInfo(files[f]).Length, Median(seconds[f]),
                textBytes / 1e6 / Median(seconds[f]), [.. seconds[f]], Median(cpuSeconds[f]), [.. cpuSeconds[f]])).ToList();
            return new CorpusBenchReport(lines.Count, textBytes, tokens, $"{loadBefore} → {BenchClock.LoadAverage()}", timings,
                Ratio(seconds, "jsonl.gz", "jsonl.zst"), Ratio(seconds, "jsonl", "parquet"),
                Ratio(cpuSeconds, "jsonl.gz", "jsonl.zst"), Ratio(cpuSeconds, "jsonl", "parquet"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The first <paramref name="documents"/> lines of the input, as they are, and the UTF-8 bytes of their text fields.</summary>
    static (List<string> Lines, long TextBytes) Slice(string input, int documents, CancellationToken cancel)
    {
        var lines = new List<string>();
        long textBytes = 0;
        using var file = File.OpenRead(input);
        using var data = input.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(data);
        while (lines.Count < documents && reader.ReadLine() is { } line)
        {
            cancel.ThrowIfCancellationRequested();
            if (line.Length == 0) continue;
            var text = JsonNode.Parse(line)?["text"]?.GetValue<string>() ?? throw new UserError($"{input}: a line without a \"text\" string");
            lines.Add(line);
            textBytes += System.Text.Encoding.UTF8.GetByteCount(text);
        }
        if (lines.Count == 0) throw new UserError($"{input}: no documents");
        return (lines, textBytes);
    }

    static Dictionary<string, string> Write(string dir, List<string> lines)
    {
        var files = Formats.ToDictionary(f => f, f => Path.Combine(dir, "slice." + f));
        byte[] jsonl = System.Text.Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
        File.WriteAllBytes(files["jsonl"], jsonl);
        using (var file = File.Create(files["jsonl.gz"]))
        using (var gz = new GZipStream(file, CompressionLevel.Optimal)) gz.Write(jsonl);
        using (var file = File.Create(files["jsonl.zst"]))
        using (var zst = new ZstdSharp.CompressionStream(file, 3)) zst.Write(jsonl); // leaves the file open: hence the outer using
        WriteParquet(files["parquet"], lines).GetAwaiter().GetResult();
        return files;
    }

    static async Task WriteParquet(string path, List<string> lines)
    {
        var text = new DataField<string>("text");
        var source = new DataField<string>("source");
        var schema = new ParquetSchema(text, new StructField("meta", source));
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, file);
        foreach (var chunk in lines.Chunk(1000))
        {
            var docs = chunk.Select(l => JsonNode.Parse(l)!).ToArray();
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(text, docs.Select(d => d["text"]!.GetValue<string>()).ToArray());
            await group.WriteAsync(source, docs.Select(d => d["meta"]?["source"]?.GetValue<string>() ?? d["meta"]?["pile_set_name"]?.GetValue<string>() ?? "slice.parquet").ToArray());
        }
    }

    /// <summary>SHA-256 over the store's files except meta.json (which names the input file).</summary>
    static string StoreHash(string store)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (string f in Directory.GetFiles(store).Where(f => Path.GetFileName(f) != TokenStoreWriter.MetaFile).Order(StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(f)));
            sha.AppendData(File.ReadAllBytes(f));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
