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
        int start = reply.IndexOf('[');
        int end = reply.LastIndexOf(']');
        if (start < 0 || end < start) return (null, "no JSON array found");
        // Try the widest bracketed span first, then the first complete array (prose may contain brackets).
        foreach (var candidate in new[] { reply[start..(end + 1)], FirstArray(reply, start) })
        {
            if (candidate is null) continue;
            try
            {
                using var doc = JsonDocument.Parse(candidate, new JsonDocumentOptions { AllowTrailingCommas = true });
                if (doc.RootElement.ValueKind != JsonValueKind.Array) continue;
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
            catch (JsonException) { }
        }
        return (null, "the array is not valid JSON");
    }

    static string? FirstArray(string s, int start)
    {
        int depth = 0;
        for (int i = start; i < s.Length; i++)
        {
            if (s[i] == '[') depth++;
            else if (s[i] == ']' && --depth == 0) return s[start..(i + 1)];
        }
        return null;
    }
}
