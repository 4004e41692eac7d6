namespace Mechanist.Text;

/// <summary>
/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters, so that
/// byte-level tokens can be written as strings in vocab.json and merges.txt: printable Latin-1 bytes map
/// to themselves and the rest (controls, space, soft hyphen) to U+0100 onwards, in byte order.
/// </summary>
public static class ByteUnicode
{
    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    public static char ToChar(byte b) => ByteToChar[b];

    public static bool TryToByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);

    /// <summary>The token's bytes written as GPT-2 characters ("Ġthe" for " the").</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++) chars[i] = ByteToChar[b[i]];
        });
    }

    /// <summary>Maps GPT-2 characters back to bytes; false when a character is outside the alphabet.</summary>
    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
            if (!CharToByte.TryGetValue(text[i], out bytes[i])) return false;
        return true;
    }

    static bool IsPrintable(int b) => (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = IsPrintable(b) ? (char)b : (char)next++;
        return map;
    }

    static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (byte)b;
        return map;
    }
}
