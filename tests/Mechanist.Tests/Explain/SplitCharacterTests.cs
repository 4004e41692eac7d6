using Mechanist.Explain;
using Mechanist.Tests.Text;

namespace Mechanist.Tests.Explain;

/// <summary>
/// GPT-2 splits Hebrew letters over tokens ("\xD7" then "\x9D" for ם): the explain stage classifies such tokens by
/// the script of the character they are part of and shows the language model the joined text, not escapes.
/// </summary>
public class SplitCharacterTests
{
    static (string[] Tokens, bool[] Hebrew) Window()
    {
        var gpt2 = Gpt2.Tokenizer;
        int[] ids = gpt2.Encode(TokenDisplayTests.Hebrew);
        return (ids.Select(gpt2.TokenText).ToArray(), ids.Select(id => gpt2.TokenBytes(id).IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0).ToArray());
    }

    [Fact]
    public void A_token_holding_part_of_a_hebrew_letter_is_hebrew()
    {
        var (tokens, hebrew) = Window();
        Assert.Contains(tokens, t => t.Contains(@"\x"));
        var classes = TokenClasses.Classify(tokens);
        for (int i = 0; i < tokens.Length; i++) Assert.Equal(hebrew[i], classes[i].HasFlag(TokenClass.Hebrew));
    }

    [Fact]
    public void Llm_prompts_show_split_letters_joined()
    {
        var (tokens, hebrew) = Window();
        var acts = hebrew.Select(h => h ? 3f : 0f).ToArray();
        var records = Enumerable.Range(0, 10).Select(_ => new ActivationRecord(tokens, acts)).ToList();
        var unit = new UnitEvidence(0, "feature", 0.5, 3, records, [], []);
        using var chat = new ChatClient(new ChatOptions("http://127.0.0.1:9", "unused"));
        foreach (var style in new[] { PromptStyle.Marked, PromptStyle.Tabular })
        {
            string prompt = new LlmExplainer(chat, style).Prompt(unit, unit.Split());
            Assert.DoesNotContain(@"\x", prompt);
            Assert.Contains(style == PromptStyle.Marked ? "שלום" : "ם\t9", prompt);
        }
    }
}
