using System.Globalization;
using System.Text;

namespace Mechanist.Explain;

/// <summary>
/// Explains a unit from its statistics alone, with no language model. It builds on the top-token set (each
/// token's mean activation on the explanation examples, what the top-token control predicts) and adds the
/// context it sees: a token after a given previous token, any token after one, a script or character class,
/// the start of the context. Which of these it keeps is decided by cross-validation over the explanation
/// examples (values fitted on four fifths of the records, predictions scored on the rest), greedily, up to
/// <see cref="MaxClauses"/> conditions, from two starts: the top-token set, and nothing (a plain rule such as
/// "Hebrew text" or "the first token of the context" replaces the token set when it predicts clearly better). So the rule
/// predicts held-out examples at least about as well as the control, and better where context matters. The
/// sentence says what the rule says; when even the best rule fits poorly it says so ("no simple pattern: ...").
/// </summary>
public sealed class BuiltinExplainer : IExplainer
{
    /// <summary>Below this in-sample Pearson the explanation is worded as "no simple pattern".</summary>
    public double SimpleFitThreshold { get; init; } = 0.3;
    public int MaxClauses { get; init; } = 3;
    /// <summary>Tokens seen fewer times than this in the explanation examples stay out of the token set (as in the control).</summary>
    public int TopTokenMinCount { get; init; } = 2;
    public const string Name = "builtin";
    /// <summary>The explanation of a unit that never fires in its examples (any explainer's run may write it).</summary>
    public const string NeverFires = "never fires in the examples";

    const int Folds = 5;
    /// <summary>A condition is kept only if it raises the cross-validated correlation by this much.</summary>
    const double MinGain = 0.02;

    public Task<Explanation> ExplainAsync(UnitEvidence unit, EvidenceSplit split, UnitErrors errors, CancellationToken cancel) =>
        Task.FromResult(Explain(unit, split));

    public Explanation Explain(UnitEvidence unit, EvidenceSplit split)
    {
        var data = Flat.From(split.ExplainAll.ToList());
        float scale = unit.Scale;
        if (data.Truth.All(a => a <= 0) || scale <= 0)
            return new Explanation(NeverFires, Name, null, new BuiltinRule([]), 0);

        var candidates = Candidates(data);
        var folds = Enumerable.Range(0, Folds).Select(f => new Estimate(data, scale, TopTokenMinCount, i => data.Record[i] % Folds != f)).ToList();
        var all = new Estimate(data, scale, TopTokenMinCount, _ => true);

        // Two starts: on the top-token set, and from nothing. The plain rule replaces the token start's best rule only
        // if it beats it by MinGain, as every added condition must: the token set alone predicts exactly what the
        // top-token control does, and rules chosen on smaller cross-validated differences fell below the control on
        // held-out examples as often as above it (on the quick demo, ties going to the plain rule cost 0.003 of the
        // median score and put 681 of 4,096 features below the control).
        var withTokens = Greedy(data, folds, candidates, useTokens: true);
        var plain = Greedy(data, folds, candidates, useTokens: false);
        var (useTokens, chosen, _) = plain.Score >= withTokens.Score + MinGain ? plain : withTokens;

        var tokens = useTokens ? all.Tokens : null;
        var clauses = chosen.Select(c => c with { Value = all.Value(c) }).ToList();
        double fit = Correlation.Pearson(data.Truth, all.Predict(tokens is not null, clauses));
        var rule = new BuiltinRule(clauses) { Tokens = tokens };
        return new Explanation(Sentence(rule, fit, SimpleFitThreshold, data), Name, null, rule, fit);
    }

    /// <summary>Adds, one at a time, the condition that most raises the cross-validated correlation.</summary>
    (bool UseTokens, List<RuleClause> Chosen, double Score) Greedy(Flat data, List<Estimate> folds, List<RuleClause> candidates, bool useTokens)
    {
        var chosen = new List<RuleClause>();
        double score = useTokens ? CrossValidated(data, folds, true, chosen) : 0;
        for (int round = 0; round < MaxClauses; round++)
        {
            RuleClause? best = null;
            double bestScore = score + MinGain;
            foreach (var c in candidates)
            {
                if (chosen.Contains(c)) continue;
                double r = CrossValidated(data, folds, useTokens, [.. chosen, c]);
                if (r > bestScore) { bestScore = r; best = c; }
            }
            if (best is null) break;
            chosen.Add(best);
            score = bestScore;
        }
        return (useTokens, chosen, score);
    }

    /// <summary>Pearson of the truth against out-of-fold predictions: each fold predicted from values fitted on the others.</summary>
    static double CrossValidated(Flat data, List<Estimate> folds, bool useTokens, List<RuleClause> clauses)
    {
        var predicted = new double[data.Length];
        for (int f = 0; f < folds.Count; f++)
        {
            var p = folds[f].Predict(useTokens, clauses.Select(c => c with { Value = folds[f].Value(c) }).ToList());
            for (int i = 0; i < predicted.Length; i++)
                if (data.Record[i] % Folds == f) predicted[i] = p[i];
        }
        double r = Correlation.Pearson(data.Truth, predicted);
        return double.IsFinite(r) ? r : 0;
    }

    /// <summary>
    /// The conditions worth trying, without values: the tokens carrying the most activation, each after its
    /// most common previous tokens, any token after the previous tokens that most often precede firing,
    /// scripts and character classes, and the first k tokens of the context.
    /// </summary>
    static List<RuleClause> Candidates(Flat data)
    {
        var list = new List<RuleClause>();
        var mass = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < data.Length; i++)
            if (data.Truth[i] > 0) mass[data.Tokens[i]] = mass.GetValueOrDefault(data.Tokens[i]) + data.Truth[i];
        foreach (var token in mass.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(12).Select(kv => kv.Key))
        {
            list.Add(new RuleClause("token", 0, Token: token));
            var before = Enumerable.Range(0, data.Length).Where(i => data.Tokens[i] == token && data.Previous[i] is not null)
                .GroupBy(i => data.Previous[i]!).Where(g => g.Count() >= 2)
                .OrderByDescending(g => g.Sum(i => data.Truth[i])).ThenBy(g => g.Key, StringComparer.Ordinal).Take(2);
            foreach (var g in before) list.Add(new RuleClause("token", 0, Token: token, Previous: g.Key));
        }

        var prevMass = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < data.Length; i++)
            if (data.Truth[i] > 0 && data.Previous[i] is { } p) prevMass[p] = prevMass.GetValueOrDefault(p) + data.Truth[i];
        foreach (var p in prevMass.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(5).Select(kv => kv.Key))
            list.Add(new RuleClause("after", 0, Previous: p));

        foreach (var c in TokenClasses.All)
        {
            var where = Enumerable.Range(0, data.Length).Where(i => (data.Classes[i] & c) != 0).ToList();
            if (where.Count >= 3 && where.Any(i => data.Truth[i] > 0))
                list.Add(new RuleClause("class", 0, Class: c.ToString()));
        }

        if (data.Positions.Any(p => p >= 0))
            foreach (int k in new[] { 0, 1, 3, 7, 15, 31 })
                if (Enumerable.Range(0, data.Length).Count(i => data.Positions[i] >= 0 && data.Positions[i] <= k) >= 3)
                    list.Add(new RuleClause("position", 0, MaxPosition: k));
        return list;
    }

    /// <summary>
    /// Values (0–10, activation / the unit's scale) fitted on the positions <c>use</c> selects: the token set
    /// (mean per token seen at least minCount times, positive means only) and each condition's mean where it
    /// holds; a token in one context is pulled toward the token's overall mean (one pseudo-count), so a
    /// context seen twice does not swing the value.
    /// </summary>
    sealed class Estimate
    {
        readonly Flat _data;
        readonly bool[] _use;
        readonly float _scale;
        public Dictionary<string, float> Tokens { get; } = new(StringComparer.Ordinal);
        readonly Dictionary<string, (double Sum, int Count)> _perToken = new(StringComparer.Ordinal);

        public Estimate(Flat data, float scale, int minCount, Func<int, bool> use)
        {
            _data = data; _scale = scale;
            _use = Enumerable.Range(0, data.Length).Select(use).ToArray();
            for (int i = 0; i < data.Length; i++)
            {
                if (!_use[i]) continue;
                _perToken.TryGetValue(data.Tokens[i], out var s);
                _perToken[data.Tokens[i]] = (s.Sum + data.Truth[i], s.Count + 1);
            }
            foreach (var (token, s) in _perToken)
                if (s.Count >= minCount && s.Sum > 0) Tokens[token] = Scaled(s.Sum / s.Count);
        }

        float Scaled(double mean) => (float)Math.Min(10, 10 * mean / _scale);

        public float Value(RuleClause c)
        {
            var mask = _data.Mask(c);
            double sum = 0; int n = 0;
            for (int i = 0; i < mask.Length; i++)
                if (mask[i] && _use[i]) { sum += _data.Truth[i]; n++; }
            if (c.IsContextOverride && _perToken.TryGetValue(c.Token!, out var all))
                return Scaled((sum + all.Sum / all.Count) / (n + 1));
            return n == 0 ? 0 : Scaled(sum / n);
        }

        /// <summary>What <see cref="BuiltinRule.Predict"/> gives, on every position of the flattened examples.</summary>
        public double[] Predict(bool useTokens, List<RuleClause> clauses)
        {
            var p = new double[_data.Length];
            if (useTokens)
                for (int i = 0; i < p.Length; i++) p[i] = Tokens.GetValueOrDefault(_data.Tokens[i]);
            foreach (var c in clauses.Where(c => c.IsContextOverride))
            {
                var mask = _data.Mask(c);
                for (int i = 0; i < p.Length; i++) if (mask[i]) p[i] = c.Value;
            }
            foreach (var c in clauses.Where(c => !c.IsContextOverride))
            {
                var mask = _data.Mask(c);
                for (int i = 0; i < p.Length; i++) if (mask[i] && c.Value > p[i]) p[i] = c.Value;
            }
            return p;
        }
    }

    static string Sentence(BuiltinRule rule, double fit, double threshold, Flat data)
    {
        var clauses = rule.Clauses;
        // Activation mass per token: what carries the unit, strongest first.
        var mass = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < data.Length; i++)
            if (data.Truth[i] > 0) mass[data.Tokens[i]] = mass.GetValueOrDefault(data.Tokens[i]) + data.Truth[i];
        if ((clauses.Count == 0 && rule.Tokens is null) || fit < threshold)
        {
            // Name what carries the activation anyway, so the reader sees the mix.
            var tokens = mass.OrderByDescending(kv => kv.Value).Take(4).Select(kv => Quote(kv.Key));
            var parts = tokens.Concat(clauses.Where(c => c.Kind == "class").Select(c => ClassName(c.Class!)));
            return $"no simple pattern: fires on a mix of {string.Join(", ", parts.Distinct())}";
        }
        var phrases = new List<string>();
        if (rule.Tokens is { Count: > 0 } set)
        {
            const int Shown = 4;
            var named = set.Keys.OrderByDescending(t => mass.GetValueOrDefault(t)).ThenBy(t => t, StringComparer.Ordinal).Take(Shown).ToList();
            string rest = set.Count > Shown ? $" and {set.Count - Shown} more" : "";
            phrases.Add(named.Count == 1 ? $"the token {Quote(named[0])}" : $"the tokens {string.Join(", ", named.Select(Quote))}{rest}");
        }
        var plainTokens = clauses.Where(c => c.Kind == "token" && c.Previous is null).ToList();
        if (plainTokens.Count == 1) phrases.Add($"the token {Quote(plainTokens[0].Token!)}");
        else if (plainTokens.Count > 1) phrases.Add($"the tokens {string.Join(", ", plainTokens.Select(c => Quote(c.Token!)))}");
        foreach (var c in clauses.Where(c => c.Kind != "token" || c.Previous is not null))
            phrases.Add(c.Kind switch
            {
                "token" => $"the token {Quote(c.Token!)} after {Quote(c.Previous!)}{(rule.Tokens?.GetValueOrDefault(c.Token!) is float own && own > c.Value ? " (weaker there)" : "")}",
                "after" => $"the token after {Quote(c.Previous!)}",
                "class" => TokenClasses.Describe(Enum.Parse<TokenClass>(c.Class!)),
                "position" => c.MaxPosition == 0 ? "the first token of the context" : $"the first {c.MaxPosition + 1} tokens of the context",
                _ => c.Kind,
            });
        return string.Join("; also ", phrases.Distinct());
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
        /// <summary>Which explanation record each position came from (the cross-validation folds go by record).</summary>
        public required int[] Record;
        readonly Dictionary<RuleClause, bool[]> _masks = [];
        public int Length => Tokens.Length;

        public static Flat From(List<ActivationRecord> records)
        {
            var tokens = new List<string>(); var prev = new List<string?>(); var classes = new List<TokenClass>();
            var pos = new List<int>(); var truth = new List<double>(); var record = new List<int>();
            for (int k = 0; k < records.Count; k++)
            {
                var r = records[k];
                var cls = TokenClasses.Classify(r.Tokens);
                for (int t = 0; t < r.Tokens.Length; t++)
                {
                    tokens.Add(r.Tokens[t]); prev.Add(t > 0 ? r.Tokens[t - 1] : null); classes.Add(cls[t]);
                    pos.Add(r.Position >= 0 ? r.Position + t : -1); truth.Add(Math.Max(0, r.Activations[t])); record.Add(k);
                }
            }
            return new Flat { Tokens = tokens.ToArray(), Previous = prev.ToArray(), Classes = classes.ToArray(), Positions = pos.ToArray(), Truth = truth.ToArray(), Record = record.ToArray() };
        }

        /// <summary>Where the condition holds (cached: the search asks for the same masks many times).</summary>
        public bool[] Mask(RuleClause c)
        {
            var key = c with { Value = 0 };
            if (_masks.TryGetValue(key, out var cached)) return cached;
            return _masks[key] = ComputeMask(c);
        }

        bool[] ComputeMask(RuleClause c)
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
