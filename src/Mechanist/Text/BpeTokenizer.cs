using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Mechanist.Numerics;

namespace Mechanist.Text;

/// <summary>
/// A byte-level BPE tokenizer (GPT-2's scheme): text → UTF-8 bytes → pieces cut by
/// <see cref="PreTokenizer"/> → each piece's bytes merged by rank. Special tokens such as
/// <c>&lt;|endoftext|&gt;</c> are matched in the text only when the caller allows it; otherwise they are
/// ordinary text. Thread-safe: every thread encodes with its own word cache.
/// Load one with <see cref="TokenizerFiles.Load"/>, learn one with <see cref="BpeTrainer"/>.
/// </summary>
public sealed class BpeTokenizer
{
    public const string EndOfTextText = "<|endoftext|>";

    readonly byte[][] _tokenBytes;
    readonly int[] _byteToken = new int[256];
    readonly (int Left, int Right)[] _merges;
    readonly int[] _mergeResult;           // rank → id of the merged token
    readonly PairTable _rankOf;            // (left, right) → rank
    readonly Dictionary<string, int> _special;
    readonly bool[] _isSpecial;
    readonly string[] _specialByLength;    // longest first, so a longer special wins over its prefix
    readonly SearchValues<string>? _specialSearch;
    readonly ThreadLocal<WordEncoder> _encoders;

    /// <param name="tokens">Bytes of every id; ids without bytes (null) must be special tokens.</param>
    /// <param name="merges">Merge rules in priority order (rank 0 first): pairs of existing ids.</param>
    /// <param name="special">Special tokens: literal text → id (its bytes are the UTF-8 of the text).</param>
    public BpeTokenizer(IReadOnlyList<byte[]?> tokens, IReadOnlyList<(int Left, int Right)> merges, IReadOnlyDictionary<string, int> special)
    {
        int n = tokens.Count;
        _tokenBytes = new byte[n][];
        _special = new Dictionary<string, int>(StringComparer.Ordinal);
        _isSpecial = new bool[n];
        foreach (var (text, id) in special)
        {
            if ((uint)id >= (uint)n) throw new ArgumentException($"special token {text} has id {id} outside the vocabulary of {n}");
            if (text.Length == 0) throw new ArgumentException("a special token cannot be empty");
            _special[text] = id;
            _isSpecial[id] = true;
            _tokenBytes[id] = Encoding.UTF8.GetBytes(text);
        }

        var idOfBytes = new Dictionary<string, int>(n, StringComparer.Ordinal); // latin-1 view of the bytes
        Array.Fill(_byteToken, -1);
        for (int id = 0; id < n; id++)
        {
            if (_isSpecial[id]) continue;
            var bytes = tokens[id] ?? throw new ArgumentException($"token {id} has no bytes and is not special");
            if (bytes.Length == 0) throw new ArgumentException($"token {id} is empty");
            _tokenBytes[id] = bytes;
            if (!idOfBytes.TryAdd(Latin1(bytes), id)) throw new ArgumentException($"token {id} repeats the bytes of token {idOfBytes[Latin1(bytes)]}");
            if (bytes.Length == 1) _byteToken[bytes[0]] = id;
        }
        int missing = Array.IndexOf(_byteToken, -1);
        if (missing >= 0) throw new ArgumentException($"no token for the byte 0x{missing:X2}: a byte-level vocabulary needs all 256");

        _merges = merges.ToArray();
        _mergeResult = new int[_merges.Length];
        _rankOf = new PairTable(_merges.Length);
        for (int rank = 0; rank < _merges.Length; rank++)
        {
            var (left, right) = _merges[rank];
            if ((uint)left >= (uint)n || (uint)right >= (uint)n || _isSpecial[left] || _isSpecial[right])
                throw new ArgumentException($"merge {rank} refers to an id that is not an ordinary token");
            string joined = Latin1([.. _tokenBytes[left], .. _tokenBytes[right]]);
            if (!idOfBytes.TryGetValue(joined, out int result))
                throw new ArgumentException($"merge {rank} makes a token that is not in the vocabulary");
            _mergeResult[rank] = result;
            _rankOf.AddIfAbsent(left, right, rank); // a repeated merge keeps its first (best) rank, as GPT-2 does
        }

        _specialByLength = [.. _special.Keys.OrderByDescending(s => s.Length).ThenBy(s => s, StringComparer.Ordinal)];
        _specialSearch = _special.Count > 0 ? SearchValues.Create(_specialByLength, StringComparison.Ordinal) : null;
        _encoders = new ThreadLocal<WordEncoder>(() => new WordEncoder(this));
        Hash = ComputeHash();
    }

    public int VocabSize => _tokenBytes.Length;

    /// <summary>Merge rules in rank order.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => _merges;

    /// <summary>Special tokens: literal text → id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, which separates documents; null if the vocabulary lacks it.</summary>
    public int? EndOfText => _special.TryGetValue(EndOfTextText, out int id) ? id : null;

    /// <summary>SHA-256 (hex) of the tokens' bytes, the merges and the special tokens: equal hashes encode alike.</summary>
    public string Hash { get; }

    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    public bool IsSpecial(int id) => _isSpecial[id];

    /// <summary>The id of the token for one byte.</summary>
    internal int ByteToken(byte b) => _byteToken[b];

    internal int RankOf(int left, int right) => _rankOf.Get(left, right);

    internal int MergeResult(int rank) => _mergeResult[rank];

    /// <summary>Encodes <paramref name="text"/>; long texts are split at safe places and encoded on all cores.</summary>
    /// <param name="allowSpecial">Whether special-token text (e.g. <c>&lt;|endoftext|&gt;</c>) becomes its special id; otherwise it is encoded as ordinary text.</param>
    public int[] Encode(string text, bool allowSpecial = false)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text.AsSpan(), ids, allowSpecial);
        return ids.ToArray();
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output, bool allowSpecial = false) =>
        EncodeSplittingSpecials(text, output, allowSpecial, parallel: true);

    void EncodeSplittingSpecials(ReadOnlySpan<char> text, List<int> output, bool allowSpecial, bool parallel)
    {
        while (allowSpecial && _specialSearch != null)
        {
            int at = text.IndexOfAny(_specialSearch);
            if (at < 0) break;
            EncodeOrdinary(text[..at], output, parallel);
            string special = SpecialAt(text[at..]);
            output.Add(_special[special]);
            text = text[(at + special.Length)..];
        }
        EncodeOrdinary(text, output, parallel);
    }

    string SpecialAt(ReadOnlySpan<char> text)
    {
        foreach (string s in _specialByLength)
            if (text.StartsWith(s, StringComparison.Ordinal)) return s;
        throw new InvalidOperationException("SearchValues found a special token that no longer matches");
    }

    /// <summary>Texts at least this long are encoded in parallel chunks.</summary>
    const int ParallelThreshold = 1 << 18;
    const int ChunkChars = 1 << 16;

    void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output, bool parallel)
    {
        if (!parallel || text.Length < ParallelThreshold || Parallelism.Threads == 1) { _encoders.Value!.Encode(text, output); return; }

        var cuts = new List<int> { 0 };
        while (cuts[^1] < text.Length)
        {
            int target = cuts[^1] + ChunkChars;
            int cut = target >= text.Length ? -1 : PreTokenizer.NextSafeCut(text, target);
            cuts.Add(cut < 0 ? text.Length : cut);
        }
        var parts = new List<int>[cuts.Count - 1];
        string whole = text.ToString(); // spans cannot cross into the parallel lambda
        Parallel.For(0, parts.Length, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Threads }, i =>
        {
            var part = new List<int>((cuts[i + 1] - cuts[i]) / 3 + 4);
            _encoders.Value!.Encode(whole.AsSpan(cuts[i], cuts[i + 1] - cuts[i]), part);
            parts[i] = part;
        });
        foreach (var part in parts) output.AddRange(part);
    }

    /// <summary>Encodes many texts on all cores; the result lines up with the input.</summary>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, bool allowSpecial = false)
    {
        var result = new int[texts.Count][];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Threads }, i =>
        {
            var ids = new List<int>(texts[i].Length / 3 + 4);
            EncodeSingleThreaded(texts[i], ids, allowSpecial);
            result[i] = ids.ToArray();
        });
        return result;
    }

    /// <summary>Like <see cref="Encode(ReadOnlySpan{char}, List{int}, bool)"/> on the calling thread only (for callers that parallelise themselves).</summary>
    public void EncodeSingleThreaded(ReadOnlySpan<char> text, List<int> output, bool allowSpecial = false) =>
        EncodeSplittingSpecials(text, output, allowSpecial, parallel: false);

    /// <summary>The bytes the ids stand for (special tokens give their text).</summary>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        int length = 0;
        foreach (int id in ids) length += Checked(id).Length;
        var bytes = new byte[length];
        int at = 0;
        foreach (int id in ids)
        {
            var token = _tokenBytes[id];
            token.CopyTo(bytes, at);
            at += token.Length;
        }
        return bytes;
    }

    /// <summary>The text the ids stand for; bytes that do not form valid UTF-8 become U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    /// <summary>A token on its own for display: its text, with bytes that are part of a character as <c>\xD7</c> escapes (<see cref="TokenDisplay.Of"/>).</summary>
    public string TokenText(int id) => TokenDisplay.Of(Checked(id));

    byte[] Checked(int id) =>
        (uint)id < (uint)_tokenBytes.Length ? _tokenBytes[id] : throw new UserError($"token id {id} is outside the vocabulary (0..{_tokenBytes.Length - 1})");

    static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[4];
        void Int(int v) { BitConverter.TryWriteBytes(number, v); sha.AppendData(number); }
        Int(_tokenBytes.Length);
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            Int(IsSpecial(id) ? -1 : 0);
            Int(_tokenBytes[id].Length);
            sha.AppendData(_tokenBytes[id]);
        }
        Int(_merges.Length);
        foreach (var (l, r) in _merges) { Int(l); Int(r); }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
