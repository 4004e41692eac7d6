using System.Text;
using System.Text.RegularExpressions;

namespace Mechanist.Explain;

/// <summary>Character classes and scripts a token can belong to; a token may be in several.</summary>
[Flags]
public enum TokenClass
{
    None = 0,
    Hebrew = 1 << 0,
    Arabic = 1 << 1,
    Hangul = 1 << 2,
    Han = 1 << 3,
    Kana = 1 << 4,
    Cyrillic = 1 << 5,
    Greek = 1 << 6,
    Devanagari = 1 << 7,
    Thai = 1 << 8,
    Digits = 1 << 9,
    Dna = 1 << 10,
    Base64 = 1 << 11,
    Url = 1 << 12,
    Whitespace = 1 << 13,
    CodePunctuation = 1 << 14,
    Punctuation = 1 << 15,
    Capitalised = 1 << 16,
}

/// <summary>
/// Classifies each token of a record. Scripts and digits are decided per token from Unicode ranges; DNA,
/// base64 and URLs are runs that span several tokens, so they are found in the record's joined text and
/// every token overlapping a run is marked.
/// </summary>
public static partial class TokenClasses
{
    public static readonly TokenClass[] All = Enum.GetValues<TokenClass>().Where(c => c != TokenClass.None).ToArray();

    /// <summary>How the built-in explainer names a class in a sentence.</summary>
    public static string Describe(TokenClass c) => c switch
    {
        TokenClass.Hebrew => "Hebrew text (tokens in the Hebrew script)",
        TokenClass.Arabic => "Arabic text (tokens in the Arabic script)",
        TokenClass.Hangul => "Korean text (tokens in the Hangul script)",
        TokenClass.Han => "Chinese characters (Han script)",
        TokenClass.Kana => "Japanese kana",
        TokenClass.Cyrillic => "Cyrillic text (e.g. Russian)",
        TokenClass.Greek => "Greek letters",
        TokenClass.Devanagari => "Devanagari text (e.g. Hindi)",
        TokenClass.Thai => "Thai text",
        TokenClass.Digits => "digits and numbers",
        TokenClass.Dna => "DNA sequences (runs of the bases A, C, G, T)",
        TokenClass.Base64 => "base64-like strings (long runs of mixed letters and digits)",
        TokenClass.Url => "URLs and web addresses",
        TokenClass.Whitespace => "whitespace and indentation",
        TokenClass.CodePunctuation => "code punctuation (brackets, semicolons, operators)",
        TokenClass.Punctuation => "punctuation",
        TokenClass.Capitalised => "capitalised words",
        _ => c.ToString(),
    };

    public static TokenClass[] Classify(IReadOnlyList<string> tokens)
    {
        // Byte-level tokens may hold part of a character ("\xD7"): classify what the window shows (each character on
        // the token that completes it), and give every token the scripts of the characters it holds a byte of.
        var touching = Text.TokenDisplay.Touching(tokens);
        tokens = Text.TokenDisplay.InContext(tokens, pending: "");
        var classes = new TokenClass[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
        {
            classes[i] = OfToken(tokens[i]);
            foreach (char ch in touching[i]) classes[i] |= Script(ch);
        }

        // Runs across tokens: join the text, remember where each token starts, mark overlapping tokens.
        var text = new StringBuilder();
        var starts = new int[tokens.Count + 1];
        for (int i = 0; i < tokens.Count; i++) { starts[i] = text.Length; text.Append(tokens[i]); }
        starts[tokens.Count] = text.Length;
        string joined = text.ToString();
        MarkRuns(DnaRun().Matches(joined), TokenClass.Dna, classes, starts);
        MarkRuns(UrlRun().Matches(joined), TokenClass.Url, classes, starts);
        foreach (Match m in Base64Run().Matches(joined))
            if (LooksEncoded(m.Value)) MarkRun(m.Index, m.Length, TokenClass.Base64, classes, starts);
        return classes;
    }

    /// <summary>Classes decided by one token alone: scripts, digits, whitespace, punctuation.</summary>
    public static TokenClass OfToken(string token)
    {
        var c = TokenClass.None;
        string trimmed = token.Trim();
        if (token.Length > 0 && trimmed.Length == 0) return TokenClass.Whitespace;
        bool allDigits = trimmed.Length > 0, anyLetter = false, allPunct = trimmed.Length > 0, anyCode = false;
        foreach (char ch in trimmed)
        {
            c |= Script(ch);
            if (char.IsLetter(ch)) anyLetter = true;
            if (!char.IsDigit(ch) && ch is not (',' or '.')) allDigits = false;
            if (!char.IsPunctuation(ch) && !char.IsSymbol(ch)) allPunct = false;
            if (ch is '{' or '}' or '[' or ']' or '(' or ')' or ';' or '=' or '<' or '>' or '&' or '|' or '\\' or '_' or '#') anyCode = true;
        }
        if (allDigits && trimmed.Any(char.IsDigit)) c |= TokenClass.Digits;
        if (allPunct) c |= anyCode ? TokenClass.CodePunctuation : TokenClass.Punctuation;
        if (anyLetter && char.IsUpper(trimmed[0]) && trimmed.Skip(1).All(ch => !char.IsUpper(ch)) && Script(trimmed[0]) == TokenClass.None)
            c |= TokenClass.Capitalised;
        return c;
    }

    static TokenClass Script(char ch) => ch switch
    {
        >= '\u0590' and <= '\u05FF' or >= '\uFB1D' and <= '\uFB4F' => TokenClass.Hebrew,
        >= '\u0600' and <= '\u06FF' or >= '\u0750' and <= '\u077F' or >= '\uFB50' and <= '\uFDFF' or >= '\uFE70' and <= '\uFEFF' => TokenClass.Arabic,
        >= '\uAC00' and <= '\uD7AF' or >= '\u1100' and <= '\u11FF' or >= '\u3130' and <= '\u318F' => TokenClass.Hangul,
        >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' => TokenClass.Han,
        >= '\u3040' and <= '\u30FF' => TokenClass.Kana,
        >= '\u0400' and <= '\u04FF' => TokenClass.Cyrillic,
        >= '\u0370' and <= '\u03FF' => TokenClass.Greek,
        >= '\u0900' and <= '\u097F' => TokenClass.Devanagari,
        >= '\u0E00' and <= '\u0E7F' => TokenClass.Thai,
        _ => TokenClass.None,
    };

    /// <summary>A base64 candidate must mix cases or letters and digits, which ordinary words do not.</summary>
    static bool LooksEncoded(string s)
    {
        bool digit = s.Any(char.IsDigit), upper = s.Any(char.IsUpper), lower = s.Any(char.IsLower);
        int caseChanges = 0;
        for (int i = 1; i < s.Length; i++) if (char.IsLower(s[i - 1]) && char.IsUpper(s[i])) caseChanges++;
        return (digit && (upper || lower) && caseChanges >= 1) || caseChanges >= 3 || s.Contains('+') || s.Contains('/');
    }

    static void MarkRuns(MatchCollection matches, TokenClass c, TokenClass[] classes, int[] starts)
    {
        foreach (Match m in matches) MarkRun(m.Index, m.Length, c, classes, starts);
    }

    static void MarkRun(int index, int length, TokenClass c, TokenClass[] classes, int[] starts)
    {
        int end = index + length;
        for (int i = 0; i < classes.Length; i++)
            if (starts[i] < end && starts[i + 1] > index && starts[i + 1] > starts[i]) classes[i] |= c;
    }

    [GeneratedRegex("[ACGT]{8,}")]
    private static partial Regex DnaRun();

    [GeneratedRegex(@"(https?://|www\.)[^\s""'<>]+|\b[a-z0-9-]+\.(com|org|net|edu|gov|io)(/[^\s""'<>]*)?", RegexOptions.IgnoreCase)]
    private static partial Regex UrlRun();

    [GeneratedRegex("[A-Za-z0-9+/]{20,}={0,2}")]
    private static partial Regex Base64Run();
}
