using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Bench;

/// <summary>Settings of <see cref="TokenizerBench.Run"/>.</summary>
public sealed record TokenizerBenchOptions
{
    /// <summary>GPT-2 tokenizer folder (vocab.json + merges.txt).</summary>
    public required string Tokenizer { get; init; }

    /// <summary>Text to encode: files, folders or JSON Lines (documents joined by blank lines).</summary>
    public required IReadOnlyList<string> Text { get; init; }

    /// <summary>Timed runs per contender (the best is kept).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Folder with the npm peers (package.json + node_modules); null skips them.</summary>
    public string? PeersDir { get; init; }

    /// <summary>Corpus to train a vocabulary on (timed, then its tokens/byte measured on <see cref="Text"/>); null skips training.</summary>
    public IReadOnlyList<string>? TrainInput { get; init; }

    public int TrainVocabSize { get; init; } = 8192;
}

/// <summary>One measured contender; <paramref name="IdsHash"/> is the SHA-256 of its ids as 32-bit little-endian integers.</summary>
public sealed record TokenizerBenchResult(string Name, double MegabytesPerSecond, long Tokens, long Bytes, string IdsHash, string? Note = null);

/// <summary>A timed vocabulary training and how well the vocabulary compresses the bench text.</summary>
public sealed record TokenizerTrainingResult(int VocabSize, double WallSeconds, double CpuSeconds, long InputBytes, long Tokens, long Bytes)
{
    public double TokensPerByte => (double)Tokens / Bytes;
}

/// <summary>Everything <see cref="TokenizerBench.Run"/> measured.</summary>
public sealed record TokenizerBenchReport(IReadOnlyList<TokenizerBenchResult> Encoding, TokenizerTrainingResult? Training);

/// <summary>
/// `mechanist bench tokenizer`: GPT-2 encoding speed, cold word cache, on one thread and on all cores, interleaved
/// with the in-process .NET peer Microsoft.ML.Tokenizers (its r50k_base Tiktoken encoder) and the npm peers
/// js-tiktoken (pure JavaScript) and tiktoken (OpenAI's Rust core as WebAssembly) on the same text; optionally
/// the training time of a vocabulary and its tokens per byte. Every contender must give the same ids (count and
/// hash), or the bench fails: a speed of wrong output means nothing.
/// </summary>
public static class TokenizerBench
{
    public static TokenizerBenchReport Run(TokenizerBenchOptions options, TextWriter log, IProgressReporter progress, CancellationToken cancel = default)
    {
        var documents = new List<string>();
        var corpus = new CorpusReader(options.Text);
        var current = new StringBuilder();
        foreach (var piece in corpus.ReadPieces(cancel))
        {
            current.Append(piece.Text);
            if (piece.EndsDocument) { documents.Add(current.ToString()); current.Clear(); }
        }
        string text = string.Join("\n\n", documents);
        long bytes = Encoding.UTF8.GetByteCount(text);
        log.WriteLine($"text: {documents.Count:N0} documents, {bytes / 1e6:F2} MB; tokenizer {options.Tokenizer}; {Parallelism.Threads} threads");

        string? textFile = null;
        if (options.PeersDir != null)
        {
            textFile = Path.Combine(Path.GetTempPath(), $"mechanist-bench-text-{Environment.ProcessId}.txt");
            File.WriteAllText(textFile, text, new UTF8Encoding(false));
        }

        var best = new Dictionary<string, TokenizerBenchResult>();
        void Keep(TokenizerBenchResult r)
        {
            if (!best.TryGetValue(r.Name, out var old) || r.MegabytesPerSecond > old.MegabytesPerSecond) best[r.Name] = r;
        }
        try
        {
            for (int round = 0; round < options.Repeats; round++)
            {
                cancel.ThrowIfCancellationRequested();
                Keep(TimeOurs("mechanist, 1 thread", options.Tokenizer, text, bytes, parallel: false));
                Keep(TimeOurs($"mechanist, {Parallelism.Threads} threads", options.Tokenizer, text, bytes, parallel: true));
                Keep(TimeMlTokenizers(text, bytes));
                if (textFile != null) foreach (var peer in RunPeers(options.PeersDir!, textFile, log)) Keep(peer);
            }
        }
        finally
        {
            if (textFile != null) File.Delete(textFile);
        }

        var results = best.Values.ToList();
        RequireSameTokens(results);
        var training = options.TrainInput != null ? Train(options, text, bytes, log, progress, cancel) : null;

        log.WriteLine();
        log.WriteLine($"{"contender",-28} {"MB/s",9} {"tokens",12}  note");
        foreach (var r in results) log.WriteLine($"{r.Name,-28} {r.MegabytesPerSecond,9:F2} {r.Tokens,12:N0}  {r.Note}");
        log.WriteLine($"all {results.Count} contenders gave the same {results[0].Tokens:N0} ids (SHA-256 {results[0].IdsHash[..16]}…)");
        var ml = results.FirstOrDefault(r => r.Name == MlTokenizersName);
        if (ml != null)
            foreach (var ours in results.Where(r => r.Name.StartsWith("mechanist,")))
                log.WriteLine($"{ours.Name} / Microsoft.ML.Tokenizers = {ours.MegabytesPerSecond / ml.MegabytesPerSecond:F1}×");
        var js = results.FirstOrDefault(r => r.Name == "js-tiktoken");
        if (js != null)
            foreach (var ours in results.Where(r => r.Name.StartsWith("mechanist,")))
                log.WriteLine($"{ours.Name} / js-tiktoken = {ours.MegabytesPerSecond / js.MegabytesPerSecond:F1}×");
        var wasm = results.FirstOrDefault(r => r.Name == "tiktoken");
        if (wasm != null)
            foreach (var ours in results.Where(r => r.Name.StartsWith("mechanist,")))
                log.WriteLine($"{ours.Name} / tiktoken (wasm) = {ours.MegabytesPerSecond / wasm.MegabytesPerSecond:F1}×");
        if (training != null)
            log.WriteLine($"training: {training.VocabSize:N0} tokens in {training.WallSeconds:F1} s wall ({training.CpuSeconds:F1} s CPU) " +
                          $"from {training.InputBytes / 1e6:F0} MB on disk; {training.TokensPerByte:F3} tokens/byte on the bench text");
        return new TokenizerBenchReport(results, training);
    }

    public const string MlTokenizersName = "Microsoft.ML.Tokenizers";

    /// <summary>Throws when two contenders' ids differ in count or content, naming each contender's count and hash.</summary>
    public static void RequireSameTokens(IReadOnlyList<TokenizerBenchResult> results)
    {
        if (results.Select(r => (r.Tokens, r.IdsHash)).Distinct().Count() <= 1) return;
        throw new InvalidOperationException("the contenders' tokens differ, so their speeds cannot be compared: " +
            string.Join("; ", results.Select(r => $"{r.Name}: {r.Tokens:N0} ids, SHA-256 {r.IdsHash[..Math.Min(16, r.IdsHash.Length)]}")));
    }

    /// <summary>SHA-256 of the ids as 32-bit little-endian integers (the npm peers hash theirs the same way).</summary>
    public static string HashIds(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length * 4];
        for (int i = 0; i < ids.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), ids[i]);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
    }

    /// <summary>Microsoft.ML.Tokenizers' Tiktoken encoder for r50k_base (GPT-2's ids), freshly made so its cache is cold.</summary>
    static TokenizerBenchResult TimeMlTokenizers(string text, long bytes)
    {
        var tokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("r50k_base");
        tokenizer.EncodeToIds("warm up the JIT: it's 2024, 👍 ünïcödé 123");
        var clock = Stopwatch.StartNew();
        var ids = tokenizer.EncodeToIds(text);
        double seconds = clock.Elapsed.TotalSeconds;
        var array = ids.ToArray();
        return new TokenizerBenchResult(MlTokenizersName, bytes / seconds / 1e6, array.Length, bytes, HashIds(array), "r50k_base Tiktoken, in process, 1 thread");
    }

    /// <summary>Encodes with a freshly loaded tokenizer, so its word cache starts empty as a peer's would.</summary>
    static TokenizerBenchResult TimeOurs(string name, string tokenizerDir, string text, long bytes, bool parallel)
    {
        var tokenizer = TokenizerFiles.Load(tokenizerDir);
        tokenizer.Encode("warm up the JIT: it's 2024, 👍 ünïcödé 123");
        var ids = new List<int>(text.Length / 3);
        var clock = Stopwatch.StartNew();
        if (parallel) tokenizer.Encode(text, ids); else tokenizer.EncodeSingleThreaded(text, ids);
        double seconds = clock.Elapsed.TotalSeconds;
        return new TokenizerBenchResult(name, bytes / seconds / 1e6, ids.Count, bytes, HashIds(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)), "cold word cache");
    }

    static IEnumerable<TokenizerBenchResult> RunPeers(string peersDir, string textFile, TextWriter log)
    {
        peersDir = Path.GetFullPath(peersDir);
        string script = Path.Combine(peersDir, "tokenizer-peers-bench.mjs");
        if (!File.Exists(script) || !Directory.Exists(Path.Combine(peersDir, "node_modules")))
        {
            log.WriteLine($"peers skipped: run `npm install` in {peersDir} first");
            yield break;
        }
        var start = new ProcessStartInfo("node", [script, textFile, "1"]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = peersDir };
        Process? process;
        try { process = Process.Start(start); }
        catch (Exception e) { log.WriteLine($"peers skipped: cannot start node ({e.Message})"); yield break; }
        if (process == null) yield break;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) { log.WriteLine($"peers failed: {error.Trim()}"); yield break; }
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var err)) { log.WriteLine($"peer {root.GetProperty("peer")} failed: {err}"); continue; }
            yield return new TokenizerBenchResult(root.GetProperty("peer").GetString()!, root.GetProperty("mbPerSecond").GetDouble(),
                root.GetProperty("tokens").GetInt64(), root.GetProperty("bytes").GetInt64(), root.GetProperty("idsHash").GetString()!, "r50k_base, node, 1 thread");
        }
    }

    static TokenizerTrainingResult Train(TokenizerBenchOptions options, string evalText, long evalBytes, TextWriter log, IProgressReporter progress, CancellationToken cancel)
    {
        var corpus = new CorpusReader(options.TrainInput!);
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var tokenizer = BpeTrainer.Train(corpus, options.TrainVocabSize, progress, cancel);
        double seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        long tokens = tokenizer.Encode(evalText).Length;
        return new TokenizerTrainingResult(tokenizer.VocabSize, seconds, cpuSeconds, corpus.TotalBytes, tokens, evalBytes);
    }
}
