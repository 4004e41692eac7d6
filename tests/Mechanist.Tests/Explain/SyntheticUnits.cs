using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

/// <summary>
/// Builds <see cref="UnitEvidence"/> the way the feature store would: many random contexts, the unit's
/// activation computed by a known rule, top contexts by maximum, equal-width interval samples and random
/// non-activating contexts. The rule is known, so an explainer's answer can be checked against it.
/// </summary>
static class SyntheticUnits
{
    public static readonly string[] English =
        [" the", " cat", " sat", " on", " a", " mat", " and", " then", " it", " was", " very", " happy", ".", ",", " of", " in",
         " house", " dog", " ran", " to", " big", " small", " we", " they", " said", " is", " at", " for", " with", " from"];
    /// <summary>Hebrew tokens are random letter strings, so most occur once: only the script generalises.</summary>
    static string HebrewToken(Random rng)
    {
        int n = rng.Next(1, 4);
        var letters = new char[n];
        for (int i = 0; i < n; i++) letters[i] = (char)('\u05D0' + rng.Next(27));
        return (rng.NextDouble() < 0.5 ? " " : "") + new string(letters);
    }

    public static bool IsHebrew(string token) => token.Any(ch => ch >= '\u0590' && ch <= '\u05FF');
    public static readonly string[] Digits = [" 42", " 7", " 2019", "3", " 100", " 12", "5", " 88"];

    /// <summary>A context of mostly English tokens, sometimes with a run of Hebrew or a number in it.</summary>
    public static string[] Context(Random rng, int length = 16)
    {
        var tokens = new string[length];
        bool hebrewRun = rng.NextDouble() < 0.25;
        int runStart = rng.Next(length), runLength = rng.Next(2, 6);
        for (int t = 0; t < length; t++)
        {
            if (hebrewRun && t >= runStart && t < runStart + runLength) tokens[t] = HebrewToken(rng);
            else if (rng.NextDouble() < 0.08) tokens[t] = Digits[rng.Next(Digits.Length)];
            else tokens[t] = English[rng.Next(English.Length)];
        }
        return tokens;
    }

    /// <summary>Evidence for a unit whose activation at token t of a context is <paramref name="rule"/>(tokens, t, rng).</summary>
    public static UnitEvidence Unit(int id, Func<string[], int, Random, float> rule, int seed = 1, int contexts = 600)
    {
        var rng = new Random(seed);
        var records = new List<ActivationRecord>();
        for (int c = 0; c < contexts; c++)
        {
            var tokens = Context(rng);
            var acts = new float[tokens.Length];
            for (int t = 0; t < tokens.Length; t++) acts[t] = rule(tokens, t, rng);
            records.Add(new ActivationRecord(tokens, acts, Position: rng.Next(0, 200)));
        }
        float max = records.Max(r => r.Max);
        var active = records.Where(r => r.Max > 0).ToList();
        var top = active.OrderByDescending(r => r.Max).Take(20).ToList();
        var intervals = new List<IntervalSample>();
        for (int b = 0; b < 12; b++)
        {
            float lo = max * b / 12, hi = max * (b + 1) / 12;
            var inBin = active.Except(top).Where(r => r.Max > lo && r.Max <= hi).Take(4).ToList();
            intervals.Add(new IntervalSample($"{lo:F2}–{hi:F2}", lo, hi, inBin));
        }
        var random = records.Where(r => r.Max == 0).Take(20).ToList();
        double density = records.Sum(r => r.Activations.Count(a => a > 0)) / (double)(contexts * 16);
        return new UnitEvidence(id, "feature", density, max, top, intervals, random);
    }

    public static UnitEvidence HebrewUnit(int id = 1) =>
        Unit(id, (tokens, t, rng) => IsHebrew(tokens[t]) ? 3f + (float)rng.NextDouble() : 0f);

    public static UnitEvidence DigitUnit(int id = 2) =>
        Unit(id, (tokens, t, rng) => SyntheticUnits.Digits.Contains(tokens[t]) ? 2f + (float)rng.NextDouble() : 0f);

    public static UnitEvidence TheUnit(int id = 3) =>
        Unit(id, (tokens, t, rng) => tokens[t] == " the" ? 4f + 0.5f * (float)rng.NextDouble() : 0f);

    /// <summary>Fires at random, whatever the token: nothing simple explains it.</summary>
    public static UnitEvidence NoiseUnit(int id = 4) =>
        Unit(id, (tokens, t, rng) => rng.NextDouble() < 0.1 ? (float)rng.NextDouble() * 3 : 0f);
}
