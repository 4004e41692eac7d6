using System.Buffers.Binary;
using System.Text.Json;

namespace Mechanist.Features;

/// <summary>
/// Writes a feature store unit by unit, streaming: blobs go straight to disk, only the 64-byte index entries
/// stay in memory. Everything is written into a hidden `.partial-*` folder inside the output folder and moved
/// into place by <see cref="Complete"/>, manifest last; disposing without completing leaves no store behind.
/// <code>
/// using var writer = FeatureStoreWriter.Create(outDir, source, vocabulary, featureCount: 4096, neuronCount: 512);
/// foreach (var unit in units) writer.Add(unit);   // any order, each (Kind, Id) exactly once, thread-safe
/// writer.Complete();
/// </code>
/// </summary>
public sealed class FeatureStoreWriter : IDisposable
{
    readonly string outDir, partialDir;
    readonly FeatureStoreSource source;
    readonly IReadOnlyList<string> vocabulary;
    readonly int tokenIdBytes;
    readonly Dictionary<UnitKind, KindWriter> kinds = [];
    readonly Lock gate = new();
    bool completed, disposed;

    FeatureStoreWriter(string outDir, FeatureStoreSource source, IReadOnlyList<string> vocabulary, int featureCount, int neuronCount)
    {
        this.outDir = Path.GetFullPath(outDir);
        this.source = source;
        this.vocabulary = vocabulary;
        tokenIdBytes = vocabulary.Count <= ushort.MaxValue + 1 ? 2 : 4;
        Directory.CreateDirectory(this.outDir);
        partialDir = Path.Combine(this.outDir, $".partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(partialDir);
        kinds[UnitKind.Feature] = new KindWriter(Path.Combine(partialDir, StoreLayout.DataFile(UnitKind.Feature)), featureCount);
        if (neuronCount > 0)
            kinds[UnitKind.Neuron] = new KindWriter(Path.Combine(partialDir, StoreLayout.DataFile(UnitKind.Neuron)), neuronCount);
    }

    /// <param name="outDir">The store folder; created if missing. An existing store there is replaced on <see cref="Complete"/>
    /// (with every explainer run's results and failures files: they describe the old store's units).</param>
    /// <param name="vocabulary">Display string of every token id (e.g. " the", "\n"), index = id.</param>
    /// <param name="featureCount">Number of SAE features; every id in [0, featureCount) must be added.</param>
    /// <param name="neuronCount">Number of model neurons at the hook to add for comparison; 0 for none.</param>
    public static FeatureStoreWriter Create(string outDir, FeatureStoreSource source, IReadOnlyList<string> vocabulary,
        int featureCount, int neuronCount = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(featureCount);
        ArgumentOutOfRangeException.ThrowIfNegative(neuronCount);
        if (vocabulary.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(vocabulary));
        return new FeatureStoreWriter(outDir, source, vocabulary, featureCount, neuronCount);
    }

    /// <summary>Adds one unit's statistics. Token ids must be inside the vocabulary; values finite.</summary>
    public void Add(FeatureRecord unit)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (completed) throw new InvalidOperationException("the store is already complete");
        if (!kinds.TryGetValue(unit.Kind, out var kind)) throw new ArgumentException($"this store has no {unit.Kind.Name()} units");
        if ((uint)unit.Id >= (uint)kind.Count) throw new ArgumentOutOfRangeException(nameof(unit), $"{unit.Kind.Name()} id {unit.Id} outside [0, {kind.Count})");
        Validate(unit);
        byte[] blob = UnitBlob.Encode(unit, tokenIdBytes);
        int[] topTokens = TopTokens(unit.TopExamples);
        lock (gate)
        {
            if (kind.Written[unit.Id]) throw new ArgumentException($"{unit.Kind.Name()} {unit.Id} was already added");
            kind.Index[unit.Id] = new IndexRecord(unit.Density, unit.MaxActivation, unit.MeanActivation, blob.Length, kind.Data.Position, topTokens);
            kind.Data.Write(blob);
            kind.Written[unit.Id] = true;
            kind.Added++;
        }
    }

    /// <summary>Checks every unit was added, writes index, vocabulary and manifest, and moves the store into place.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        lock (gate)
        {
            if (completed) return;
            foreach (var (kind, w) in kinds)
                if (w.Added != w.Count)
                    throw new InvalidOperationException($"{w.Count - w.Added} {kind.Name()} units were never added (first missing: {Array.IndexOf(w.Written, false)})");

            var files = new List<string>();
            foreach (var (kind, w) in kinds)
            {
                w.Data.Flush(flushToDisk: true);
                w.Data.Dispose();
                string indexPath = Path.Combine(partialDir, StoreLayout.IndexFile(kind));
                WriteIndex(indexPath, w.Index);
                files.Add(StoreLayout.IndexFile(kind));
                files.Add(StoreLayout.DataFile(kind));
            }
            WriteFlushed(Path.Combine(partialDir, StoreLayout.VocabularyFile), JsonSerializer.SerializeToUtf8Bytes(vocabulary));
            files.Add(StoreLayout.VocabularyFile);

            var manifest = new ManifestJson
            {
                Format = StoreLayout.Format, Version = StoreLayout.Version, Source = source,
                Vocabulary = StoreLayout.VocabularyFile, VocabularySize = vocabulary.Count, TokenIdBytes = tokenIdBytes,
                Units = kinds.Select(k => new ManifestUnits
                {
                    Kind = k.Key.Name(), Count = k.Value.Count, Index = StoreLayout.IndexFile(k.Key), Data = StoreLayout.DataFile(k.Key),
                }).ToList(),
            };
            WriteFlushed(Path.Combine(partialDir, StoreLayout.ManifestFile),
                JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions { WriteIndented = true }));

            // An old manifest goes first, the new one comes last: a crash in between leaves "not a store", never a mix.
            File.Delete(Path.Combine(outDir, StoreLayout.ManifestFile));
            // Explanations describe the units of the store they were made for, so they go with it (as in the demo).
            foreach (string explanations in Explain.ExplanationFiles.AllInStore(outDir).ToList()) File.Delete(explanations);
            foreach (string kindFile in new[] { UnitKind.Feature, UnitKind.Neuron }.SelectMany(k => new[] { StoreLayout.IndexFile(k), StoreLayout.DataFile(k) }))
                if (!files.Contains(kindFile)) File.Delete(Path.Combine(outDir, kindFile));
            foreach (string f in files) File.Move(Path.Combine(partialDir, f), Path.Combine(outDir, f), overwrite: true);
            File.Move(Path.Combine(partialDir, StoreLayout.ManifestFile), Path.Combine(outDir, StoreLayout.ManifestFile), overwrite: true);
            Directory.Delete(partialDir, recursive: true);
            completed = true;
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var w in kinds.Values) w.Data.Dispose();
        if (!completed && Directory.Exists(partialDir)) Directory.Delete(partialDir, recursive: true);
    }

    void Validate(FeatureRecord unit)
    {
        string name = $"{unit.Kind.Name()} {unit.Id}";
        if (!(unit.Density is >= 0 and <= 1)) throw new ArgumentException($"{name}: density {unit.Density} outside [0, 1]");
        if (!float.IsFinite(unit.MaxActivation) || !float.IsFinite(unit.MeanActivation))
            throw new ArgumentException($"{name}: max/mean activation not finite");
        void Tokens(IEnumerable<int> ids, string field)
        {
            foreach (int t in ids)
                if ((uint)t >= (uint)vocabulary.Count) throw new ArgumentException($"{name}: {field}: token id {t} outside the vocabulary of {vocabulary.Count}");
        }
        foreach (var r in unit.TopExamples.Concat(unit.RandomExamples).Concat(unit.Intervals.SelectMany(i => i.Examples)))
            Tokens(r.TokenIds, "examples");
        Tokens(unit.Logits.Top.Concat(unit.Logits.Bottom).Select(v => v.TokenId), "logits");
    }

    /// <summary>The tokens the unit fires hardest on: each top example's argmax token, most frequent first.</summary>
    static int[] TopTokens(ActivationRecord[] examples)
    {
        var order = new List<int>();
        var counts = new Dictionary<int, int>();
        foreach (var e in examples)
        {
            if (e.Activations.Length == 0) continue;
            int best = 0;
            for (int i = 1; i < e.Activations.Length; i++) if (e.Activations[i] > e.Activations[best]) best = i;
            if (e.Activations[best] <= 0) continue;
            int token = e.TokenIds[best];
            if (counts.TryAdd(token, 1)) order.Add(token); else counts[token]++;
        }
        return order.OrderByDescending(t => counts[t]).Take(StoreLayout.MaxTopTokens).ToArray(); // stable: ties keep first-seen order
    }

    static void WriteIndex(string path, IndexRecord[] records)
    {
        var bytes = new byte[StoreLayout.IndexHeaderSize + (long)records.Length * StoreLayout.IndexRecordSize];
        StoreLayout.IndexMagic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), StoreLayout.Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), StoreLayout.IndexRecordSize);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), records.Length);
        for (int i = 0; i < records.Length; i++)
            records[i].Write(bytes.AsSpan(StoreLayout.IndexHeaderSize + i * StoreLayout.IndexRecordSize));
        WriteFlushed(path, bytes);
    }

    static void WriteFlushed(string path, byte[] bytes)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        f.Write(bytes);
        f.Flush(flushToDisk: true);
    }

    sealed class KindWriter(string dataPath, int count)
    {
        public readonly int Count = count;
        public readonly FileStream Data = new(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        public readonly IndexRecord[] Index = new IndexRecord[count];
        public readonly bool[] Written = new bool[count];
        public int Added;
    }
}
