using System.Globalization;
using System.Text;

namespace Mechanist.Explain;

/// <summary>
/// Explains a unit from its statistics alone, with no language model. It proposes simple conditions (a
/// top token, a token after a given previous token, any token after one, a script or character class,
/// the start of the context), then greedily keeps up to three whose rule best predicts the activations on
/// the explanation examples (Pearson). The sentence says what the rule says; when even the best rule fits
/// poorly it says so ("no simple pattern: ...") instead of pretending.
/// </summary>
public sealed class BuiltinExplainer : IExplainer
{
    /// <summary>Below this in-sample Pearson the explanation is worded as "no simple pattern".</summary>
    public double SimpleFitThreshold { get; init; } = 0.3;
    public int MaxClauses { get; init; } = 3;
    public const string Name = "builtin";
    /// <summary>The explanation of a unit that never fires in its examples (any explainer's run may write it).</summary>
    public const string NeverFires = "never fires in the examples";

    public Task<Explanation> ExplainAsync(UnitEvidence unit, EvidenceSplit split, UnitErrors errors, CancellationToken cancel) =>
        Task.FromResult(Explain(unit, split));

    public Explanation Explain(UnitEvidence unit, EvidenceSplit split)
    {
        var data = Flat.From(split.ExplainAll.ToList());
        float scale = unit.Scale;
        if (data.Truth.All(a => a <= 0) || scale <= 0)
            return new Explanation(NeverFires, Name, null, new BuiltinRule([]), 0);

        var candidates = Candidates(data, scale);
        var chosen = new List<RuleClause>();
        var current = new double[data.Length];
        double fit = 0;
        for (int round = 0; round < MaxClauses; round++)
        {
            RuleClause? best = null;
            double bestFit = fit;
            foreach (var c in candidates)
            {
                if (chosen.Contains(c)) continue;
                double r = Correlation.Pearson(data.Truth, With(current, c, data));
                if (r > bestFit + 0.02) { bestFit = r; best = c; }
            }
            if (best is null) break;
            chosen.Add(best);
            current = With(current, best, data);
            fit = bestFit;
        }
        var rule = new BuiltinRule(chosen);
        return new Explanation(Sentence(chosen, fit, SimpleFitThreshold, data), Name, null, rule, fit);
    }

    static double[] With(double[] current, RuleClause c, Flat data)
    {
        var p = (double[])current.Clone();
        var mask = data.Mask(c);
        for (int i = 0; i < p.Length; i++)
            if (mask[i] && c.Value > p[i]) p[i] = c.Value;
        return p;
    }

    static List<RuleClause> Candidates(Flat data, float scale)
    {
        var list = new List<RuleClause>();
        float ValueOf(IEnumerable<int> where)
        {
            double sum = 0; int n = 0;
            foreach (int i in where) { sum += Math.Max(0, data.Truth[i]); n++; }
            return n == 0 ? 0 : (float)Math.Min(10, 10 * sum / n / scale);
        }

        // Tokens carrying the most activation mass.
        var mass = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < data.Length; i++)
            if (data.Truth[i] > 0) mass[data.Tokens[i]] = mass.GetValueOrDefault(data.Tokens[i]) + data.Truth[i];
        var topTokens = mass.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(15).Select(kv => kv.Key).ToList();
        foreach (var token in topTokens)
        {
            var where = Enumerable.Range(0, data.Length).Where(i => data.Tokens[i] == token).ToList();
            list.Add(new RuleClause("token", ValueOf(where), Token: token));

            // The most common previous token when this token fires, if it dominates.
            var active = where.Where(i => data.Truth[i] > 0 && data.Previous[i] is not null).ToList();
            var prev = active.GroupBy(i => data.Previous[i]!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).FirstOrDefault();
            if (prev is not null && prev.Count() >= 2 && prev.Count() * 2 >= active.Count)
                list.Add(new RuleClause("token", ValueOf(where.Where(i => data.Previous[i] == prev.Key)), Token: token, Previous: prev.Key));
        }

        // Previous tokens that most often precede firing, as "the token after X".
        var prevMass = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < data.Length; i++)
            if (data.Truth[i] > 0 && data.Previous[i] is { } p) prevMass[p] = prevMass.GetValueOrDefault(p) + data.Truth[i];
        foreach (var p in prevMass.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(5).Select(kv => kv.Key))
            list.Add(new RuleClause("after", ValueOf(Enumerable.Range(0, data.Length).Where(i => data.Previous[i] == p)), Previous: p));

        // Scripts and character classes.
        foreach (var c in TokenClasses.All)
        {
            var where = Enumerable.Range(0, data.Length).Where(i => (data.Classes[i] & c) != 0).ToList();
            if (where.Count >= 3 && where.Any(i => data.Truth[i] > 0))
                list.Add(new RuleClause("class", ValueOf(where), Class: c.ToString()));
        }

        // Position in context, when the records know where they start.
        if (data.Positions.Any(p => p >= 0))
            foreach (int k in new[] { 0, 1, 3, 7, 15, 31 })
            {
                var where = Enumerable.Range(0, data.Length).Where(i => data.Positions[i] >= 0 && data.Positions[i] <= k).ToList();
                if (where.Count >= 3) list.Add(new RuleClause("position", ValueOf(where), MaxPosition: k));
            }
        return list.Where(c => c.Value > 0).ToList();
    }

    static string Sentence(List<RuleClause> clauses, double fit, double threshold, Flat data)
    {
        if (clauses.Count == 0 || fit < threshold)
        {
            // Name what carries the activation anyway, so the reader sees the mix.
            var mass = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int i = 0; i < data.Length; i++)
                if (data.Truth[i] > 0) mass[data.Tokens[i]] = mass.GetValueOrDefault(data.Tokens[i]) + data.Truth[i];
            var tokens = mass.OrderByDescending(kv => kv.Value).Take(4).Select(kv => Quote(kv.Key));
            var parts = tokens.Concat(clauses.Where(c => c.Kind == "class").Select(c => ClassName(c.Class!)));
            return $"no simple pattern: fires on a mix of {string.Join(", ", parts.Distinct())}";
        }
        var phrases = new List<string>();
        var plainTokens = clauses.Where(c => c.Kind == "token" && c.Previous is null).ToList();
        if (plainTokens.Count == 1) phrases.Add($"the token {Quote(plainTokens[0].Token!)}");
        else if (plainTokens.Count > 1) phrases.Add($"the tokens {string.Join(", ", plainTokens.Select(c => Quote(c.Token!)))}");
        foreach (var c in clauses.Where(c => c.Kind != "token" || c.Previous is not null))
            phrases.Add(c.Kind switch
            {
                "token" => $"the token {Quote(c.Token!)} after {Quote(c.Previous!)}",
                "after" => $"the token after {Quote(c.Previous!)}",
                "class" => TokenClasses.Describe(Enum.Parse<TokenClass>(c.Class!)),
                "position" => c.MaxPosition == 0 ? "the first token of the context" : $"the first {c.MaxPosition + 1} tokens of the context",
                _ => c.Kind,
            });
        return string.Join("; also ", phrases);
    }

    static string ClassName(string c) => TokenClasses.Describe(Enum.Parse<TokenClass>(c)).Split(" (")[0];

    /// <summary>Shows a token in quotes with its whitespace visible, e.g. ' the' or '\n'.</summary>
    public static string Quote(string token)
    {
        var sb = new StringBuilder("'");
        foreach (char ch in token)
            sb.Append(ch switch { '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", '\'' => "\\'", _ when char.IsControl(ch) => $"\\u{(int)ch:x4}", _ => ch.ToString() });
        return sb.Append('\'').ToString();
    }

    /// <summary>The explanation records flattened to parallel per-token arrays for fast candidate tests.</summary>
    sealed class Flat
    {
        public required string[] Tokens;
        public required string?[] Previous;
        public required TokenClass[] Classes;
        public required int[] Positions;
        public required double[] Truth;
        public int Length => Tokens.Length;

        public static Flat From(List<ActivationRecord> records)
        {
            var tokens = new List<string>(); var prev = new List<string?>(); var classes = new List<TokenClass>();
            var pos = new List<int>(); var truth = new List<double>();
            foreach (var r in records)
            {
                var cls = TokenClasses.Classify(r.Tokens);
                for (int t = 0; t < r.Tokens.Length; t++)
                {
                    tokens.Add(r.Tokens[t]); prev.Add(t > 0 ? r.Tokens[t - 1] : null); classes.Add(cls[t]);
                    pos.Add(r.Position >= 0 ? r.Position + t : -1); truth.Add(Math.Max(0, r.Activations[t]));
                }
            }
            return new Flat { Tokens = tokens.ToArray(), Previous = prev.ToArray(), Classes = classes.ToArray(), Positions = pos.ToArray(), Truth = truth.ToArray() };
        }

        public bool[] Mask(RuleClause c)
        {
            var mask = new bool[Length];
            var cls = c.Class is null ? TokenClass.None : Enum.Parse<TokenClass>(c.Class);
            for (int i = 0; i < mask.Length; i++)
                mask[i] = c.Kind switch
                {
                    "token" => Tokens[i] == c.Token && (c.Previous is null || Previous[i] == c.Previous),
                    "after" => Previous[i] == c.Previous,
                    "class" => (Classes[i] & cls) != 0,
                    "position" => Positions[i] >= 0 && Positions[i] <= c.MaxPosition,
                    _ => false,
                };
            return mask;
        }
    }
}
