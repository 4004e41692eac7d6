using System.Buffers.Binary;
using System.Text.Json.Serialization;

namespace Mechanist.Features;

/// <summary>Where the units came from: recorded in the manifest and shown in the page header.</summary>
public sealed record FeatureStoreSource
{
    public string Model { get; init; } = "";
    public string Sae { get; init; } = "";
    /// <summary>The hook point the SAE reads, e.g. "blocks.0.mlp.hook_post".</summary>
    public string Hook { get; init; } = "";
    /// <summary>How many tokens the statistics were computed over.</summary>
    public long TokensAnalysed { get; init; }
}

/// <summary>
/// The store on disk (one folder):
/// <list type="bullet">
/// <item>`features.json`: the manifest (format, version, source, vocabulary file, token id width, unit kinds);
/// written last, so a folder without it is not a store.</item>
/// <item>`vocab.json`: JSON array of token display strings, index = token id.</item>
/// <item>`{kind}.index`: a 32-byte header then one 64-byte <see cref="IndexRecord"/> per unit, id order.</item>
/// <item>`{kind}.data`: the units' blobs (<see cref="UnitBlob"/>), read through a memory map one unit at a time.</item>
/// <item>`explanations.jsonl`, `explanations.{explainer-model-seed}.jsonl` (optional, written by the explain
/// stage, one file per explainer run: <see cref="Explain.ExplanationFiles"/>; format: <see cref="Explain.ExplanationResult"/>,
/// read and written only by <see cref="Explain.ExplanationStore"/>), each with its `*.failures.jsonl`. Writing a
/// store removes them all: they describe the units of the store they were made for.</item>
/// </list>
/// </summary>
static class StoreLayout
{
    public const string ManifestFile = "features.json";
    public const string VocabularyFile = "vocab.json";
    public const string Format = "mechanist-feature-store";
    public const int Version = 1;

    public static string IndexFile(UnitKind kind) => kind.Name() + ".index";
    public static string DataFile(UnitKind kind) => kind.Name() + ".data";

    public static ReadOnlySpan<byte> IndexMagic => "MCHIDX01"u8;
    public const int IndexHeaderSize = 32;
    public const int IndexRecordSize = 64;
    public const int MaxTopTokens = 8;
}

sealed class ManifestJson
{
    [JsonPropertyName("format")] public string? Format { get; set; }
    [JsonPropertyName("version")] public int Version { get; set; }
    [JsonPropertyName("source")] public FeatureStoreSource? Source { get; set; }
    [JsonPropertyName("vocabulary")] public string? Vocabulary { get; set; }
    [JsonPropertyName("vocabularySize")] public int VocabularySize { get; set; }
    [JsonPropertyName("tokenIdBytes")] public int TokenIdBytes { get; set; }
    [JsonPropertyName("units")] public List<ManifestUnits>? Units { get; set; }
}

sealed class ManifestUnits
{
    [JsonPropertyName("kind")] public string? Kind { get; set; }
    [JsonPropertyName("count")] public int Count { get; set; }
    [JsonPropertyName("index")] public string? Index { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
}

/// <summary>
/// One unit's fixed-size index entry (64 bytes, little-endian): density f32, max f32, mean f32,
/// blob length i32, blob offset i64, top-token count i32, 8 top-token ids i32, 4 reserved bytes.
/// Lists and search read only these, never the blobs.
/// </summary>
readonly record struct IndexRecord(float Density, float Max, float Mean, int Length, long Offset, int[] TopTokens)
{
    public void Write(Span<byte> dst)
    {
        dst[..StoreLayout.IndexRecordSize].Clear();
        BinaryPrimitives.WriteSingleLittleEndian(dst, Density);
        BinaryPrimitives.WriteSingleLittleEndian(dst[4..], Max);
        BinaryPrimitives.WriteSingleLittleEndian(dst[8..], Mean);
        BinaryPrimitives.WriteInt32LittleEndian(dst[12..], Length);
        BinaryPrimitives.WriteInt64LittleEndian(dst[16..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(dst[24..], TopTokens.Length);
        for (int i = 0; i < TopTokens.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(dst[(28 + 4 * i)..], TopTokens[i]);
    }

    public static float ReadDensity(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadSingleLittleEndian(r);
    public static float ReadMax(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadSingleLittleEndian(r[4..]);
    public static float ReadMean(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadSingleLittleEndian(r[8..]);
    public static int ReadLength(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadInt32LittleEndian(r[12..]);
    public static long ReadOffset(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadInt64LittleEndian(r[16..]);
    public static int ReadTopCount(ReadOnlySpan<byte> r) => BinaryPrimitives.ReadInt32LittleEndian(r[24..]);
    public static int ReadTopToken(ReadOnlySpan<byte> r, int i) => BinaryPrimitives.ReadInt32LittleEndian(r[(28 + 4 * i)..]);
}
