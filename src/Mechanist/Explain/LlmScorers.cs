using System.Text;
using Mechanist.Text;

namespace Mechanist.Explain;

/// <summary>
/// Simulation without logprobs (docs/METHODS.md §4.3): the model sees the explanation and the record's tokens
/// numbered, and answers a JSON array of integers 0–10, one per token. A wrong length or malformed JSON
/// is retried with the problem named; a record that never parses is counted as failed.
/// </summary>
public sealed class LlmSimulator(ChatClient chat) : ISimulator
{
    public string Name => "llm";

    const string System =
        "You predict how strongly a unit of a language model activates on each token of a text, given only an " +
        "explanation of what the unit does. 0 means silent, 10 means as strong as it ever gets. Most tokens are " +
        "usually 0. Reply with only a JSON array of integers, one per numbered token, in order.";

    public Task<float[]?> SimulateAsync(Explanation explanation, ActivationRecord record, UnitErrors errors, CancellationToken cancel)
    {
        if (explanation.Text is null || record.Tokens.Length == 0) return Task.FromResult<float[]?>(null);
        var sb = new StringBuilder();
        sb.AppendLine($"Explanation of the unit: {explanation.Text}");
        sb.AppendLine($"\nThe text has {record.Tokens.Length} tokens:");
        var shown = TokenDisplay.InContext(record.Tokens); // characters split over tokens shown joined
        for (int t = 0; t < record.Tokens.Length; t++) sb.AppendLine($"{t + 1}\t{BuiltinExplainer.Quote(shown[t])}");
        sb.AppendLine($"\nAnswer with a JSON array of exactly {record.Tokens.Length} integers from 0 to 10.");
        int count = record.Tokens.Length;
        return chat.AskAsync([new ChatMessage("system", System), new ChatMessage("user", sb.ToString())],
            reply => ReplyParser.NumberArray(reply, count, 0, 10), errors, cancel);
    }
}

/// <summary>Detection (docs/METHODS.md §4.2): contexts shown as plain text, five per prompt, answered as a 0/1 list.</summary>
public sealed class LlmDetector(ChatClient chat) : IDetector
{
    public string Name => "llm";
    public int PerPrompt { get; init; } = 5;

    const string System =
        "You decide whether a unit of a language model activates anywhere in each of several texts, given an " +
        "explanation of what the unit does. Reply with only a JSON array with one entry per text, in order: 1 if " +
        "the unit activates in that text, 0 if not.";

    public async Task<int[]> DetectAsync(Explanation explanation, IReadOnlyList<ActivationRecord> contexts, UnitErrors errors, CancellationToken cancel)
    {
        var result = Enumerable.Repeat(-1, contexts.Count).ToArray();
        if (explanation.Text is null) return result;
        for (int start = 0; start < contexts.Count; start += PerPrompt)
        {
            int n = Math.Min(PerPrompt, contexts.Count - start);
            var sb = new StringBuilder($"Explanation of the unit: {explanation.Text}\n\n");
            for (int i = 0; i < n; i++)
                sb.AppendLine($"Text {i + 1}: {TokenDisplay.Joined(contexts[start + i].Tokens).Replace("\n", "\\n")}");
            sb.AppendLine($"\nAnswer with a JSON array of exactly {n} values, each 0 or 1.");
            var answer = await chat.AskAsync([new ChatMessage("system", System), new ChatMessage("user", sb.ToString())],
                reply => ReplyParser.NumberArray(reply, n, 0, 1), errors, cancel).ConfigureAwait(false);
            if (answer is null) continue;
            for (int i = 0; i < n; i++) result[start + i] = answer[i] >= 0.5f ? 1 : 0;
        }
        return result;
    }
}
