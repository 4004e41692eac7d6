using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// A token store written byte by byte (no tokenizer, no writer), so a test can break exactly one field of
/// meta.json or one file and check that <see cref="TokenStore.Open"/> names that file and field.
/// One split, "train": shards of raw little-endian ids, document starts, optional source labels.
/// </summary>
sealed class HandTokenStore
{
    public string Dir { get; }
    public JsonObject Meta { get; }
    public JsonObject Train => Meta["splits"]!["train"]!.AsObject();
    public string MetaPath => Path.Combine(Dir, TokenStoreWriter.MetaFile);

    HandTokenStore(string dir, JsonObject meta) { Dir = dir; Meta = meta; }

    /// <summary>Writes the shards (one file each, named train-0000k.bin), the document starts and, when
    /// <paramref name="sources"/> is given, sources.json and train.sources.bin; meta.json is written by <see cref="Open"/>.</summary>
    public static HandTokenStore Make(int[][] shards, long[] documentStarts, string dtype = "uint16", int vocab = 100,
        int[]? sources = null, string[]? labels = null)
    {
        string dir = TestPaths.NewTempDir("mechanist-handstore");
        int width = dtype == "uint32" ? 4 : 2;
        var shardList = new JsonArray();
        long total = 0;
        for (int s = 0; s < shards.Length; s++)
        {
            var bytes = new byte[shards[s].Length * width];
            for (int i = 0; i < shards[s].Length; i++)
            {
                if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)shards[s][i]);
                else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), (uint)shards[s][i]);
            }
            string file = $"train-{s:D5}.bin";
            File.WriteAllBytes(Path.Combine(dir, file), bytes);
            shardList.Add(new JsonObject { ["file"] = file, ["tokens"] = shards[s].Length });
            total += shards[s].Length;
        }
        File.WriteAllBytes(Path.Combine(dir, "train.docs.bin"), Int64s(documentStarts));
        var train = new JsonObject
        {
            ["tokens"] = total,
            ["documents"] = documentStarts.Length,
            ["document_starts"] = "train.docs.bin",
            ["shards"] = shardList,
        };
        var meta = new JsonObject
        {
            ["format"] = TokenStoreWriter.Format,
            ["tokenizer"] = new JsonObject { ["hash"] = "abc123", ["vocab_size"] = vocab, ["end_of_text"] = vocab - 1 },
            ["dtype"] = dtype,
            ["splits"] = new JsonObject { ["train"] = train },
        };
        if (sources != null)
        {
            File.WriteAllText(Path.Combine(dir, TokenStoreWriter.SourceLabelsFile), System.Text.Json.JsonSerializer.Serialize(labels ?? ["a"]));
            File.WriteAllBytes(Path.Combine(dir, "train.sources.bin"), UInt32s(sources));
            meta["source_labels"] = TokenStoreWriter.SourceLabelsFile;
            train["document_sources"] = "train.sources.bin";
        }
        return new HandTokenStore(dir, meta);
    }

    public static byte[] Int64s(long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    public static byte[] UInt32s(int[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), (uint)values[i]);
        return bytes;
    }

    public string PathOf(string file) => Path.Combine(Dir, file);

    public TokenStore Open(string split = "train")
    {
        File.WriteAllText(MetaPath, Meta.ToJsonString());
        return TokenStore.Open(Dir, split);
    }

    /// <summary>Opening must fail with a <see cref="DataFormatError"/> that names <paramref name="file"/> (default meta.json)
    /// and exactly <paramref name="field"/>, with a problem that says something.</summary>
    public DataFormatError Refuses(string field, string? file = null, string split = "train")
    {
        var e = Assert.Throws<DataFormatError>(() => Open(split).Dispose());
        Assert.Equal(file ?? MetaPath, e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.False(string.IsNullOrWhiteSpace(e.Problem));
        Assert.Contains(e.Problem, e.Message);
        return e;
    }
}
