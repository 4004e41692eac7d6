using System.Globalization;
using System.Text;

namespace Mechanist.Text;

/// <summary>
/// GPT-2's pre-tokenizer as a hand-written scanner, equivalent to the regular expression
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>
/// on Unicode code points (surrogate pairs are classified as the one character they encode) and about
/// ten times faster than the regex. BPE merges never cross the pieces it cuts.
/// </summary>
public static class PreTokenizer
{
    /// <summary>The classes the pieces are cut by; the numbers are what <see cref="ClassOf"/> returns.</summary>
    enum CharClass : byte { Other, Letter, Number, Space }

    /// <summary>Class of every UTF-16 code unit; surrogates are resolved per pair at run time.</summary>
    static readonly CharClass[] Bmp = BuildBmpTable();

    /// <summary>Where the piece starting at <paramref name="start"/> ends (exclusive).</summary>
    public static int PieceEnd(ReadOnlySpan<char> s, int start)
    {
        int n = s.Length;
        char c = s[start];
        if (c == '\'' && start + 1 < n)
        {
            char d = s[start + 1];
            if (d is 's' or 't' or 'm' or 'd') return start + 2;
            if (start + 2 < n)
            {
                char e = s[start + 2];
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return start + 3;
            }
        }

        int j = start;
        var cls = ClassAt(s, j, out int width);
        if (c == ' ' && start + 1 < n)
        {
            // " ?X+": a single ASCII space joins the run that follows it, unless that run is whitespace.
            var nextCls = ClassAt(s, start + 1, out int nextWidth);
            if (nextCls != CharClass.Space) { j = start + 1; cls = nextCls; width = nextWidth; }
        }

        if (cls == CharClass.Space)
        {
            int k = start + 1;
            while (k < n && Bmp[s[k]] == CharClass.Space) k++;
            if (k == n) return n;                       // trailing whitespace stays together
            return k - start >= 2 ? k - 1 : start + 1;  // \s+(?!\S): leave the last one for the next piece
        }

        j += width;
        while (j < n && ClassAt(s, j, out width) == cls) j += width;
        return j;
    }

    /// <summary>
    /// True when a piece boundary falls at <paramref name="index"/> whatever follows and whatever came
    /// before: a non-space character followed by whitespace. Text cut at such places pre-tokenizes (and
    /// so encodes) exactly as the whole, which lets long texts be split into chunks for parallel work.
    /// </summary>
    public static bool IsSafeCut(ReadOnlySpan<char> s, int index) =>
        index > 0 && index < s.Length && Bmp[s[index]] == CharClass.Space && Bmp[s[index - 1]] != CharClass.Space;

    /// <summary>The last safe cut at or before <paramref name="limit"/> and after <paramref name="from"/>; -1 if none.</summary>
    public static int LastSafeCut(ReadOnlySpan<char> s, int from, int limit)
    {
        for (int i = Math.Min(limit, s.Length - 1); i > from; i--)
            if (IsSafeCut(s, i)) return i;
        return -1;
    }

    /// <summary>The first safe cut at or after <paramref name="from"/>; -1 if none.</summary>
    public static int NextSafeCut(ReadOnlySpan<char> s, int from)
    {
        for (int i = Math.Max(from, 1); i < s.Length; i++)
            if (IsSafeCut(s, i)) return i;
        return -1;
    }

    /// <summary>All pieces of <paramref name="text"/> in order; for tests and tools (encoding uses <see cref="PieceEnd"/>).</summary>
    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        for (int i = 0; i < text.Length;)
        {
            int end = PieceEnd(text, i);
            pieces.Add(text[i..end]);
            i = end;
        }
        return pieces;
    }

    /// <summary>
    /// The class of one Unicode code point as the scanner sees it: 0 other, 1 letter (\p{L}), 2 number (\p{N}), 3
    /// whitespace (\s; BMP only, as <see cref="char.IsWhiteSpace(char)"/>). Surrogate code points are "other". The
    /// browser's tokenizer takes this table from the export, so it cuts text exactly as this scanner does.
    /// </summary>
    public static byte ClassOf(int codePoint) =>
        codePoint < 0x10000 ? (byte)Bmp[codePoint] : (byte)Classify(Rune.GetUnicodeCategory(new Rune(codePoint)));

    static CharClass ClassAt(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (!char.IsSurrogate(c)) { width = 1; return Bmp[c]; }
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return Classify(Rune.GetUnicodeCategory(new Rune(c, s[i + 1])));
        }
        width = 1;
        return CharClass.Other; // a lone surrogate: neither letter, number nor space
    }

    static CharClass Classify(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        _ => CharClass.Other,
    };

    static CharClass[] BuildBmpTable()
    {
        var table = new CharClass[65536];
        for (int c = 0; c < 65536; c++)
        {
            char ch = (char)c;
            // \s is Unicode White_Space: what char.IsWhiteSpace tests (tab..CR, U+0085, Zs, U+2028/2029).
            table[c] = char.IsSurrogate(ch) ? CharClass.Other
                : char.IsWhiteSpace(ch) ? CharClass.Space
                : Classify(char.GetUnicodeCategory(ch));
        }
        return table;
    }
}
