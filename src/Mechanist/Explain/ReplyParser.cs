using System.Text.Json;

namespace Mechanist.Explain;

/// <summary>
/// Reads language-model answers strictly but forgivingly: code fences, prose around the answer and an
/// object wrapped around the array are tolerated; a wrong count or a non-number is a failure with a reason
/// (which the chat client sends back to the model on retry).
/// </summary>
public static class ReplyParser
{
    /// <summary>The text after the last "[EXPLANATION]:" marker (markdown emphasis and quotes removed).</summary>
    public static (string? Value, string? Problem) Explanation(string reply)
    {
        reply = WithoutThinking(reply);
        const string marker = "[EXPLANATION]:";
        int at = reply.LastIndexOf(marker, StringComparison.OrdinalIgnoreCase);
        if (at < 0) return (null, "the last line must start with [EXPLANATION]:");
        string rest = reply[(at + marker.Length)..];
        int newline = rest.IndexOf('\n');
        if (newline >= 0 && rest[..newline].Trim(' ', '*', '"', '`', '\r').Length > 0) rest = rest[..newline];
        string text = string.Join(' ', rest.Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        text = text.Trim(' ', '*', '`');
        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"') text = text[1..^1].Trim();
        if (text.Length == 0) return (null, "the explanation after [EXPLANATION]: is empty");
        return (text.Length > 500 ? text[..500] : text, null);
    }

    /// <summary>A JSON array of exactly <paramref name="count"/> numbers, each clamped to [min, max].</summary>
    public static (float[]? Value, string? Problem) NumberArray(string reply, int count, float min, float max)
    {
        reply = WithoutThinking(reply);
        var arrays = TopLevelArrays(reply);
        if (arrays.Count == 0) return (null, "no JSON array found");
        string? firstProblem = null;
        // The answer usually comes last; prose or reasoning before it may hold other brackets.
        foreach (var candidate in Enumerable.Reverse(arrays))
        {
            var (value, problem) = ParseNumbers(candidate, count, min, max);
            if (problem is null) return (value, null);
            firstProblem ??= problem;
        }
        return (null, firstProblem);
    }

    static (float[]? Value, string? Problem) ParseNumbers(string candidate, int count, float min, float max)
    {
        try
        {
            using var doc = JsonDocument.Parse(candidate, new JsonDocumentOptions { AllowTrailingCommas = true });
            var values = new List<float>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind == JsonValueKind.Number) values.Add(e.GetSingle());
                else if (e.ValueKind == JsonValueKind.True) values.Add(1);
                else if (e.ValueKind == JsonValueKind.False) values.Add(0);
                else if (e.ValueKind == JsonValueKind.String && float.TryParse(e.GetString(), System.Globalization.CultureInfo.InvariantCulture, out float f)) values.Add(f);
                else return (null, $"array element {values.Count + 1} is not a number");
            }
            if (values.Count != count) return (null, $"expected {count} numbers, got {values.Count}");
            if (values.Any(v => !float.IsFinite(v))) return (null, "non-finite number");
            return (values.Select(v => Math.Clamp(v, min, max)).ToArray(), null);
        }
        catch (JsonException)
        {
            return (null, "the array is not valid JSON");
        }
    }

    /// <summary>Reasoning models (DeepSeek-R1, Qwen3 ...) may put their thinking in the content: drop it.</summary>
    static string WithoutThinking(string reply)
    {
        int end = reply.LastIndexOf("</think>", StringComparison.OrdinalIgnoreCase);
        return end >= 0 ? reply[(end + "</think>".Length)..] : reply;
    }

    /// <summary>Every outermost [...] span whose brackets balance, in order.</summary>
    static List<string> TopLevelArrays(string s)
    {
        var spans = new List<string>();
        int depth = 0, start = -1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '[') { if (depth++ == 0) start = i; }
            else if (s[i] == ']' && depth > 0 && --depth == 0) spans.Add(s[start..(i + 1)]);
        }
        return spans;
    }
}
