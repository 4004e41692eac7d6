using System.Globalization;
using System.Text;
using Mechanist.Text;

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
    public const string Name = "llm";
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
        return new Explanation(text, Name, chat.Options.Model);
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
        // Characters split over byte-level tokens are shown joined, as on the browser's pages (TokenDisplay).
        var shown = TokenDisplay.InContext(r.Tokens);
        if (style == PromptStyle.Tabular)
        {
            sb.AppendLine($"Example {number}:\n<start>");
            for (int t = 0; t < r.Tokens.Length; t++)
                sb.Append(Visible(shown[t])).Append('\t').Append(Level(r.Activations[t], scale)).AppendLine();
            sb.AppendLine("<end>");
            // B23: a sparse record is repeated with only its non-zero tokens, so they are not lost in the zeros.
            int nonZero = r.Activations.Count(a => Level(a, scale) > 0);
            if (nonZero > 0 && nonZero < 0.2 * r.Tokens.Length)
            {
                sb.AppendLine("Same example, non-zero tokens only:\n<start>");
                for (int t = 0; t < r.Tokens.Length; t++)
                    if (Level(r.Activations[t], scale) > 0) sb.Append(Visible(shown[t])).Append('\t').Append(Level(r.Activations[t], scale)).AppendLine();
                sb.AppendLine("<end>");
            }
            return;
        }
        sb.Append($"Example {number}: ");
        bool open = false;
        var marked = new List<string>();
        var text = TokenDisplay.InContext(r.Tokens, pending: "");
        for (int t = 0; t < r.Tokens.Length; t++)
        {
            bool mark = r.Activations[t] > 0.3f * scale;
            if (mark && !open) { sb.Append("<<"); open = true; }
            if (!mark && open) { sb.Append(">>"); open = false; }
            sb.Append(text[t].Replace("\n", "\\n"));
            if (r.Activations[t] > 0 && Level(r.Activations[t], scale) > 0)
                marked.Add($"({BuiltinExplainer.Quote(shown[t])}, {Level(r.Activations[t], scale)})");
        }
        if (open) sb.Append(">>");
        sb.AppendLine();
        if (marked.Count > 0) sb.AppendLine("Activations: " + string.Join(", ", marked));
    }

    /// <summary>0–9, as TM23 quantised activations for its prompts.</summary>
    internal static int Level(float a, float scale) => Math.Min(9, Scoring.Quantise(a, scale));

    internal static string Visible(string token) => token.Replace("\n", "\\n").Replace("\t", "\\t");
}
