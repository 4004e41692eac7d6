using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Mechanist.Features;

/// <summary>How the index lists units.</summary>
public enum UnitSort { Id, Density, MaxActivation, Score }

/// <summary>
/// A feature store opened for reading. Opening validates the manifest, the vocabulary and every index entry
/// (one <see cref="DataFormatError"/> naming file and field) and memory-maps the data files; reading a unit
/// touches only its own blob. Thread-safe for concurrent readers.
/// </summary>
public sealed unsafe class FeatureStore : IDisposable
{
    readonly Dictionary<UnitKind, KindReader> kinds = [];
    StoreExplanations explanations = new();
    readonly Dictionary<(UnitKind, UnitSort), int[]> orders = [], ranks = [];
    readonly Dictionary<UnitKind, Dictionary<int, List<(int Rank, int Id)>>> tokenIndex = [];
    readonly int tokenIdBytes;
    readonly Dictionary<UnitKind, float[]> sourceMass = [];
    string[] sourceLabels = [];
    float[] corpusShares = [];
    ILookup<string, int>? tokensByText;

    public string Directory { get; }
    public FeatureStoreSource Source { get; }
    /// <summary>Display string of every token id.</summary>
    public IReadOnlyList<string> Vocabulary { get; }
    public IReadOnlyList<UnitKind> Kinds => [.. kinds.Keys.Order()];
    /// <summary>Units with at least one explanation.</summary>
    public int ExplanationCount => explanations.Count;

    StoreAttachments? attachments;

    /// <summary>What other commands attached to this store (A/B matches, split families), read on first use.</summary>
    public StoreAttachments Attachments => attachments ??= StoreAttachments.Load(Directory, UnitCount(UnitKind.Feature));

    FeatureStore(string dir, FeatureStoreSource source, string[] vocabulary, int tokenIdBytes)
    {
        Directory = dir; Source = source; Vocabulary = vocabulary; this.tokenIdBytes = tokenIdBytes;
    }

    /// <summary>The store's own manifest (features.json), written last: hash it to know the store changed.</summary>
    public static string ManifestPath(string dir) => Path.Combine(dir, StoreLayout.ManifestFile);

    public static FeatureStore Open(string dir)
    {
        dir = Path.GetFullPath(dir);
        string manifestPath = Path.Combine(dir, StoreLayout.ManifestFile);
        if (!System.IO.Directory.Exists(dir))
            throw new UserError($"{dir}: {(File.Exists(dir) ? "a file, not a folder" : "no such folder")} (expected a feature store from `mechanist features build`)");
        if (!File.Exists(manifestPath)) throw new UserError($"{dir}: not a feature store ({StoreLayout.ManifestFile} missing; `mechanist features build` writes it last)");

        ManifestJson manifest;
        try { manifest = JsonSerializer.Deserialize<ManifestJson>(File.ReadAllBytes(manifestPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DataFormatError(manifestPath, "(json)", e.Message, e); }
        if (manifest.Format != StoreLayout.Format) throw new DataFormatError(manifestPath, "format", $"expected \"{StoreLayout.Format}\", found \"{manifest.Format}\"");
        if (manifest.Version != StoreLayout.Version) throw new DataFormatError(manifestPath, "version", $"this Mechanist reads version {StoreLayout.Version}, found {manifest.Version}");
        if (manifest.TokenIdBytes is not (2 or 4)) throw new DataFormatError(manifestPath, "tokenIdBytes", $"must be 2 or 4, found {manifest.TokenIdBytes}");
        if (manifest.Units is null || manifest.Units.Count == 0) throw new DataFormatError(manifestPath, "units", "missing or empty");

        string vocabPath = SafeChild(dir, manifest.Vocabulary, manifestPath, "vocabulary");
        string[] vocabulary;
        try { vocabulary = JsonSerializer.Deserialize<string[]>(File.ReadAllBytes(vocabPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DataFormatError(vocabPath, "(json)", "expected an array of token strings: " + e.Message, e); }
        catch (FileNotFoundException) { throw new DataFormatError(manifestPath, "vocabulary", $"file {manifest.Vocabulary} is missing"); }
        if (vocabulary.Length != manifest.VocabularySize || vocabulary.Length == 0)
            throw new DataFormatError(vocabPath, "length", $"{vocabulary.Length} tokens but the manifest's vocabularySize is {manifest.VocabularySize}");
        if (manifest.TokenIdBytes == 2 && vocabulary.Length > ushort.MaxValue + 1)
            throw new DataFormatError(manifestPath, "tokenIdBytes", $"2-byte token ids cannot address {vocabulary.Length} tokens");

        var store = new FeatureStore(dir, manifest.Source ?? new FeatureStoreSource(), vocabulary, manifest.TokenIdBytes);
        try
        {
            for (int i = 0; i < manifest.Units.Count; i++)
            {
                var u = manifest.Units[i];
                if (!UnitKinds.TryParse(u.Kind, out var kind)) throw new DataFormatError(manifestPath, $"units[{i}].kind", $"expected \"feature\" or \"neuron\", found \"{u.Kind}\"");
                if (store.kinds.ContainsKey(kind)) throw new DataFormatError(manifestPath, $"units[{i}].kind", $"\"{u.Kind}\" listed twice");
                if (u.Count < 0) throw new DataFormatError(manifestPath, $"units[{i}].count", "negative");
                store.kinds[kind] = KindReader.Open(kind, u.Count,
                    SafeChild(dir, u.Index, manifestPath, $"units[{i}].index"), SafeChild(dir, u.Data, manifestPath, $"units[{i}].data"));
            }
            store.explanations = StoreExplanations.Load(dir, store.Contains, store.UnitCount);
            store.LoadSources();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public int UnitCount(UnitKind kind) => kinds.TryGetValue(kind, out var k) ? k.Count : 0;

    public bool Contains(UnitKind kind, int id) => (uint)id < (uint)UnitCount(kind);

    public string TokenString(int id) => (uint)id < (uint)Vocabulary.Count ? Vocabulary[id] : $"<{id}>";

    public UnitSummary GetSummary(UnitKind kind, int id)
    {
        var r = Kind(kind).Record(id);
        int n = IndexRecord.ReadTopCount(r);
        var top = new int[n];
        for (int i = 0; i < n; i++) top[i] = IndexRecord.ReadTopToken(r, i);
        var all = explanations.Of(kind, id);
        return new UnitSummary(kind, id, IndexRecord.ReadDensity(r), IndexRecord.ReadMax(r), IndexRecord.ReadMean(r), top, all.Count > 0 ? all[0] : null)
        {
            Explanations = all,
        };
    }

    /// <summary>Reads one unit's page data (its blob only) with token strings filled in.</summary>
    public FeatureRecord GetUnit(UnitKind kind, int id)
    {
        var k = Kind(kind);
        var summary = GetSummary(kind, id);
        var unit = UnitBlob.Decode(k.Blob(id), k.DataPath, kind, id, tokenIdBytes, Vocabulary.Count, summary);
        ActivationRecord Fill(ActivationRecord r) => r with { Tokens = Array.ConvertAll(r.TokenIds, TokenString) };
        TokenValue FillValue(TokenValue v) => v with { Token = TokenString(v.TokenId) };
        return unit with
        {
            TopExamples = Array.ConvertAll(unit.TopExamples, Fill),
            RandomExamples = Array.ConvertAll(unit.RandomExamples, Fill),
            Intervals = Array.ConvertAll(unit.Intervals, i => i with { Examples = Array.ConvertAll(i.Examples, Fill) }),
            Logits = unit.Logits with { Top = Array.ConvertAll(unit.Logits.Top, FillValue), Bottom = Array.ConvertAll(unit.Logits.Bottom, FillValue) },
            Sources = SourceShares(kind, id),
        };
    }

    /// <summary>The source labels of <see cref="FeatureRecord.Sources"/> (empty when the store has none).</summary>
    public IReadOnlyList<string> SourceLabels => sourceLabels;

    SourceShare[] SourceShares(UnitKind kind, int id)
    {
        if (!sourceMass.TryGetValue(kind, out var mass)) return [];
        var row = mass.AsSpan(id * sourceLabels.Length, sourceLabels.Length);
        double total = 0;
        foreach (float m in row) total += m;
        var shares = new List<SourceShare>();
        for (int s = 0; s < row.Length; s++)
            if (row[s] > 0 || corpusShares[s] > 0) shares.Add(new SourceShare(sourceLabels[s], total > 0 ? (float)(row[s] / total) : 0, corpusShares[s]));
        return [.. shares.OrderByDescending(x => x.ActivationShare).ThenByDescending(x => x.CorpusShare)];
    }

    /// <summary>Reads `sources.json` and the `{kind}.sources.bin` matrices, if the store has them (validated).</summary>
    void LoadSources()
    {
        string path = Path.Combine(Directory, StoreLayout.SourcesFile);
        if (!File.Exists(path)) return;
        SourcesJson json;
        try { json = JsonSerializer.Deserialize<SourcesJson>(File.ReadAllBytes(path)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new DataFormatError(path, "(json)", e.Message, e); }
        if (json.Labels is null || json.CorpusTokens is null || json.Labels.Count != json.CorpusTokens.Count || json.CorpusTokens.Any(t => t < 0))
            throw new DataFormatError(path, "labels", "labels and corpus_tokens must be arrays of the same length, the counts non-negative");
        double tokens = Math.Max(1, json.CorpusTokens.Sum());
        sourceLabels = [.. json.Labels];
        corpusShares = [.. json.CorpusTokens.Select(t => (float)(t / tokens))];
        foreach (var kind in kinds.Keys)
        {
            string data = Path.Combine(Directory, StoreLayout.SourcesDataFile(kind));
            if (!File.Exists(data)) continue;
            byte[] bytes = File.ReadAllBytes(data);
            long expected = (long)UnitCount(kind) * sourceLabels.Length * 4;
            if (bytes.Length != expected) throw new DataFormatError(data, "size", $"{bytes.Length} bytes, expected {expected} ({UnitCount(kind)} units × {sourceLabels.Length} sources × float32)");
            var mass = new float[bytes.Length / 4];
            for (int i = 0; i < mass.Length; i++)
            {
                mass[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                if (!float.IsFinite(mass[i]) || mass[i] < 0) throw new DataFormatError(data, $"value {i}", $"{mass[i]} is not a finite non-negative mass");
            }
            sourceMass[kind] = mass;
        }
    }

    /// <summary>Unit ids sorted by <paramref name="sort"/> (descending for numbers, ascending ids; ties by id). Cached.</summary>
    public IReadOnlyList<int> Order(UnitKind kind, UnitSort sort)
    {
        lock (orders)
        {
            if (orders.TryGetValue((kind, sort), out var cached)) return cached;
            int n = UnitCount(kind);
            var ids = Enumerable.Range(0, n).ToArray();
            if (sort != UnitSort.Id)
            {
                var keys = new float[n];
                var k = Kind(kind);
                for (int i = 0; i < n; i++)
                    keys[i] = -(sort switch
                    {
                        UnitSort.Density => IndexRecord.ReadDensity(k.Record(i)),
                        UnitSort.MaxActivation => IndexRecord.ReadMax(k.Record(i)),
                        _ => explanations.Best(kind, i)?.Score ?? float.NegativeInfinity,
                    });
                Array.Sort(keys, ids); // introsort is unstable: restore id order inside ties
                for (int start = 0; start < n;)
                {
                    int end = start + 1;
                    while (end < n && keys[end] == keys[start]) end++;
                    Array.Sort(ids, start, end - start);
                    start = end;
                }
            }
            return orders[(kind, sort)] = ids;
        }
    }

    /// <summary>
    /// Units whose strongest tokens include <paramref name="token"/> (compared trimmed and case-insensitively
    /// against the vocabulary's display strings), ranked by where the token sits in their top-token list.
    /// Reads only the index.
    /// </summary>
    public IReadOnlyList<int> FindByToken(UnitKind kind, string token)
    {
        string key = token.Trim().ToLowerInvariant();
        if (key.Length == 0) return [];
        tokensByText ??= Enumerable.Range(0, Vocabulary.Count).ToLookup(i => Vocabulary[i].Trim().ToLowerInvariant());
        var byToken = TokenIndex(kind);
        var hits = new List<(int Rank, int Id)>();
        foreach (int t in tokensByText[key])
            if (byToken.TryGetValue(t, out var units)) hits.AddRange(units);
        return hits.OrderBy(h => h.Rank).ThenBy(h => h.Id).Select(h => h.Id).Distinct().ToList();
    }

    /// <summary>Token id → (rank in the unit's top tokens, unit id), built from the index on the first search.</summary>
    Dictionary<int, List<(int Rank, int Id)>> TokenIndex(UnitKind kind)
    {
        lock (tokenIndex)
        {
            if (tokenIndex.TryGetValue(kind, out var cached)) return cached;
            var k = Kind(kind);
            var map = new Dictionary<int, List<(int, int)>>();
            for (int id = 0; id < k.Count; id++)
            {
                var r = k.Record(id);
                int n = IndexRecord.ReadTopCount(r);
                for (int i = 0; i < n; i++)
                {
                    int t = IndexRecord.ReadTopToken(r, i);
                    if (!map.TryGetValue(t, out var list)) map[t] = list = [];
                    list.Add((i, id));
                }
            }
            return tokenIndex[kind] = map;
        }
    }

    /// <summary>Each unit's position in <see cref="Order"/>: rank[id] (cached), to sort search results.</summary>
    public IReadOnlyList<int> Rank(UnitKind kind, UnitSort sort)
    {
        lock (ranks)
        {
            if (ranks.TryGetValue((kind, sort), out var cached)) return cached;
            var order = Order(kind, sort);
            var rank = new int[order.Count];
            for (int i = 0; i < rank.Length; i++) rank[order[i]] = i;
            return ranks[(kind, sort)] = rank;
        }
    }

    /// <summary>Units whose explanation contains <paramref name="text"/> (case-insensitive), best score first.</summary>
    public IReadOnlyList<int> FindByExplanation(UnitKind kind, string text)
    {
        text = text.Trim();
        if (text.Length == 0) return [];
        return explanations.Matching(text).Where(u => u.Kind == kind)
            .OrderByDescending(u => u.Best.Score ?? float.NegativeInfinity).ThenBy(u => u.Id).Select(u => u.Id).ToList();
    }

    /// <summary>Histogram of log10(density) over the units that fired, and how many never fired.</summary>
    public (Histogram LogDensity, int Dead) DensityHistogram(UnitKind kind, int bins = 50)
    {
        var k = Kind(kind);
        var logs = new List<float>(k.Count);
        int dead = 0;
        for (int i = 0; i < k.Count; i++)
        {
            float d = IndexRecord.ReadDensity(k.Record(i));
            if (d > 0) logs.Add(MathF.Log10(d)); else dead++;
        }
        if (logs.Count == 0) return (Histogram.Empty, dead);
        float min = MathF.Floor(logs.Min()), max = MathF.Max(MathF.Ceiling(logs.Max()), min + 1);
        var counts = new long[bins];
        foreach (float v in logs) counts[Math.Clamp((int)((v - min) / (max - min) * bins), 0, bins - 1)]++;
        return (new Histogram(min, max, counts), dead);
    }

    public void Dispose()
    {
        foreach (var k in kinds.Values) k.Dispose();
        kinds.Clear();
    }

    KindReader Kind(UnitKind kind) =>
        kinds.TryGetValue(kind, out var k) ? k : throw new ArgumentException($"this store has no {kind.Name()} units");

    /// <summary>A file named in the manifest must be a plain name inside the store folder.</summary>
    static string SafeChild(string dir, string? name, string manifestPath, string field)
    {
        if (string.IsNullOrEmpty(name) || name != Path.GetFileName(name) || name is "." or "..")
            throw new DataFormatError(manifestPath, field, $"must be a file name inside the store folder, found \"{name}\"");
        return Path.Combine(dir, name);
    }

    /// <summary>One kind's index and data, memory-mapped.</summary>
    sealed class KindReader : IDisposable
    {
        public required int Count { get; init; }
        public required string DataPath { get; init; }
        MemoryMappedFile? indexMap, dataMap;
        MemoryMappedViewAccessor? indexView, dataView;
        byte* index, data;
        long dataLength;

        public static KindReader Open(UnitKind kind, int count, string indexPath, string dataPath)
        {
            var k = new KindReader { Count = count, DataPath = dataPath };
            try
            {
                long expected = StoreLayout.IndexHeaderSize + (long)count * StoreLayout.IndexRecordSize;
                if (!File.Exists(indexPath)) throw new DataFormatError(indexPath, "(file)", "missing");
                if (!File.Exists(dataPath)) throw new DataFormatError(dataPath, "(file)", "missing");
                long indexLength = new FileInfo(indexPath).Length;
                if (indexLength != expected)
                    throw new DataFormatError(indexPath, "length", $"{indexLength} bytes, expected {expected} for {count} {kind.Name()} units");
                k.index = Map(indexPath, out k.indexMap, out k.indexView);
                var header = new ReadOnlySpan<byte>(k.index, StoreLayout.IndexHeaderSize);
                if (!header[..8].SequenceEqual(StoreLayout.IndexMagic)) throw new DataFormatError(indexPath, "magic", "not a Mechanist index file");
                if (BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != StoreLayout.Version) throw new DataFormatError(indexPath, "version", "unsupported");
                if (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != StoreLayout.IndexRecordSize) throw new DataFormatError(indexPath, "recordSize", "unsupported");
                if (BinaryPrimitives.ReadInt64LittleEndian(header[16..]) != count)
                    throw new DataFormatError(indexPath, "count", $"{BinaryPrimitives.ReadInt64LittleEndian(header[16..])}, but the manifest says {count}");
                k.dataLength = new FileInfo(dataPath).Length;
                if (k.dataLength > 0) k.data = Map(dataPath, out k.dataMap, out k.dataView);
                for (int id = 0; id < count; id++) k.Validate(indexPath, kind, id);
                return k;
            }
            catch
            {
                k.Dispose();
                throw;
            }
        }

        void Validate(string indexPath, UnitKind kind, int id)
        {
            var r = Record(id);
            string unit = $"{kind.Name()} {id}";
            float density = IndexRecord.ReadDensity(r), max = IndexRecord.ReadMax(r), mean = IndexRecord.ReadMean(r);
            if (!(density is >= 0 and <= 1)) throw new DataFormatError(indexPath, unit + ": density", $"{density} outside [0, 1]");
            if (!float.IsFinite(max) || !float.IsFinite(mean)) throw new DataFormatError(indexPath, unit + ": max/mean", "not finite");
            long offset = IndexRecord.ReadOffset(r);
            int length = IndexRecord.ReadLength(r);
            if (offset < 0 || length <= 0 || offset > dataLength - length)
                throw new DataFormatError(indexPath, unit + ": blob", $"offset {offset} length {length} outside {DataPath} ({dataLength} bytes)");
            if ((uint)IndexRecord.ReadTopCount(r) > StoreLayout.MaxTopTokens) throw new DataFormatError(indexPath, unit + ": top tokens", "count out of range");
        }

        public ReadOnlySpan<byte> Record(int id)
        {
            if ((uint)id >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(id), $"id {id} outside [0, {Count})");
            return new ReadOnlySpan<byte>(index + StoreLayout.IndexHeaderSize + (long)id * StoreLayout.IndexRecordSize, StoreLayout.IndexRecordSize);
        }

        public ReadOnlySpan<byte> Blob(int id)
        {
            var r = Record(id);
            return new ReadOnlySpan<byte>(data + IndexRecord.ReadOffset(r), IndexRecord.ReadLength(r));
        }

        static byte* Map(string path, out MemoryMappedFile? map, out MemoryMappedViewAccessor? view)
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return p + view.PointerOffset;
        }

        public void Dispose()
        {
            if (indexView != null) { indexView.SafeMemoryMappedViewHandle.ReleasePointer(); indexView.Dispose(); indexView = null; }
            if (dataView != null) { dataView.SafeMemoryMappedViewHandle.ReleasePointer(); dataView.Dispose(); dataView = null; }
            indexMap?.Dispose(); dataMap?.Dispose();
            indexMap = dataMap = null;
        }
    }
}
