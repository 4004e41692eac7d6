using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Mechanist.Tests.Text;

/// <summary>Small corpora in every format Mechanist reads, written with the libraries themselves, all holding the same documents.</summary>
static class CorpusFiles
{
    /// <summary>A few Pile-style documents: text plus meta.pile_set_name, one long enough to span pieces of a batch.</summary>
    public static readonly (string Text, string Source)[] Documents =
    [
        ("The quick brown fox jumps over the lazy dog.", "Pile-CC"),
        ("def add(a, b):\n    return a + b\n", "Github"),
        ("Ünïcödé text: 日本語の文章、 emoji 🎉 and tabs\tinside.", "Wikipedia (en)"),
        (string.Concat(Enumerable.Repeat("A longer document with many words and numbers 12345. ", 300)), "Pile-CC"),
        ("Legal: the party of the first part shall indemnify.", "FreeLaw"),
        ("Short.", "Github"),
    ];

    public static string JsonLine((string Text, string Source) d) =>
        JsonSerializer.Serialize(new { text = d.Text, meta = new { pile_set_name = d.Source } });

    public static byte[] JsonLinesBytes(IEnumerable<(string Text, string Source)> docs) =>
        Encoding.UTF8.GetBytes(string.Concat(docs.Select(d => JsonLine(d) + "\n")));

    public static string WriteJsonl(string path, IEnumerable<(string, string)>? docs = null)
    {
        File.WriteAllBytes(path, JsonLinesBytes(docs ?? Documents));
        return path;
    }

    public static string WriteZstd(string path, byte[] content)
    {
        using (var file = File.Create(path))
        using (var zstd = new ZstdSharp.CompressionStream(file, 3)) zstd.Write(content);
        return path;
    }

    public static string WriteGzip(string path, byte[] content)
    {
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest)) gzip.Write(content);
        return path;
    }

    /// <summary>A Parquet file like a Hugging Face shard: a text column, a struct meta{pile_set_name}, an id; one row group per chunk.</summary>
    public static string WriteParquet(string path, IEnumerable<(string Text, string Source)> docs, int rowsPerGroup = 4, string textColumn = "text")
    {
        WriteParquetAsync(path, docs.ToArray(), rowsPerGroup, textColumn).GetAwaiter().GetResult();
        return path;
    }

    static async Task WriteParquetAsync(string path, (string Text, string Source)[] docs, int rowsPerGroup, string textColumn)
    {
        var text = new DataField<string>(textColumn);
        var source = new DataField<string>("pile_set_name");
        var id = new DataField<int>("id");
        var schema = new ParquetSchema(id, text, new StructField("meta", source));
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, file);
        int n = 0;
        foreach (var chunk in docs.Chunk(rowsPerGroup))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, (ReadOnlyMemory<int>)Enumerable.Range(n, chunk.Length).ToArray());
            await group.WriteAsync(text, chunk.Select(d => (string?)d.Text).ToArray());
            await group.WriteAsync(source, chunk.Select(d => (string?)d.Source).ToArray());
            n += chunk.Length;
        }
    }
}
