namespace Mechanist.Universality;

/// <summary>
/// Built-in topic word lists for the semantic family (docs/METHODS.md §5.6; UN24 used hand-made sets such as 430
/// cooking tokens). A topic's feature is the set of token ids whose lower-cased, stripped text is one of its words,
/// so words a tokenizer splits into pieces do not count. The lists are ours, short and English.
/// </summary>
public static class TopicSets
{
    public static IReadOnlyDictionary<string, string[]> BuiltIn { get; } = new Dictionary<string, string[]>
    {
        ["months"] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"],
        ["weekdays"] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekend"],
        ["number_words"] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion", "first", "second", "third", "fourth", "fifth"],
        ["colours"] = ["red", "green", "blue", "yellow", "black", "white", "brown", "orange", "purple", "pink", "grey", "gray", "violet", "golden", "silver"],
        ["family"] = ["mother", "father", "son", "daughter", "brother", "sister", "wife", "husband", "uncle", "aunt", "cousin", "parents", "children", "child", "family", "grandfather", "grandmother", "mom", "dad", "baby"],
        ["body"] = ["head", "hand", "hands", "eye", "eyes", "face", "arm", "arms", "leg", "legs", "heart", "foot", "feet", "mouth", "hair", "blood", "skin", "finger", "fingers", "body", "neck", "shoulder", "brain", "bone"],
        ["food"] = ["food", "bread", "meat", "cheese", "milk", "water", "wine", "beer", "coffee", "tea", "sugar", "salt", "butter", "egg", "eggs", "rice", "fruit", "apple", "soup", "cook", "cooking", "dinner", "lunch", "breakfast", "meal", "eat", "kitchen", "oil", "chicken", "fish"],
        ["sports"] = ["game", "games", "team", "teams", "player", "players", "season", "league", "match", "goal", "goals", "coach", "football", "soccer", "baseball", "basketball", "hockey", "tennis", "golf", "championship", "cup", "score", "win", "won"],
        ["computing"] = ["function", "return", "class", "import", "def", "var", "const", "int", "string", "null", "true", "false", "void", "public", "static", "file", "data", "code", "server", "user", "error", "value", "array", "list", "object", "method", "param", "self"],
        ["law"] = ["law", "court", "judge", "license", "copyright", "rights", "legal", "section", "act", "shall", "contract", "liability", "warranty", "plaintiff", "defendant", "statute", "permission", "provided", "agreement", "terms"],
        ["medicine"] = ["patient", "patients", "disease", "treatment", "clinical", "cancer", "cells", "cell", "protein", "drug", "dose", "therapy", "hospital", "doctor", "symptoms", "infection", "virus", "health", "medical", "study"],
        ["geography"] = ["city", "river", "country", "state", "states", "north", "south", "east", "west", "island", "mountain", "lake", "village", "town", "region", "county", "province", "america", "europe", "china", "india", "france", "germany", "england", "london", "york"],
        ["time"] = ["year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute", "minutes", "second", "seconds", "today", "yesterday", "tomorrow", "night", "morning", "evening", "century"],
    };

    /// <summary>Each topic's token ids under the tokenizer's texts (lower-cased and stripped before matching).</summary>
    public static IEnumerable<(string Topic, List<int> Ids)> Tokens(string[] texts)
    {
        foreach (var (topic, words) in BuiltIn)
        {
            var set = new HashSet<string>(words);
            var ids = Enumerable.Range(0, texts.Length).Where(id => set.Contains(texts[id].Trim().ToLowerInvariant())).ToList();
            if (ids.Count > 0) yield return (topic, ids);
        }
    }
}
