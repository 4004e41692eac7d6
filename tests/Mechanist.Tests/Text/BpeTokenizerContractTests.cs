using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// The tokenizer's contract beyond the golden ids: the pinned hash that token stores carry, the vocabulary checks of
/// the constructor, the longest special token winning, and both merge algorithms against a plain reference BPE. Each
/// builds its tokenizer afresh (the shared <see cref="Gpt2.Tokenizer"/> is built once per test process).
/// </summary>
public class BpeTokenizerContractTests
{
    /// <summary>GPT-2's tokenizer hash: token stores record it and training refuses a store whose hash differs, so a
    /// change to what <see cref="BpeTokenizer.Hash"/> digests would orphan every store written before.</summary>
    const string Gpt2Hash = "2493dbbc1cf75f7e149d905ad11d5a3025c3c0706831295abf01963fd2fd1847";

    [Fact]
    public void Gpt2HashIsPinnedAndEncodesTheGoldenIds()
    {
        var fresh = TokenizerFiles.Load(Gpt2.Dir);
        Assert.Equal(Gpt2Hash, fresh.Hash);
        foreach (var (_, text, ids) in Gpt2.Golden().Take(40)) Assert.Equal(ids, fresh.Encode(text));
    }

    /// <summary>256 byte tokens, "ab" (256), "abc" (257), the merges a+b and ab+c, and two specials that
    /// start alike: "&lt;s&gt;" (258) and "&lt;s&gt;&gt;" (259).</summary>
    static (List<byte[]?> Tokens, List<(int, int)> Merges, Dictionary<string, int> Special) Tiny()
    {
        var tokens = Enumerable.Range(0, 256).Select(b => (byte[]?)[(byte)b]).ToList();
        tokens.Add("ab"u8.ToArray());
        tokens.Add("abc"u8.ToArray());
        tokens.Add(null);
        tokens.Add(null);
        return (tokens, [('a', 'b'), (256, 'c')], new() { ["<s>"] = 258, ["<s>>"] = 259 });
    }

    [Fact]
    public void TinyVocabularyEncodesAndLongestSpecialWins()
    {
        var (tokens, merges, special) = Tiny();
        var tokenizer = new BpeTokenizer(tokens, merges, special);
        Assert.Equal([257, 'd'], tokenizer.Encode("abcd"));
        Assert.Equal(['x', 259, 'y', 258], tokenizer.Encode("x<s>>y<s>", allowSpecial: true));
        Assert.Equal("<s>>", tokenizer.Decode([259]));
        Assert.Equal(['<', 's', '>'], tokenizer.Encode("<s>"));
    }

    [Fact]
    public void HashChangesWithEveryPartOfTheVocabulary()
    {
        var (tokens, merges, special) = Tiny();
        string hash = new BpeTokenizer(tokens, merges, special).Hash;
        Assert.Equal(hash, new BpeTokenizer(tokens, merges, special).Hash);
        Assert.NotEqual(hash, new BpeTokenizer(tokens, [('a', 'b')], special).Hash);                  // a merge fewer
        Assert.NotEqual(hash, new BpeTokenizer(tokens, [('a', 'b'), ('a', 'b'), (256, 'c')], special).Hash); // a merge repeated
        var swapped = new Dictionary<string, int> { ["<s>"] = 259, ["<s>>"] = 258 };
        Assert.NotEqual(hash, new BpeTokenizer(tokens, merges, swapped).Hash);                         // special ids swapped
    }

    [Fact]
    public void RepeatedMergeKeepsItsFirstRank()
    {
        var (tokens, _, special) = Tiny();
        var tokenizer = new BpeTokenizer(tokens, [('a', 'b'), (256, 'c'), ('a', 'b')], special);
        Assert.Equal(0, tokenizer.RankOf('a', 'b'));
        Assert.Equal(1, tokenizer.RankOf(256, 'c'));
        Assert.Equal(int.MaxValue, tokenizer.RankOf('b', 'a'));
    }

    public static TheoryData<string, string> BadVocabularies => new()
    {
        { "special id = size", "outside the vocabulary of 260" },
        { "special id < 0", "outside the vocabulary" },
        { "empty special", "cannot be empty" },
        { "null ordinary", "token 65 has no bytes" },
        { "empty token", "token 66 is empty" },
        { "repeated bytes", "token 257 repeats the bytes of token 256" },
        { "missing byte", "no token for the byte 0x07" },
        { "missing byte 0", "no token for the byte 0x00" },
        { "merge left = size", "merge 2 refers to an id that is not an ordinary token" },
        { "merge right = size", "merge 2 refers to" },
        { "merge left special", "merge 2 refers to" },
        { "merge right special", "merge 2 refers to" },
        { "merge makes unknown", "merge 2 makes a token that is not in the vocabulary" },
    };

    [Theory]
    [MemberData(nameof(BadVocabularies))]
    public void BadVocabularyIsRefusedWithItsReason(string defect, string message)
    {
        var (tokens, merges, special) = Tiny();
        switch (defect)
        {
            case "special id = size": special["<x>"] = tokens.Count; break;
            case "special id < 0": special["<x>"] = -1; break;
            case "empty special": special[""] = 259; special.Remove("<s>>"); break;
            case "null ordinary": tokens[65] = null; break;
            case "empty token": tokens[66] = []; break;
            case "repeated bytes": tokens[257] = "ab"u8.ToArray(); break;
            case "missing byte": tokens[7] = "\a\a"u8.ToArray(); break;
            case "missing byte 0": tokens[0] = [0, 0]; break;
            case "merge left = size": merges.Add((tokens.Count, 'c')); break;
            case "merge right = size": merges.Add(('c', tokens.Count)); break;
            case "merge left special": merges.Add((258, 'c')); break;
            case "merge right special": merges.Add(('c', 259)); break;
            case "merge makes unknown": merges.Add(('c', 'd')); break;
        }
        var error = Assert.Throws<ArgumentException>(() => new BpeTokenizer(tokens, merges, special));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void IdOutsideTheVocabularyIsAUserErrorNamingTheRange()
    {
        var (tokens, merges, special) = Tiny();
        var tokenizer = new BpeTokenizer(tokens, merges, special);
        Assert.Contains("token id 260 is outside the vocabulary (0..259)", Assert.Throws<UserError>(() => tokenizer.Decode([260])).Message);
        Assert.Throws<UserError>(() => tokenizer.TokenText(-1));
        Assert.Equal("<s>>", tokenizer.TokenText(259));
    }

    [Fact]
    public void BothMergeAlgorithmsMatchAPlainReferenceBpe()
    {
        var tokenizer = TokenizerFiles.Load(Gpt2.Dir);
        var random = new Random(11);
        var pieces = Gpt2.Golden().Take(30).SelectMany(g => PreTokenizer.Split(g.Text)).Distinct().ToList();
        pieces.Add(new string(Enumerable.Range(0, 700).Select(_ => "ACGT"[random.Next(4)]).ToArray()));
        pieces.Add(string.Concat(Enumerable.Repeat("abracadabra", 20)));
        // Three UTF-8 bytes per character fill a new encoder's grown scratch arrays exactly: reading or writing past
        // the live ids fails (hence a fresh encoder per piece: an earlier, longer piece would leave room to spare).
        pieces.Add(new string('漢', 100));
        pieces.Add(string.Concat(Enumerable.Repeat("한국어", 40)));
        foreach (string piece in pieces)
        {
            var expected = ReferenceMerge(tokenizer, piece);
            Assert.Equal(expected, new WordEncoder(tokenizer).EncodePiece(piece, heap: false));
            Assert.Equal(expected, new WordEncoder(tokenizer).EncodePiece(piece, heap: true));
        }
    }

    /// <summary>BPE as written in the GPT-2 paper's code: merge the lowest-ranked adjacent pair (leftmost on ties) until none is left.</summary>
    static int[] ReferenceMerge(BpeTokenizer tokenizer, string piece)
    {
        var ids = Encoding.UTF8.GetBytes(piece).Select(b => tokenizer.ByteToken(b)).ToList();
        while (true)
        {
            int best = int.MaxValue, at = -1;
            for (int k = 0; k + 1 < ids.Count; k++)
            {
                int rank = tokenizer.RankOf(ids[k], ids[k + 1]);
                if (rank < best) (best, at) = (rank, k);
            }
            if (at < 0) return [.. ids];
            ids[at] = tokenizer.MergeResult(best);
            ids.RemoveAt(at + 1);
        }
    }
}
