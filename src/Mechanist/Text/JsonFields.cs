using System.Text;
using System.Text.Json;

namespace Mechanist.Text;

/// <summary>
/// Picks a few fields out of one JSON object in a single forward pass, by dotted paths into nested objects
/// (<c>text</c>, <c>meta.pile_set_name</c>); everything else is skipped unread. The first occurrence of a
/// duplicated key wins.
/// </summary>
sealed class JsonFields
{
    readonly byte[][][] _paths;

    public JsonFields(IReadOnlyList<string> paths)
    {
        if (paths.Count > 64) throw new ArgumentException("at most 64 paths");
        _paths = paths.Select(p => p.Split('.').Select(Encoding.UTF8.GetBytes).ToArray()).ToArray();
    }

    /// <summary>What was found at one path: its JSON kind (None when absent) and, for scalars, its text.</summary>
    public readonly record struct Value(JsonTokenType Kind, string? Text)
    {
        public bool Found => Kind != JsonTokenType.None;
    }

    /// <summary>Reads the object in <paramref name="json"/>; false when the line is not one JSON object.
    /// Throws <see cref="JsonException"/> on invalid JSON.</summary>
    public bool TryRead(ReadOnlySpan<byte> json, Value[] values)
    {
        Array.Clear(values);
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        ulong all = _paths.Length == 64 ? ulong.MaxValue : (1UL << _paths.Length) - 1;
        ScanObject(ref reader, 0, all, values);
        if (reader.Read()) throw new JsonException("text after the object");
        return true;
    }

    /// <summary>The names of the object's top-level keys (for an error message about a missing field).</summary>
    public static List<string> TopLevelKeys(ReadOnlySpan<byte> json)
    {
        var keys = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return keys;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                keys.Add(reader.GetString()!);
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException) { }
        return keys;
    }

    void ScanObject(ref Utf8JsonReader reader, int depth, ulong candidates, Value[] values)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ulong matched = 0, deeper = 0;
            for (ulong c = candidates; c != 0; c &= c - 1)
            {
                int i = System.Numerics.BitOperations.TrailingZeroCount(c);
                if (!reader.ValueTextEquals(_paths[i][depth])) continue;
                if (_paths[i].Length == depth + 1) matched |= 1UL << i;
                else deeper |= 1UL << i;
            }
            reader.Read();
            for (ulong m = matched; m != 0; m &= m - 1)
            {
                int i = System.Numerics.BitOperations.TrailingZeroCount(m);
                if (!values[i].Found) values[i] = new Value(reader.TokenType, ScalarText(ref reader));
            }
            if (deeper != 0 && reader.TokenType == JsonTokenType.StartObject) ScanObject(ref reader, depth + 1, deeper, values);
            else reader.Skip();
        }
    }

    static string? ScalarText(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => null,
    };
}
