using Mechanist.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mechanist.Text;

/// <summary>
/// Reads and writes tokenizers in the ecosystem's formats: GPT-2's <c>vocab.json</c> + <c>merges.txt</c>
/// and Hugging Face's <c>tokenizer.json</c> (byte-level BPE). A vocabulary entry that is neither a single
/// byte nor made by a merge (GPT-2's <c>&lt;|endoftext|&gt;</c>) is a special token.
/// Every problem is reported as a <see cref="DataFormatError"/> naming the file and the entry.
/// </summary>
public static class TokenizerFiles
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string HuggingFaceFile = "tokenizer.json";

    /// <summary>
    /// Loads from a folder holding <c>vocab.json</c> + <c>merges.txt</c> (preferred) or <c>tokenizer.json</c>,
    /// or from a <c>tokenizer.json</c> file itself.
    /// </summary>
    public static BpeTokenizer Load(string path)
    {
        if (File.Exists(path)) return LoadHuggingFace(path);
        if (!Directory.Exists(path)) throw new UserError($"tokenizer not found: {path} (give a folder with vocab.json + merges.txt, or a tokenizer.json)");
        string vocab = Path.Combine(path, VocabFile), merges = Path.Combine(path, MergesFile), hf = Path.Combine(path, HuggingFaceFile);
        if (File.Exists(vocab))
        {
            if (!File.Exists(merges)) throw new UserError($"{merges} not found: a GPT-2 style tokenizer needs both vocab.json and merges.txt");
            return LoadGpt2(vocab, merges);
        }
        if (File.Exists(hf)) return LoadHuggingFace(hf);
        throw new UserError($"no tokenizer in {path}: expected vocab.json + merges.txt or tokenizer.json");
    }

    /// <summary>GPT-2 layout: <c>vocab.json</c> (token string → id) and <c>merges.txt</c> (one "left right" pair a line, rank order).</summary>
    public static BpeTokenizer LoadGpt2(string vocabPath, string mergesPath)
    {
        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))
                    ?? throw new DataFormatError(vocabPath, "vocab", "is null; expected an object of token → id");
        }
        catch (JsonException e)
        {
            throw new DataFormatError(vocabPath, "vocab", $"not a JSON object of token → integer id ({e.Message})", e);
        }
        var merges = new List<(string, string, string)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(mergesPath))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version"))) continue;
            merges.Add(SplitMerge(line, mergesPath, $"line {lineNumber}"));
        }
        return Build(vocab, merges, [], vocabPath, mergesPath);
    }

    /// <summary>Hugging Face <c>tokenizer.json</c> with a BPE model over byte-level pre-tokenization.</summary>
    public static BpeTokenizer LoadHuggingFace(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new DataFormatError(path, "(document)", $"invalid JSON ({e.Message})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new DataFormatError(path, "model", "missing; expected a tokenizer.json with a \"model\" object");
            string? type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type is not null and not "BPE") throw new DataFormatError(path, "model.type", $"is \"{type}\"; only byte-level BPE tokenizers are supported");
            if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object && !MentionsByteLevel(pre))
                throw new DataFormatError(path, "pre_tokenizer", "is not ByteLevel; only byte-level BPE tokenizers are supported");

            if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
                throw new DataFormatError(path, "model.vocab", "missing or not an object of token → id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in vocabJson.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id))
                    throw new DataFormatError(path, $"model.vocab[{Quote(entry.Name)}]", "is not an integer id");
                vocab[entry.Name] = id;
            }

            if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
                throw new DataFormatError(path, "model.merges", "missing; a BPE tokenizer needs its merge list");
            var merges = new List<(string, string, string)>();
            int index = 0;
            foreach (var m in mergesJson.EnumerateArray())
            {
                string where = $"model.merges[{index++}]";
                if (m.ValueKind == JsonValueKind.String) merges.Add(SplitMerge(m.GetString()!, path, where));
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                    merges.Add((m[0].GetString()!, m[1].GetString()!, where));
                else throw new DataFormatError(path, where, "expected \"left right\" or [\"left\", \"right\"]");
            }

            var added = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var a in addedJson.EnumerateArray())
                {
                    string where = $"added_tokens[{i++}]";
                    if (a.ValueKind != JsonValueKind.Object || !a.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String
                        || !a.TryGetProperty("id", out var idJson) || !idJson.TryGetInt32(out int id))
                        throw new DataFormatError(path, where, "expected an object with \"id\" and \"content\"");
                    added[c.GetString()!] = id;
                }
            }
            return Build(vocab, merges, added, path, path);
        }
    }

    static bool MentionsByteLevel(JsonElement pre) => pre.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal);

    static (string, string, string) SplitMerge(string line, string path, string where)
    {
        int space = line.IndexOf(' ');
        if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            throw new DataFormatError(path, where, $"expected two tokens separated by one space, got {Quote(line)}");
        return (line[..space], line[(space + 1)..], where);
    }

    static BpeTokenizer Build(Dictionary<string, int> vocab, List<(string Left, string Right, string Where)> merges,
        Dictionary<string, int> added, string vocabPath, string mergesPath)
    {
        int n = 0;
        foreach (var (token, id) in vocab.Concat(added))
        {
            if (id < 0) throw new DataFormatError(vocabPath, Quote(token), $"has negative id {id}");
            n = Math.Max(n, id + 1);
        }
        var text = new string?[n];
        foreach (var (token, id) in vocab.Concat(added))
        {
            if (text[id] != null && text[id] != token)
                throw new DataFormatError(vocabPath, Quote(token), $"id {id} is also given to {Quote(text[id]!)}");
            text[id] = token;
        }
        int gap = Array.IndexOf(text, null);
        if (gap >= 0) throw new DataFormatError(vocabPath, "ids", $"no token has id {gap}; ids must run from 0 to {n - 1} without gaps");

        var mergeIds = new List<(int, int)>(merges.Count);
        var made = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (left, right, where) in merges)
        {
            if (!vocab.TryGetValue(left, out int l)) throw new DataFormatError(mergesPath, where, $"refers to {Quote(left)}, which is not in the vocabulary");
            if (!vocab.TryGetValue(right, out int r)) throw new DataFormatError(mergesPath, where, $"refers to {Quote(right)}, which is not in the vocabulary");
            if (!vocab.ContainsKey(left + right)) throw new DataFormatError(mergesPath, where, $"makes {Quote(left + right)}, which is not in the vocabulary");
            mergeIds.Add((l, r));
            made.Add(left + right);
        }

        // Ordinary tokens are bytes or merge results; anything else in the vocabulary is a special token.
        var bytes = new byte[]?[n];
        var special = new Dictionary<string, int>(added, StringComparer.Ordinal);
        foreach (var (token, id) in vocab)
        {
            if (added.ContainsKey(token)) continue;
            bool ordinary = token.Length == 1 ? ByteUnicode.TryToByte(token[0], out _) : made.Contains(token);
            if (!ordinary) { special[token] = id; continue; }
            if (!ByteUnicode.TryDecode(token, out bytes[id]!))
                throw new DataFormatError(vocabPath, Quote(token), "has a character outside GPT-2's byte alphabet");
        }
        for (int b = 0; b < 256; b++)
        {
            string single = ByteUnicode.ToChar((byte)b).ToString();
            if (!vocab.ContainsKey(single)) throw new DataFormatError(vocabPath, Quote(single), $"missing: a byte-level vocabulary needs a token for every byte (this one is 0x{b:X2})");
        }
        try { return new BpeTokenizer(bytes, mergeIds, special); }
        catch (ArgumentException e) { throw new DataFormatError(vocabPath, "vocabulary", e.Message, e); }
    }

    static string Quote(string s) => JsonSerializer.Serialize(s);

    static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <c>vocab.json</c>, <c>merges.txt</c> and <c>tokenizer.json</c> into <paramref name="dir"/>, each atomically.</summary>
    public static void Save(BpeTokenizer tokenizer, string dir)
    {
        Directory.CreateDirectory(dir);
        var names = new string[tokenizer.VocabSize];
        for (int id = 0; id < names.Length; id++)
            names[id] = tokenizer.IsSpecial(id) ? Encoding.UTF8.GetString(tokenizer.TokenBytes(id)) : ByteUnicode.Encode(tokenizer.TokenBytes(id));

        AtomicFile.Write(Path.Combine(dir, VocabFile), stream =>
        {
            using var w = new Utf8JsonWriter(stream, Compact);
            WriteVocab(w, names);
        });
        AtomicFile.Write(Path.Combine(dir, MergesFile), stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            w.NewLine = "\n";
            w.WriteLine("#version: 0.2");
            foreach (var (l, r) in tokenizer.Merges) w.WriteLine($"{names[l]} {names[r]}");
        });
        AtomicFile.Write(Path.Combine(dir, HuggingFaceFile), stream =>
        {
            using var w = new Utf8JsonWriter(stream, Indented);
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var (content, id) in tokenizer.SpecialTokens.OrderBy(p => p.Value))
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", content);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", true);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            WriteByteLevel(w, "pre_tokenizer");
            WriteByteLevel(w, "post_processor");
            WriteByteLevel(w, "decoder");
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteString("continuing_subword_prefix", "");
            w.WriteString("end_of_word_suffix", "");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WritePropertyName("vocab");
            WriteVocab(w, names);
            w.WriteStartArray("merges");
            foreach (var (l, r) in tokenizer.Merges) w.WriteStringValue($"{names[l]} {names[r]}");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    static void WriteVocab(Utf8JsonWriter w, string[] names)
    {
        w.WriteStartObject();
        for (int id = 0; id < names.Length; id++) w.WriteNumber(names[id], id);
        w.WriteEndObject();
    }

    static void WriteByteLevel(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject(name);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }
}
