using Mechanist.IO;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mechanist.Numerics;

namespace Mechanist.Text;

/// <summary>Settings of <see cref="TokenStoreWriter.Prepare"/>.</summary>
public sealed record TokenStoreOptions
{
    /// <summary>Fraction of documents that go to the "valid" split (chosen by a seeded hash of the document index).</summary>
    public double ValidFraction { get; init; } = 0.01;

    /// <summary>Seed of the train/valid split.</summary>
    public ulong Seed { get; init; }

    /// <summary>Replace an existing output folder.</summary>
    public bool Force { get; init; }

    /// <summary>Most tokens in one shard file (the last shard of a split holds the rest).</summary>
    public long ShardTokens { get; init; } = 1L << 27;

    /// <summary>Where the tokenizer came from, recorded in meta.json.</summary>
    public string? TokenizerPath { get; init; }
}

/// <summary>
/// Turns a corpus into a token store: every document encoded (on all cores, in reading order) and followed by
/// <c>&lt;|endoftext|&gt;</c>, each document sent whole to "train" or "valid" by a seeded hash of its index,
/// written as little-endian uint16 shards (uint32 when the vocabulary exceeds 65,536) with the token offset of
/// every document's start (<c>SPLIT.docs.bin</c>, int64) and <c>meta.json</c>. The folder appears only when
/// complete (built beside it under a temporary name, then renamed: <see cref="AtomicDirectory"/>).
/// </summary>
public static class TokenStoreWriter
{
    public const string MetaFile = "meta.json";
    public const string Format = "mechanist.tokens";

    public static TokenStoreMeta Prepare(CorpusReader corpus, BpeTokenizer tokenizer, string outDir, TokenStoreOptions options,
        IProgressReporter progress, CancellationToken cancel = default)
    {
        if (options.ValidFraction is < 0 or > 1 || double.IsNaN(options.ValidFraction)) throw new UserError($"--valid-fraction must be between 0 and 1, not {options.ValidFraction}");
        int endOfText = tokenizer.EndOfText ?? throw new UserError("the tokenizer has no <|endoftext|> token to separate documents");
        string target = Path.GetFullPath(outDir);
        if (File.Exists(target)) throw new UserError($"{outDir} is a file, not a folder");
        bool emptyFolder = Directory.Exists(target) && !Directory.EnumerateFileSystemEntries(target).Any();
        if (Directory.Exists(target) && !emptyFolder && !options.Force)
            throw new UserError($"{outDir} exists and is not empty; use --force to replace it");

        using var staging = AtomicDirectory.Begin(target, overwrite: true);
        string temp = staging.TempPath;
        bool wide = tokenizer.VocabSize > 65536;
        var splits = new[] { new SplitWriter(temp, "train", wide, options.ShardTokens), new SplitWriter(temp, "valid", wide, options.ShardTokens) };
        try
        {
            using (var task = progress.Start("encoding corpus", corpus.TotalBytes, "B"))
            {
                foreach (var group in EncodedGroups(corpus, tokenizer, endOfText, cancel))
                {
                    foreach (var (piece, ids) in group)
                        splits[IsValid(options.Seed, piece.Document, options.ValidFraction) ? 1 : 0].Write(piece.Document, ids);
                    task.SetDone(corpus.BytesRead);
                    task.SetStatus($"{splits[0].Tokens + splits[1].Tokens:N0} tokens, {corpus.Documents:N0} documents");
                }
            }
            corpus.RequireText();
            foreach (var split in splits) split.Finish();
        }
        finally
        {
            foreach (var split in splits) split.Dispose(); // before the folder is deleted or renamed
        }

        var meta = new TokenStoreMeta(tokenizer.Hash, tokenizer.VocabSize, endOfText, wide ? "uint32" : "uint16",
            options.ValidFraction, options.Seed, options.TokenizerPath, corpus.Files, corpus.Issues.Count,
            splits.ToDictionary(s => s.Name, s => s.Describe()));
        AtomicFile.WriteAllBytes(Path.Combine(temp, MetaFile), meta.ToJson());
        staging.Commit();
        return meta;
    }

    /// <summary>Whether document <paramref name="document"/> belongs to the valid split: a seeded hash below the fraction.</summary>
    public static bool IsValid(ulong seed, long document, double fraction)
    {
        ulong h = SplitMix64.Mix(seed ^ SplitMix64.Mix((ulong)document + SplitMix64.Gamma));
        return SplitMix64.ToUnit(h) < fraction;
    }

    /// <summary>Reads batches on a background task and encodes them on all cores; yields them in reading order.</summary>
    static IEnumerable<List<(TextPiece Piece, int[] Ids)>> EncodedGroups(CorpusReader corpus, BpeTokenizer tokenizer, int endOfText, CancellationToken cancel)
    {
        int threads = Parallelism.Threads;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel); // frees the reader if we stop early
        var (batches, reader) = corpus.ReadBatchesInBackground(1 << 19, threads * 3, stop.Token);

        var group = new List<List<TextPiece>>(threads);
        using var consumed = batches.GetConsumingEnumerable(cancel).GetEnumerator();
        bool finished = false;
        try
        {
            while (true)
            {
                group.Clear();
                while (group.Count < threads && consumed.MoveNext()) group.Add(consumed.Current);
                if (group.Count == 0) break;
                var encoded = new List<(TextPiece, int[])>[group.Count];
                Parallel.For(0, group.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancel }, b =>
                {
                    var output = new List<(TextPiece, int[])>(group[b].Count);
                    var ids = new List<int>();
                    foreach (var piece in group[b])
                    {
                        ids.Clear();
                        tokenizer.EncodeSingleThreaded(piece.Text, ids); // document text never yields special ids
                        if (piece.EndsDocument) ids.Add(endOfText);
                        output.Add((piece, ids.ToArray()));
                    }
                    encoded[b] = output;
                });
                foreach (var batch in encoded) yield return batch;
            }
            finished = true;
        }
        finally
        {
            if (!finished) stop.Cancel();
        }
        reader.GetAwaiter().GetResult(); // rethrows a reading error (bad file, --strict)
    }

    /// <summary>One split's shards and document starts, written as tokens arrive.</summary>
    sealed class SplitWriter(string dir, string name, bool wide, long shardTokens) : IDisposable
    {
        readonly List<(string File, long Tokens)> _shards = [];
        readonly List<long> _documentStarts = [];
        FileStream? _shard;
        long _shardTokens;
        long _lastDocument = -1;
        byte[] _buffer = new byte[1 << 16];

        public string Name => name;
        public long Tokens { get; private set; }

        public void Write(long document, int[] ids)
        {
            if (document != _lastDocument) { _documentStarts.Add(Tokens); _lastDocument = document; }
            int width = wide ? 4 : 2;
            int at = 0;
            while (at < ids.Length)
            {
                if (_shard == null || _shardTokens == shardTokens) NextShard();
                int take = (int)Math.Min(ids.Length - at, shardTokens - _shardTokens);
                if (_buffer.Length < take * width) _buffer = new byte[take * width];
                for (int k = 0; k < take; k++)
                {
                    if (wide) BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(k * 4), (uint)ids[at + k]);
                    else BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(k * 2), (ushort)ids[at + k]);
                }
                _shard!.Write(_buffer, 0, take * width);
                _shardTokens += take;
                Tokens += take;
                at += take;
            }
        }

        void NextShard()
        {
            CloseShard();
            string file = $"{name}-{_shards.Count:D5}.bin";
            _shard = new FileStream(Path.Combine(dir, file), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            _shards.Add((file, 0));
            _shardTokens = 0;
        }

        void CloseShard()
        {
            if (_shard == null) return;
            _shard.Flush(flushToDisk: true);
            _shard.Dispose();
            _shard = null;
            _shards[^1] = (_shards[^1].File, _shardTokens);
        }

        public void Finish()
        {
            CloseShard();
            var bytes = new byte[_documentStarts.Count * 8];
            for (int i = 0; i < _documentStarts.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), _documentStarts[i]);
            AtomicFile.WriteAllBytes(Path.Combine(dir, $"{name}.docs.bin"), bytes);
        }

        public void Dispose() => _shard?.Dispose();

        public TokenStoreMeta.SplitInfo Describe() => new(Tokens, _documentStarts.Count, [.. _shards], $"{name}.docs.bin");
    }
}

/// <summary>The contents of a token store's meta.json.</summary>
public sealed record TokenStoreMeta(string TokenizerHash, int VocabSize, int EndOfText, string Dtype, double ValidFraction, ulong Seed,
    string? TokenizerPath, IReadOnlyList<string> Sources, long BadLines, IReadOnlyDictionary<string, TokenStoreMeta.SplitInfo> Splits)
{
    public sealed record SplitInfo(long Tokens, long Documents, IReadOnlyList<(string File, long Tokens)> Shards, string DocumentStarts);

    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", TokenStoreWriter.Format);
            w.WriteNumber("version", 1);
            w.WriteStartObject("tokenizer");
            w.WriteString("hash", TokenizerHash);
            w.WriteNumber("vocab_size", VocabSize);
            w.WriteNumber("end_of_text", EndOfText);
            if (TokenizerPath != null) w.WriteString("path", TokenizerPath);
            w.WriteEndObject();
            w.WriteString("dtype", Dtype);
            w.WriteString("byte_order", "little");
            w.WriteString("document_separator", "each document is followed by end_of_text");
            w.WriteNumber("valid_fraction", ValidFraction);
            w.WriteNumber("seed", Seed);
            w.WriteNumber("bad_lines", BadLines);
            w.WriteStartArray("sources");
            foreach (string s in Sources) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteStartObject("splits");
            foreach (var (name, split) in Splits)
            {
                w.WriteStartObject(name);
                w.WriteNumber("tokens", split.Tokens);
                w.WriteNumber("documents", split.Documents);
                w.WriteString("document_starts", split.DocumentStarts);
                w.WriteStartArray("shards");
                foreach (var (file, tokens) in split.Shards)
                {
                    w.WriteStartObject();
                    w.WriteString("file", file);
                    w.WriteNumber("tokens", tokens);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }
}
