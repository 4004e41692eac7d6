using System.Text.Json;
using Mechanist.Explain;

namespace Mechanist.Features;

/// <summary>
/// The explanations of a store's units from every explainer run beside it (<see cref="ExplanationFiles"/>, read
/// with <see cref="ExplanationStore"/>), each unit's list best first: an LLM's explanation before the built-in
/// one (the built-in rule is scored by its own exact simulator, an LLM's by a language model, so their scores do
/// not compete; an explanation in words is what a reader wants when there is one), then by simulation score,
/// then by file name. Within one file the last line of a unit wins, as in the explain stage.
/// </summary>
sealed class StoreExplanations
{
    readonly Dictionary<(UnitKind, int), Explanation[]> _units = [];

    public int Count => _units.Count;

    public IReadOnlyList<Explanation> Of(UnitKind kind, int id) => _units.TryGetValue((kind, id), out var list) ? list : [];

    public Explanation? Best(UnitKind kind, int id) => _units.TryGetValue((kind, id), out var list) ? list[0] : null;

    /// <summary>Units with an explanation (any of theirs) containing <paramref name="text"/>.</summary>
    public IEnumerable<(UnitKind Kind, int Id, Explanation Best)> Matching(string text) =>
        _units.Where(u => u.Value.Any(e => e.Text.Contains(text, StringComparison.OrdinalIgnoreCase))).Select(u => (u.Key.Item1, u.Key.Item2, u.Value[0]));

    /// <summary>Reads every results file in <paramref name="dir"/>; a unit id the store lacks is a format error naming file and line.</summary>
    public static StoreExplanations Load(string dir, Func<UnitKind, int, bool> contains, Func<UnitKind, int> count)
    {
        var all = new Dictionary<(UnitKind, int), List<Explanation>>();
        foreach (string path in ExplanationFiles.InStore(dir))
        {
            var latest = new Dictionary<(UnitKind, int), Explanation>();
            foreach (var (line, r) in ExplanationStore.ReadLines(path))
            {
                var kind = r.Kind == "neuron" ? UnitKind.Neuron : UnitKind.Feature;
                if (!contains(kind, r.Id))
                    throw new DataFormatError(path, $"line {line}.id", $"{r.Id} is not a {kind.Name()} id of this store (0..{count(kind) - 1})");
                latest[(kind, r.Id)] = From(r, Path.GetFileName(path));
            }
            foreach (var (key, e) in latest)
            {
                if (!all.TryGetValue(key, out var list)) all[key] = list = [];
                list.Add(e);
            }
        }
        var store = new StoreExplanations();
        foreach (var (key, list) in all) store._units[key] = [.. list.OrderBy(e => e, BestFirst)];
        return store;
    }

    /// <summary>LLM before built-in, then higher score, then file name.</summary>
    public static readonly Comparer<Explanation> BestFirst = Comparer<Explanation>.Create((a, b) =>
    {
        int c = IsBuiltin(a).CompareTo(IsBuiltin(b));
        if (c != 0) return c;
        c = (b.Score ?? float.NegativeInfinity).CompareTo(a.Score ?? float.NegativeInfinity);
        return c != 0 ? c : string.CompareOrdinal(a.Source, b.Source);
    });

    static bool IsBuiltin(Explanation e) => e.Explainer is null or BuiltinExplainer.Name;

    static Explanation From(ExplanationResult r, string file)
    {
        // Every finite score by its JSON name (simulation_pearson, detection_f1, top_token_pearson, ...).
        var scores = new Dictionary<string, float>();
        foreach (var p in JsonSerializer.SerializeToElement(r.Scores, ExplanationResult.Json).EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.Number && float.IsFinite(p.Value.GetSingle())) scores[p.Name] = p.Value.GetSingle();
        float? score = r.Score is double s && double.IsFinite(s) ? (float)s : null;
        return new Explanation(r.Explanation!, score, string.IsNullOrEmpty(r.Explainer) ? null : r.Explainer, scores)
        {
            Model = r.Model, Simulator = r.Simulator, Seed = r.Seed, Source = file,
        };
    }
}
