using System.Globalization;
using Mechanist.Text;

namespace Mechanist.Universality;

/// <summary>
/// Sorts neurons into the families of docs/METHODS.md §5.6 by variance reduction (VR) of binary token features
/// (<see cref="ConditionalSums"/>). Unigram: a current-token feature (tokens grouped by lower-cased, stripped
/// text, each group seen ≥ 3·10⁻⁴ of the rows) with VR &gt; 0.5; previous token: the same on the previous token;
/// alphabet: the best neuron per first letter, kept when VR &gt; 0.37; position: kurtosis &lt; 2 and position
/// explaining &gt; 0.3 of the variance; syntax: token-level proxies that need no tagger (capitalised, digits,
/// punctuation, brackets, quotes, leading space, newline, line start, inside brackets, inside quotes) with
/// VR &gt; 0.5; semantic: a topic token set (<see cref="TopicSets"/>) or the token's corpus subset (the token
/// store's source label) with VR &gt; 0.5. The label is the qualifying family with the highest VR.
/// </summary>
public static class NeuronFamilies
{
    public const double UnigramVr = 0.5, AlphabetVr = 0.37, SyntaxVr = 0.5, SemanticVr = 0.5, PositionVr = 0.3, PositionKurtosis = 2;

    public static NeuronFamily[] Label(NeuronProfile profile, BpeTokenizer? tokenizer)
    {
        var sums = profile.Post;
        int units = sums.Sum.Length, vocab = sums.TokenCount.Length;
        long minCount = Math.Max(20, (long)(3e-4 * sums.Tokens));
        var texts = Enumerable.Range(0, vocab).Select(id => tokenizer != null && id < tokenizer.VocabSize ? tokenizer.Decode([id]) : $"<{id}>").ToArray();
        var groups = Enumerable.Range(0, vocab).GroupBy(id => Normalise(texts[id]))
            .Select(g => new Group(g.Key, g.ToList(), -1)).ToList();
        var unigram = groups.Where(g => g.Ids.Sum(id => sums.TokenCount[id]) >= minCount).ToList();
        var previous = groups.Where(g => g.Ids.Sum(id => sums.PreviousCount[id]) >= minCount).ToList();
        var syntax = tokenizer == null ? [] : SyntaxSets(texts);
        var letters = tokenizer == null ? [] : Enumerable.Range('a', 26).Select(c => new Group(((char)c).ToString(),
            Enumerable.Range(0, vocab).Where(id => Normalise(texts[id]).StartsWith((char)c)).ToList(), -1)).ToList();

        var topics = tokenizer == null ? [] : TopicSets.Tokens(texts).Select(t => new Group("topic:" + t.Topic, t.Ids, -1)).ToList();
        // Corpus subsets as groups whose Flag is the source index (only where there are at least two).
        var subsets = profile.SourceLabels.Count < 2 ? [] : profile.SourceLabels.Select((name, i) => new Group("source:" + name, [], i))
            .Where(g => sums.SourceCount[g.Flag] > 0).ToList();
        var result = new NeuronFamily[units];
        Parallel.For(0, units, u =>
        {
            var candidates = new List<NeuronFamily>();
            var (uName, uVr) = Best(unigram, g => sums.TokenSetVr(u, g.Ids, false));
            if (uVr > UnigramVr) candidates.Add(new("unigram", uName, uVr));
            var (pName, pVr) = Best(previous, g => sums.TokenSetVr(u, g.Ids, true));
            if (pVr > UnigramVr) candidates.Add(new("previous_token", pName, pVr));
            var (sName, sVr) = Best(syntax, g => g.Flag >= 0 ? sums.FlagVr(u, g.Flag) : sums.TokenSetVr(u, g.Ids, false));
            if (sVr > SyntaxVr) candidates.Add(new("syntax", sName, sVr));
            var (tName, tVr) = Best(topics.Concat(subsets), g => g.Flag >= 0 ? sums.SourceVr(u, g.Flag) : sums.TokenSetVr(u, g.Ids, false));
            if (tVr > SemanticVr) candidates.Add(new("semantic", tName, tVr));
            double posVr = sums.PositionVr(u);
            if (profile.Pre.Moments(u).Kurt < PositionKurtosis && posVr > PositionVr) candidates.Add(new("position", "position", posVr));
            result[u] = candidates.MaxBy(c => c.Vr) ?? NeuronFamily.None;
        });
        // Alphabet: the best neuron per letter, where nothing else explains it better.
        foreach (var (letter, ids, _) in letters)
        {
            if (ids.Sum(id => sums.TokenCount[id]) < minCount) continue;
            int best = -1; double bestVr = AlphabetVr;
            for (int u = 0; u < units; u++)
            {
                double vr = sums.TokenSetVr(u, ids, false);
                if (vr > bestVr) { bestVr = vr; best = u; }
            }
            if (best >= 0 && !(result[best].Vr >= bestVr)) result[best] = new("alphabet", letter, bestVr);
        }
        return result;
    }

    static (string Name, double Vr) Best(IEnumerable<Group> items, Func<Group, double> vr)
    {
        string name = ""; double best = double.NegativeInfinity;
        foreach (var item in items)
        {
            double v = vr(item);
            if (v > best) { best = v; name = item.Name; }
        }
        return (name, best);
    }

    /// <summary>Lower-cased and stripped, as the paper groups a token's surface variants (" The", "the", "THE").</summary>
    static string Normalise(string text) => text.Trim().ToLowerInvariant();

    readonly record struct Group(string Name, List<int> Ids, int Flag)
    {
        public override string ToString() => Name;
    }

    static List<Group> SyntaxSets(string[] texts)
    {
        List<int> Where(Func<string, bool> test) => Enumerable.Range(0, texts.Length).Where(id => test(texts[id])).ToList();
        var sets = new List<Group>
        {
            new("capitalised", Where(t => t.TrimStart().Length > 0 && char.IsUpper(t.TrimStart()[0])), -1),
            new("digits", Where(t => t.Trim().Length > 0 && t.Trim().All(char.IsDigit)), -1),
            new("punctuation", Where(t => t.Trim().Length > 0 && t.Trim().All(c => ".,;:!?".Contains(c))), -1),
            new("bracket", Where(t => t.Trim().Length > 0 && t.Trim().All(c => "()[]{}".Contains(c))), -1),
            new("quote", Where(t => t.Trim().Length > 0 && t.Trim().All(c => "\"'`".Contains(c))), -1),
            new("leading_space", Where(t => t.StartsWith(' ') && t.Trim().Length > 0), -1),
            new("newline", Where(t => t.Contains('\n')), -1),
        };
        for (int f = 0; f < ConditionalSums.Flags; f++) sets.Add(new(ConditionalSums.FlagNames[f], [], f));
        return sets;
    }

    public static string Format(double v) => double.IsNaN(v) ? "" : v.ToString("0.####", CultureInfo.InvariantCulture);
}
