using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class Gpt2GoldenTests
{
    [Fact]
    public void EveryGoldenIdMatches()
    {
        var tokenizer = Gpt2.Tokenizer;
        int texts = 0, mismatches = 0;
        var firstFailures = new List<string>();
        foreach (var (source, text, ids) in Gpt2.Golden())
        {
            texts++;
            int[] got = tokenizer.Encode(text, allowSpecial: true);
            if (!got.AsSpan().SequenceEqual(ids))
            {
                mismatches++;
                int at = 0;
                while (at < Math.Min(got.Length, ids.Length) && got[at] == ids[at]) at++;
                if (firstFailures.Count < 5) firstFailures.Add($"{source}: first difference at id {at} of {ids.Length}");
            }
            Assert.Equal(text, tokenizer.Decode(got));
        }
        Assert.Equal(321, texts);
        Assert.True(mismatches == 0, $"{mismatches} of {texts} texts differ: " + string.Join("; ", firstFailures));
    }

    [Fact]
    public void EndOfTextIsSpecialOnlyWhenAllowed()
    {
        var tokenizer = Gpt2.Tokenizer;
        Assert.Equal(50256, tokenizer.EndOfText);
        Assert.Equal([50256], tokenizer.Encode("<|endoftext|>", allowSpecial: true));
        int[] asText = tokenizer.Encode("<|endoftext|>");
        Assert.True(asText.Length > 1 && !asText.Contains(50256));
        Assert.Equal("<|endoftext|>", tokenizer.Decode(asText));
    }

    [Fact]
    public void KnownSentence()
    {
        // "Hello world" is [15496, 995] in GPT-2.
        Assert.Equal([15496, 995], Gpt2.Tokenizer.Encode("Hello world"));
    }

    [Fact]
    public void LongTextEncodesInParallelExactlyAsPieces()
    {
        var tokenizer = Gpt2.Tokenizer;
        var texts = Gpt2.Golden().Select(g => g.Text).ToList();
        string joined = string.Join("\n\n", texts);
        Assert.True(joined.Length > 1 << 19);
        var sequential = new List<int>();
        tokenizer.EncodeSingleThreaded(joined, sequential);
        Assert.Equal(sequential, tokenizer.Encode(joined));
        Assert.Equal(joined, tokenizer.Decode(sequential.ToArray()));
    }
}
