using System.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class RoundTripTests
{
    [Theory]
    [InlineData("")]
    [InlineData("plain ascii, with punctuation!?")]
    [InlineData("CRLF\r\nline\r\n\r\n")]
    [InlineData("controls \u0000\u0001\u0007\u001b[0m\u007f")]
    [InlineData("emoji 👨‍👩‍👧‍👦 🏳️‍🌈 ✔︎")]
    [InlineData("   \t\t  \n\n\n   ")]
    [InlineData("<|endoftext|> inside text <|endoftext|>")]
    [InlineData("Ünïcödé ñ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 漢字 かな 한글 עברית العربية")]
    public void DecodeOfEncodeIsTheText(string text)
    {
        var tokenizer = Gpt2.Tokenizer;
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, allowSpecial: true)));
    }

    [Fact]
    public void RandomUnicodeRoundTrips()
    {
        var tokenizer = Gpt2.Tokenizer;
        var random = new Random(99);
        var sb = new StringBuilder();
        for (int trial = 0; trial < 500; trial++)
        {
            sb.Clear();
            int length = random.Next(0, 60);
            for (int i = 0; i < length; i++)
            {
                int cp;
                do cp = random.Next(4) == 0 ? random.Next(0x110000) : random.Next(0x300);
                while (cp is >= 0xD800 and <= 0xDFFF);
                sb.Append(char.ConvertFromUtf32(cp));
            }
            string text = sb.ToString();
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void HeapAndScanMergeAlike()
    {
        var encoder = new WordEncoder(Gpt2.Tokenizer);
        var random = new Random(3);
        var pieces = Gpt2.Golden().Take(60).SelectMany(g => PreTokenizer.Split(g.Text)).Distinct().ToList();
        pieces.Add(new string(Enumerable.Range(0, 3000).Select(_ => "ACGT"[random.Next(4)]).ToArray()));
        pieces.Add(new string(' ', 500));
        pieces.Add(string.Concat(Enumerable.Repeat("abracadabra", 40)));
        foreach (string piece in pieces)
            Assert.Equal(encoder.EncodePiece(piece, heap: false), encoder.EncodePiece(piece, heap: true));
    }

    [Fact]
    public void VeryLongPieceRoundTrips()
    {
        // 256 KB without a space is one piece, merged as a whole. No time bound is asserted (a quadratic merge scan
        // would make it take minutes, which shows only as a slow suite).
        var random = new Random(5);
        string letters = new(Enumerable.Range(0, 1 << 18).Select(_ => (char)('a' + random.Next(26))).ToArray());
        var tokenizer = Gpt2.Tokenizer;
        Assert.Equal(letters, tokenizer.Decode(tokenizer.Encode(letters)));
    }
}
