using System.Globalization;
using System.Text;

namespace Mechanist.Explain;

/// <summary>Which of the published example formats the explainer prompt uses (METHODS.md §4.1).</summary>
public enum PromptStyle
{
    /// <summary>D24: tokens above 0.3·max wrapped as &lt;&lt;marked&gt;&gt;, then the marked tokens with 0–9 values.</summary>
    Marked,
    /// <summary>TM23 / B23: one "token&lt;TAB&gt;value" line per token, values quantised to 0–9.</summary>
    Tabular,
}

/// <summary>
/// Asks a chat model for a one-sentence explanation from the explanation examples: top contexts, samples
/// from each activation interval (labelled) and a few contexts where the unit is silent.
/// </summary>
public sealed class LlmExplainer(ChatClient chat, PromptStyle style = PromptStyle.Marked) : IExplainer
{
    public int TopExamples { get; init; } = 10;
    public int PerInterval { get; init; } = 2;
    public int RandomExamples { get; init; } = 3;

    const string System =
        "You study one unit (a feature or a neuron) inside a language model. You are shown text excerpts and how " +
        "strongly the unit activates on each token, on a scale from 0 (silent) to 9 (its strongest). Work out what " +
        "the unit responds to: which tokens, in which contexts, and what they have in common (a word, a script, " +
        "a kind of text, a grammatical role, a position). Give one short sentence, general rather than a list of the " +
        "tokens seen. You may reason briefly first. The last line of your answer must be:\n[EXPLANATION]: <your sentence>";

    public async Task<Explanation> ExplainAsync(UnitEvidence unit, EvidenceSplit split, UnitErrors errors, CancellationToken cancel)
    {
        var prompt = Prompt(unit, split);
        string? text = await chat.AskAsync([new ChatMessage("system", System), new ChatMessage("user", prompt)],
            ReplyParser.Explanation, errors, cancel).ConfigureAwait(false);
        return new Explanation(text, "llm", chat.Options.Model);
    }

    public string Prompt(UnitEvidence unit, EvidenceSplit split)
    {
        float scale = unit.Scale;
        var sb = new StringBuilder();
        int n = 0;
        sb.AppendLine("Contexts where the unit activates most strongly:");
        foreach (var r in split.ExplainTop.Take(TopExamples)) Append(sb, ++n, r, scale);
        foreach (var interval in split.ExplainIntervals.Where(i => i.Records.Count > 0))
        {
            sb.AppendLine($"\nContexts from the activation interval {interval.Label}:");
            foreach (var r in interval.Records.Take(PerInterval)) Append(sb, ++n, r, scale);
        }
        var silent = split.ExplainRandom.Take(RandomExamples).ToList();
        if (silent.Count > 0)
        {
            sb.AppendLine("\nRandom contexts (the unit is mostly silent here):");
            foreach (var r in silent) Append(sb, ++n, r, scale);
        }
        return sb.ToString();
    }

    void Append(StringBuilder sb, int number, ActivationRecord r, float scale)
    {
        if (style == PromptStyle.Tabular)
        {
            sb.AppendLine($"Example {number}:\n<start>");
            for (int t = 0; t < r.Tokens.Length; t++)
                sb.Append(Visible(r.Tokens[t])).Append('\t').Append(Level(r.Activations[t], scale)).AppendLine();
            sb.AppendLine("<end>");
            // B23: a sparse record is repeated with only its non-zero tokens, so they are not lost in the zeros.
            int nonZero = r.Activations.Count(a => Level(a, scale) > 0);
            if (nonZero > 0 && nonZero < 0.2 * r.Tokens.Length)
            {
                sb.AppendLine("Same example, non-zero tokens only:\n<start>");
                for (int t = 0; t < r.Tokens.Length; t++)
                    if (Level(r.Activations[t], scale) > 0) sb.Append(Visible(r.Tokens[t])).Append('\t').Append(Level(r.Activations[t], scale)).AppendLine();
                sb.AppendLine("<end>");
            }
            return;
        }
        sb.Append($"Example {number}: ");
        bool open = false;
        var marked = new List<string>();
        for (int t = 0; t < r.Tokens.Length; t++)
        {
            bool mark = r.Activations[t] > 0.3f * scale;
            if (mark && !open) { sb.Append("<<"); open = true; }
            if (!mark && open) { sb.Append(">>"); open = false; }
            sb.Append(r.Tokens[t].Replace("\n", "\\n"));
            if (r.Activations[t] > 0 && Level(r.Activations[t], scale) > 0)
                marked.Add($"({BuiltinExplainer.Quote(r.Tokens[t])}, {Level(r.Activations[t], scale)})");
        }
        if (open) sb.Append(">>");
        sb.AppendLine();
        if (marked.Count > 0) sb.AppendLine("Activations: " + string.Join(", ", marked));
    }

    /// <summary>0–9, as TM23 quantised activations for its prompts.</summary>
    internal static int Level(float a, float scale) => Math.Min(9, Scoring.Quantise(a, scale));

    internal static string Visible(string token) => token.Replace("\n", "\\n").Replace("\t", "\\t");
}

/// <summary>
/// Simulation without logprobs (METHODS.md §4.3): the model sees the explanation and the record's tokens
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
        for (int t = 0; t < record.Tokens.Length; t++) sb.AppendLine($"{t + 1}\t{BuiltinExplainer.Quote(record.Tokens[t])}");
        sb.AppendLine($"\nAnswer with a JSON array of exactly {record.Tokens.Length} integers from 0 to 10.");
        int count = record.Tokens.Length;
        return chat.AskAsync([new ChatMessage("system", System), new ChatMessage("user", sb.ToString())],
            reply => ReplyParser.NumberArray(reply, count, 0, 10), errors, cancel);
    }
}

/// <summary>Detection (METHODS.md §4.2): contexts shown as plain text, five per prompt, answered as a 0/1 list.</summary>
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
                sb.AppendLine($"Text {i + 1}: {string.Concat(contexts[start + i].Tokens).Replace("\n", "\\n")}");
            sb.AppendLine($"\nAnswer with a JSON array of exactly {n} values, each 0 or 1.");
            var answer = await chat.AskAsync([new ChatMessage("system", System), new ChatMessage("user", sb.ToString())],
                reply => ReplyParser.NumberArray(reply, n, 0, 1), errors, cancel).ConfigureAwait(false);
            if (answer is null) continue;
            for (int i = 0; i < n; i++) result[start + i] = answer[i] >= 0.5f ? 1 : 0;
        }
        return result;
    }
}
