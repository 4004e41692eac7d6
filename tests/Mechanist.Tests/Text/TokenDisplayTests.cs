using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

/// <summary>
/// Tokens that hold part of a UTF-8 character (GPT-2 splits Hebrew and Hangul inside letters) are shown with
/// <c>\xD7</c>-style escapes on their own and as the joined character in a window (TokenDisplay's rule).
/// </summary>
public class TokenDisplayTests
{
    public const string Hebrew = "שלום עולם, מה שלומך היום?";
    public const string Korean = "안녕하세요 세계, 오늘 날씨가 좋네요";

    static bool IsWhole(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    [Theory]
    [InlineData(Hebrew)]
    [InlineData(Korean)]
    public void A_token_holding_part_of_a_character_shows_escapes_not_byte_stand_ins(string text)
    {
        var gpt2 = Gpt2.Tokenizer;
        int[] ids = gpt2.Encode(text);
        var partial = ids.Where(id => !IsWhole(gpt2.TokenBytes(id))).ToArray();
        Assert.NotEmpty(partial); // the test needs GPT-2 to split a character, which it does for both scripts
        foreach (int id in ids)
        {
            string shown = gpt2.TokenText(id);
            Assert.DoesNotContain('Ġ', shown); // GPT-2's stand-in for a space byte
            Assert.DoesNotContain('×', shown); // ... for 0xD7, the lead byte of Hebrew letters
            Assert.Equal(gpt2.TokenBytes(id).ToArray(), TokenDisplay.Bytes(shown));
            if (IsWhole(gpt2.TokenBytes(id))) Assert.Equal(Encoding.UTF8.GetString(gpt2.TokenBytes(id)), shown);
            else Assert.Matches(@"\\x[89A-F][0-9A-F]", shown);
        }
        // GPT-2 keeps ש ל ו whole but splits ם as [D7][9D], and " ע" as [20 D7][A2]; 안 (EC 95 88) byte by byte.
        string[] expected = text == Hebrew ? ["ש", "ל", "ו", @"\xD7", @"\x9D", @" \xD7", @"\xA2"] : [@"\xEC", @"\x95", @"\x88"];
        Assert.Equal(expected, ids.Take(expected.Length).Select(gpt2.TokenText));
    }

    [Theory]
    [InlineData(Hebrew)]
    [InlineData(Korean)]
    public void A_window_shows_each_split_character_joined_on_the_token_that_completes_it(string text)
    {
        var gpt2 = Gpt2.Tokenizer;
        int[] ids = gpt2.Encode(text);
        var alone = ids.Select(gpt2.TokenText).ToArray();
        var shown = TokenDisplay.InContext(alone);

        Assert.Equal(ids.Length, shown.Length);
        Assert.Equal(text, string.Concat(shown.Where(s => s != TokenDisplay.Pending)));
        Assert.Equal(text, TokenDisplay.Joined(alone));
        Assert.All(shown, s => Assert.DoesNotContain(@"\x", s)); // every character is complete somewhere in the window

        string p = TokenDisplay.Pending;
        string[] opening = text == Hebrew ? ["ש", "ל", "ו", p, "ם", " ", "ע"] : [p, p, "안"];
        Assert.Equal(opening, shown.Take(opening.Length));

        // Each token shows the characters whose last byte it holds (none: the marker).
        var bytes = gpt2.DecodeBytes(ids);
        var ends = new List<(int LastByte, string Char)>();
        for (int at = 0; at < bytes.Length;)
        {
            Assert.Equal(System.Buffers.OperationStatus.Done, Rune.DecodeFromUtf8(bytes.AsSpan(at), out var rune, out int n));
            ends.Add((at + n - 1, rune.ToString()));
            at += n;
        }
        for (int i = 0, start = 0; i < ids.Length; i++)
        {
            int end = start + gpt2.TokenBytes(ids[i]).Length;
            string completes = string.Concat(ends.Where(e => e.LastByte >= start && e.LastByte < end).Select(e => e.Char));
            Assert.Equal(completes.Length == 0 ? TokenDisplay.Pending : completes, shown[i]);
            start = end;
        }

        // Whole-text tokens are left as they are.
        Assert.Equal(["The", " cat"], TokenDisplay.InContext(["The", " cat"]));
    }

    [Fact]
    public void Stray_bytes_stay_escapes_and_a_literal_backslash_x_round_trips()
    {
        // A lead byte that the next token does not complete, and a window that ends inside a character.
        Assert.Equal([@"a\xD7", "b", @"\xE4\xB8"], TokenDisplay.InContext(new[] { "a"u8.ToArray().Append((byte)0xD7).ToArray(), "b"u8.ToArray(), new byte[] { 0xE4, 0xB8 } }));
        // Text that looks like an escape is kept apart from one.
        foreach (string literal in new[] { @"\xD7", @"\\xD7", @"C:\x", @"\", @"\x5C" })
        {
            var b = Encoding.UTF8.GetBytes(literal);
            string shown = TokenDisplay.Of(b);
            Assert.Equal(b, TokenDisplay.Bytes(shown));
        }
        Assert.Equal(@"\x5CxD7", TokenDisplay.Of(@"\xD7"u8));
        Assert.Equal(@"C:\x", TokenDisplay.Of(@"C:\x"u8));
        Assert.Equal(@"\\xD7", TokenDisplay.Of([(byte)'\\', 0xD7]));
        Assert.Equal(new byte[] { (byte)'\\', 0xD7 }, TokenDisplay.Bytes(@"\\xD7"));
    }

    [Fact]
    public void Every_gpt2_token_shown_alone_gives_back_its_bytes()
    {
        var gpt2 = Gpt2.Tokenizer;
        for (int id = 0; id < gpt2.VocabSize; id++)
            Assert.Equal(gpt2.TokenBytes(id).ToArray(), TokenDisplay.Bytes(gpt2.TokenText(id)));
    }
}
