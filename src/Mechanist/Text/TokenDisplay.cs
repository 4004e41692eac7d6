using System.Buffers;
using System.Globalization;
using System.Text;

namespace Mechanist.Text;

/// <summary>
/// How a byte-level token is shown to a person (browser pages, static export, the playground, explanations).
/// <para>
/// A token on its own (<see cref="Of"/>: vocabulary lists, top-token chips, logit tables, tooltips): its bytes
/// as text where they are valid UTF-8, and each byte that is only part of a character (byte-level BPE splits
/// Hebrew, Hangul, CJK and emoji inside a character) as a <c>\xD7</c>-style escape, as SAEDashboard and
/// Neuronpedia show them, never as GPT-2's byte stand-ins (<c>Ġ×</c>). A literal backslash that would read as
/// such an escape is itself written <c>\x5C</c>, so <see cref="Bytes"/> recovers the exact bytes.
/// </para>
/// <para>
/// Tokens in a context (<see cref="InContext(IReadOnlyList{string}, string)"/>: a window of consecutive tokens): the
/// window's bytes are decoded together, so a character split over tokens reads as the character. Each character
/// is shown on the token holding its <em>last</em> byte, and a token holding only the first part of a character
/// completed later shows <see cref="Pending"/>. Why the last byte: a model's activation at a position has seen
/// the bytes up to that token only, so the character first exists, for the model, at the token that completes
/// it; shading stays per token (one span per token, its own activation) and the tooltip shows the token alone
/// (<see cref="Of"/>, with escapes), so nothing about the split is hidden. Bytes that no neighbour completes
/// stay escapes. Joining the concatenated displays (without the markers) gives the window's text.
/// </para>
/// </summary>
public static class TokenDisplay
{
    /// <summary>Shown for a token whose bytes only begin a character that a following token completes (U+25CC DOTTED CIRCLE).</summary>
    public const string Pending = "\u25CC";

    /// <summary>A token on its own: valid UTF-8 as text, stray bytes as <c>\xHH</c>.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => InContext([bytes.ToArray()])[0];

    /// <summary>The bytes a display string stands for: <c>\xHH</c> escapes as bytes, everything else as UTF-8.</summary>
    public static byte[] Bytes(string display)
    {
        if (!display.Contains(@"\x", StringComparison.Ordinal)) return Encoding.UTF8.GetBytes(display);
        var bytes = new List<byte>(display.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < display.Length;)
        {
            if (IsEscape(display, i))
            {
                bytes.Add(byte.Parse(display.AsSpan(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 4;
                continue;
            }
            if (Rune.DecodeFromUtf16(display.AsSpan(i), out var rune, out int used) != OperationStatus.Done) rune = Rune.ReplacementChar;
            int n = rune.EncodeToUtf8(utf8);
            for (int k = 0; k < n; k++) bytes.Add(utf8[k]);
            i += Math.Max(1, used);
        }
        return [.. bytes];
    }

    /// <summary>
    /// Display strings for a window of consecutive tokens given as <see cref="Of"/> strings (what a feature
    /// store's vocabulary holds): characters split over tokens joined, see the class summary. Running text
    /// (where tokens are not told apart) passes "" as <paramref name="pending"/>: the strings then concatenate
    /// to exactly the window's text.
    /// </summary>
    public static string[] InContext(IReadOnlyList<string> tokens, string pending = Pending)
    {
        bool split = false;
        for (int i = 0; i < tokens.Count && !split; i++) split = tokens[i].Contains(@"\x", StringComparison.Ordinal);
        if (!split) return [.. tokens]; // every token is whole text: nothing to join
        var bytes = new byte[tokens.Count][];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Bytes(tokens[i]);
        return InContext(bytes, pending);
    }

    /// <summary>Display strings for a window of consecutive tokens given as their bytes.</summary>
    public static string[] InContext(IReadOnlyList<byte[]> tokens, string pending = Pending)
    {
        var pieces = Pieces(tokens, everyHolder: false);
        var shown = new string[tokens.Count];
        for (int i = 0; i < shown.Length; i++)
            shown[i] = pieces[i].Count > 0 ? Render(pieces[i]) : tokens[i].Length > 0 ? pending : "";
        return shown;
    }

    /// <summary>
    /// The characters each token of a window holds at least one byte of (a character split over three tokens
    /// counts for all three; stray bytes are left out): what a token is part of, for classifying it by script.
    /// </summary>
    public static string[] Touching(IReadOnlyList<string> tokens)
    {
        if (!tokens.Any(t => t.Contains(@"\x", StringComparison.Ordinal))) return [.. tokens];
        var pieces = Pieces([.. tokens.Select(Bytes)], everyHolder: true);
        return [.. pieces.Select(Render)];
    }

    /// <summary>
    /// Decodes the window's bytes together and gives each token its pieces: each character to the token holding
    /// its last byte (or, with <paramref name="everyHolder"/>, to every token holding one of its bytes), each
    /// byte that completes no character to its own token (left out with <paramref name="everyHolder"/>).
    /// </summary>
    static List<int>[] Pieces(IReadOnlyList<byte[]> tokens, bool everyHolder)
    {
        int total = 0;
        foreach (var t in tokens) total += t.Length;
        var all = new byte[total];
        var owner = new int[total];
        for (int i = 0, at = 0; i < tokens.Count; i++)
        {
            tokens[i].CopyTo(all, at);
            owner.AsSpan(at, tokens[i].Length).Fill(i);
            at += tokens[i].Length;
        }
        var pieces = new List<int>[tokens.Count];
        for (int i = 0; i < pieces.Length; i++) pieces[i] = [];
        for (int at = 0; at < total;)
        {
            var status = Rune.DecodeFromUtf8(all.AsSpan(at), out var rune, out int consumed);
            if (status != OperationStatus.Done) { if (!everyHolder) for (int k = 0; k < consumed; k++) pieces[owner[at + k]].Add(RawByte(all[at + k])); }
            else if (!everyHolder) pieces[owner[at + consumed - 1]].Add(rune.Value);
            else for (int t = owner[at]; t <= owner[at + consumed - 1]; t++) pieces[t].Add(rune.Value);
            at += consumed;
        }
        return pieces;
    }

    /// <summary>The window's text: the tokens' bytes decoded together, stray bytes as escapes.</summary>
    public static string Joined(IReadOnlyList<string> tokens) => string.Concat(InContext(tokens, ""));

    /// <summary>A piece is a Unicode scalar (≥ 0) or a byte that forms no character here (negative).</summary>
    static int RawByte(byte b) => -1 - b;

    static string Render(List<int> pieces)
    {
        var sb = new StringBuilder(pieces.Count + 8);
        for (int i = 0; i < pieces.Count; i++)
        {
            int p = pieces[i];
            if (p < 0) Escape(sb, (byte)(-1 - p));
            else if (p == '\\' && i + 3 < pieces.Count && pieces[i + 1] == 'x' && IsHex(pieces[i + 2]) && IsHex(pieces[i + 3])) Escape(sb, (byte)'\\');
            else sb.Append(new Rune(p).ToString());
        }
        return sb.ToString();
    }

    static void Escape(StringBuilder sb, byte b) => sb.Append(@"\x").Append(b.ToString("X2", CultureInfo.InvariantCulture));

    static bool IsHex(int c) => c < 128 && char.IsAsciiHexDigit((char)c);

    static bool IsEscape(string s, int i) =>
        s[i] == '\\' && i + 3 < s.Length && s[i + 1] == 'x' && char.IsAsciiHexDigit(s[i + 2]) && char.IsAsciiHexDigit(s[i + 3]);
}
