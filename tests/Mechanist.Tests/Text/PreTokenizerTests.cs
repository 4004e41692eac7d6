using System.Text;
using System.Text.RegularExpressions;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class PreTokenizerTests
{
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    static readonly Regex Oracle = new(Gpt2Pattern, RegexOptions.CultureInvariant);

    /// <summary>
    /// The regex oracle. .NET's Regex classifies UTF-16 code units, so each surrogate pair is first replaced
    /// by two BMP characters of the pair's class (same positions, same runs) and the cuts are read back.
    /// </summary>
    static List<string> RegexSplit(string text)
    {
        var bmp = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = Rune.GetUnicodeCategory(new Rune(text[i], text[i + 1]));
                string stand = (int)category <= 4 ? "ÀÀ" : (int)category <= 10 && (int)category >= 8 ? "٠٠" : "§§";
                bmp.Append(stand);
                i++;
            }
            else bmp.Append(text[i]);
        }
        var pieces = new List<string>();
        int at = 0;
        foreach (Match m in Oracle.Matches(bmp.ToString()))
        {
            Assert.Equal(at, m.Index); // the pattern always matches somewhere, so pieces tile the text
            pieces.Add(text.Substring(m.Index, m.Length));
            at += m.Length;
        }
        Assert.Equal(text.Length, at);
        return pieces;
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("it's they're we've I'm you'll he'd IT'S 'twas ''s")]
    [InlineData("  two spaces  and trailing   ")]
    [InlineData("line\r\nbreak\n\n  indented\tx \u00a0nbsp\u3000ideographic")]
    [InlineData("numbers 123 4.5e6 ١٢٣ ½ Ⅻ")]
    [InlineData("emoji 👍🏽 family 👨‍👩‍👧 flags 🇮🇱")]
    [InlineData("𝐀𝐁𝐂 math letters, 𠀀 CJK ext B, 𝟙 math digit")]
    [InlineData("שלום עולם 안녕하세요 你好世界 Γειά σου")]
    [InlineData("\u0000\u0001\u001f\u007f\u0085 controls")]
    [InlineData("x?'s ?!? ... --- '''")]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\n")]
    [InlineData(" a")]
    [InlineData("a \n b")]
    public void MatchesTheRegexOnEdgeCases(string text) => Assert.Equal(RegexSplit(text), PreTokenizer.Split(text));

    [Fact]
    public void MatchesTheRegexOnRandomStrings()
    {
        string[] alphabet = ["a", "Z", "é", "ß", "'", "s", "t", "r", "e", "v", "l", "m", "d", " ", " ", "  ", "\n", "\r\n", "\t",
            "\u00a0", "\u2028", "\u0085", "1", "٣", "½", ".", ",", "-", "!", "€", "😀", "👍🏽", "𝐀", "𝟙", "中", "\u0301", "\u200d", "\ud800"];
        var random = new Random(12345);
        var sb = new StringBuilder();
        for (int trial = 0; trial < 3000; trial++)
        {
            sb.Clear();
            int length = random.Next(0, 30);
            for (int i = 0; i < length; i++) sb.Append(alphabet[random.Next(alphabet.Length)]);
            string text = sb.ToString();
            Assert.Equal(RegexSplit(text), PreTokenizer.Split(text));
        }
    }

    [Fact]
    public void MatchesTheRegexOnRealText()
    {
        foreach (var (_, text, _) in Gpt2.Golden())
            Assert.Equal(RegexSplit(text), PreTokenizer.Split(text));
    }

    [Fact]
    public void SafeCutsSplitWithoutChangingPieces()
    {
        string text = string.Join("\n", Gpt2.Golden().Take(40).Select(g => g.Text));
        var whole = PreTokenizer.Split(text);
        var random = new Random(7);
        for (int trial = 0; trial < 50; trial++)
        {
            int cut = PreTokenizer.NextSafeCut(text, random.Next(text.Length));
            if (cut < 0) continue;
            var joined = PreTokenizer.Split(text[..cut]).Concat(PreTokenizer.Split(text[cut..])).ToList();
            Assert.Equal(whole, joined);
        }
    }

    /// <summary>Every index of a text with runs of spaces, tabs and newlines at both ends, against the definition
    /// written out: a cut before whitespace that follows a non-space, never at either end.</summary>
    [Fact]
    public void SafeCutSearchesFindTheNearestCutOnEachSide()
    {
        string text = "  ab  c\td\n\n e,f \u00a0g  ";
        bool Safe(int i) => i > 0 && i < text.Length && char.IsWhiteSpace(text[i]) && !char.IsWhiteSpace(text[i - 1]);
        for (int i = -1; i <= text.Length + 1; i++)
            if (i >= 0 && i <= text.Length) Assert.Equal(Safe(i), PreTokenizer.IsSafeCut(text, i));
        for (int from = 0; from <= text.Length; from++)
        {
            int next = Enumerable.Range(from, text.Length - from).Where(Safe).DefaultIfEmpty(-1).First();
            Assert.True(next == PreTokenizer.NextSafeCut(text, from), $"NextSafeCut from {from}");
            for (int limit = from; limit <= text.Length + 2; limit++)
            {
                int last = Enumerable.Range(from + 1, Math.Max(0, Math.Min(limit, text.Length) - from)).Where(Safe).DefaultIfEmpty(-1).Last();
                Assert.True(last == PreTokenizer.LastSafeCut(text, from, limit), $"LastSafeCut from {from} limit {limit}");
            }
        }
    }

    [Theory]
    [InlineData('a', 1)]
    [InlineData('7', 2)]
    [InlineData(' ', 3)]
    [InlineData(0x3000, 3)]    // ideographic space
    [InlineData('!', 0)]
    [InlineData(0xD800, 0)]    // a surrogate code unit on its own is "other"
    [InlineData(0xFFFF, 0)]
    [InlineData(0x10000, 1)]   // Linear B syllable B008 A: the first code point past the table is a letter
    [InlineData(0x1D518, 1)]   // mathematical fraktur U
    [InlineData(0x1D7CE, 2)]   // mathematical bold digit zero
    [InlineData(0x1F600, 0)]   // an emoji
    public void ClassOfCodePointsOnBothSidesOfTheTable(int codePoint, int expected) => Assert.Equal(expected, PreTokenizer.ClassOf(codePoint));
}
