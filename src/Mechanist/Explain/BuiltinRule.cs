namespace Mechanist.Explain;

/// <summary>
/// One condition of a built-in explanation and the 0–10 activation it predicts where it holds.
/// Kinds: "token" (the token equals <see cref="Token"/>, and follows <see cref="Previous"/> when given),
/// "after" (any token that follows <see cref="Previous"/>), "class" (the token is in <see cref="Class"/>,
/// a <see cref="TokenClass"/> name), "position" (the token's position in its context is at most
/// <see cref="MaxPosition"/>).
/// </summary>
public sealed record RuleClause(string Kind, float Value, string? Token = null, string? Previous = null,
    string? Class = null, int? MaxPosition = null)
{
    /// <summary>A token in one context ("token" with a previous token): its value replaces the token's own.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsContextOverride => Kind == "token" && Previous is not null;

    public bool Matches(ActivationRecord record, TokenClass[] classes, int t) => Kind switch
    {
        "token" => record.Tokens[t] == Token && (Previous is null || (t > 0 && record.Tokens[t - 1] == Previous)),
        "after" => t > 0 && record.Tokens[t - 1] == Previous,
        "class" => Enum.TryParse<TokenClass>(Class, out var c) && (classes[t] & c) != 0,
        "position" => record.Position >= 0 && record.Position + t <= MaxPosition,
        _ => false,
    };
}

/// <summary>
/// The structured form of a built-in explanation, kept beside its sentence so the rule simulator can
/// predict activations from exactly what the explanation says. A token starts from its value in
/// <see cref="Tokens"/> (the top-token set: each token's mean activation on the explanation examples, 0–10; 0 if
/// absent); a "token after" clause (<see cref="RuleClause.Token"/> with <see cref="RuleClause.Previous"/>)
/// replaces that value in its context; every other clause raises the token to its value where it holds.
/// </summary>
public sealed record BuiltinRule(IReadOnlyList<RuleClause> Clauses)
{
    /// <summary>Token → 0–10 value: the top-token set the rule builds on; null when the rule is clauses only.</summary>
    public IReadOnlyDictionary<string, float>? Tokens { get; init; }

    public float[] Predict(ActivationRecord record)
    {
        var p = new float[record.Tokens.Length];
        if (Clauses.Count == 0 && Tokens is null) return p;
        var classes = Clauses.Any(c => c.Kind == "class") ? TokenClasses.Classify(record.Tokens) : new TokenClass[p.Length];
        for (int t = 0; t < p.Length; t++)
        {
            if (Tokens is not null && Tokens.TryGetValue(record.Tokens[t], out float v)) p[t] = v;
            foreach (var clause in Clauses)
                if (clause.IsContextOverride && clause.Matches(record, classes, t)) p[t] = clause.Value;
            foreach (var clause in Clauses)
                if (!clause.IsContextOverride && clause.Value > p[t] && clause.Matches(record, classes, t)) p[t] = clause.Value;
        }
        return p;
    }
}
