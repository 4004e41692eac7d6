using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Circuits;

/// <summary>
/// One set of a task's prompts, tokenised: prompt i's tokens, whether its right answer is the task's target
/// (<see cref="Positive"/>), and the two answer tokens. Prompts come in pairs (a target prompt, then an alternative
/// prompt), so every batch of whole pairs is balanced.
/// </summary>
public sealed class TaskPrompts
{
    internal TaskPrompts(CircuitTask task, string target, string alternative, int targetId, int alternativeId,
        IReadOnlyList<string> texts, IReadOnlyList<int[]> tokens, bool[] positive)
    {
        (Task, Target, Alternative, TargetId, AlternativeId, Texts, Tokens, Positive) =
            (task, target, alternative, targetId, alternativeId, texts, tokens, positive);
    }

    public CircuitTask Task { get; }
    /// <summary>The target and alternative continuations as text (the first pair of <see cref="CircuitTask.Answers"/> the tokenizer can write).</summary>
    public string Target { get; }
    public string Alternative { get; }
    public int TargetId { get; }
    public int AlternativeId { get; }
    public IReadOnlyList<string> Texts { get; }
    public IReadOnlyList<int[]> Tokens { get; }
    /// <summary>Per prompt: true when the target is the right answer, false when the alternative is.</summary>
    public bool[] Positive { get; }
    public int Count => Texts.Count;

    /// <summary>The right answer's token id of each prompt.</summary>
    public int[] Right => Positive.Select(p => p ? TargetId : AlternativeId).ToArray();
    /// <summary>The wrong answer's token id of each prompt.</summary>
    public int[] Wrong => Positive.Select(p => p ? AlternativeId : TargetId).ToArray();

    /// <summary>Prompts [start, start + count).</summary>
    public TaskPrompts Slice(int start, int count) => Pick(Enumerable.Range(start, count).ToArray());

    /// <summary>The prompts at these indices, in this order.</summary>
    public TaskPrompts Pick(IReadOnlyList<int> indices) => new(Task, Target, Alternative, TargetId, AlternativeId,
        indices.Select(i => Texts[i]).ToList(), indices.Select(i => Tokens[i]).ToList(), indices.Select(i => Positive[i]).ToArray());

    /// <summary>
    /// The nonsense-task control (§6.6): the same prompts with their answers permuted at random (as many of each
    /// answer as before), so that no cue in a prompt predicts its answer.
    /// </summary>
    public TaskPrompts WithPermutedAnswers(ulong seed)
    {
        var positive = (bool[])Positive.Clone();
        new Rng(seed).Stream(17).Shuffle(positive.AsSpan());
        return new(Task, Target, Alternative, TargetId, AlternativeId, Texts, Tokens, positive);
    }

    /// <summary>
    /// Writes <paramref name="pairs"/> pairs of train prompts and <paramref name="heldOutPairs"/> of held-out prompts
    /// (from disjoint vocabularies, <see cref="TaskVocabulary"/>) and tokenises them. Throws one clear error when the
    /// tokenizer cannot write any answer pair as single tokens after every prompt, or a prompt is longer than
    /// <paramref name="context"/>.
    /// </summary>
    public static (TaskPrompts Train, TaskPrompts HeldOut) Create(CircuitTask task, BpeTokenizer tokenizer, int pairs, int heldOutPairs,
        ulong seed, int context)
    {
        if (pairs < 1 || heldOutPairs < 1) throw new UserError($"task {task.Name}: need at least one pair of train and held-out prompts");
        var rng = new Rng(seed).Stream(3);
        var train = Write(task, TaskVocabulary.Train, pairs, rng);
        var heldOut = Write(task, TaskVocabulary.HeldOut, heldOutPairs, rng);
        foreach (var answer in task.Answers)
        {
            var all = train.Concat(heldOut).Select(p => (Text: p.Text + answer.PromptEnd, p.Positive)).ToList();
            var encoded = tokenizer.EncodeBatch(all.Select(p => p.Text).ToList());
            int t = SingleToken(tokenizer, all, encoded, answer.Target), a = SingleToken(tokenizer, all, encoded, answer.Alternative);
            if (t < 0 || a < 0 || t == a) continue;
            int longest = encoded.Max(e => e.Length);
            if (longest > context) throw new UserError($"task {task.Name}: a prompt of {longest} tokens does not fit the model's context of {context}");
            if (encoded.Any(e => e.Length == 0)) throw new UserError($"task {task.Name}: a prompt encodes to no tokens");
            TaskPrompts Make(int from, int count) => new(task, answer.Target, answer.Alternative, t, a,
                all.Skip(from).Take(count).Select(p => p.Text).ToList(), encoded.Skip(from).Take(count).ToList(),
                all.Skip(from).Take(count).Select(p => p.Positive).ToArray());
            return (Make(0, train.Count), Make(train.Count, heldOut.Count));
        }
        throw new UserError($"task {task.Name}: this tokenizer cannot represent the task: none of its answer pairs " +
            $"({string.Join(", ", task.Answers.Select(p => $"'{Show(p.PromptEnd + p.Target)}' / '{Show(p.PromptEnd + p.Alternative)}'"))}) is one token each after every prompt");
    }

    static List<(string Text, bool Positive)> Write(CircuitTask task, TaskVocabulary vocabulary, int pairs, Rng rng)
    {
        var prompts = new List<(string, bool)>(2 * pairs);
        for (int i = 0; i < pairs; i++)
        {
            prompts.Add((task.Write(rng, vocabulary, true), true));
            prompts.Add((task.Write(rng, vocabulary, false), false));
        }
        return prompts;
    }

    /// <summary>
    /// The id of <paramref name="answer"/> when it is one token appended to every prompt's own tokens (the BPE does
    /// not merge it with the prompt's end), else −1.
    /// </summary>
    static int SingleToken(BpeTokenizer tokenizer, List<(string Text, bool Positive)> prompts, int[][] encoded, string answer)
    {
        int id = -1;
        var with = tokenizer.EncodeBatch(prompts.Select(p => p.Text + answer).ToList());
        for (int i = 0; i < prompts.Count; i++)
        {
            var e = encoded[i];
            var w = with[i];
            if (w.Length != e.Length + 1 || !w.AsSpan(0, e.Length).SequenceEqual(e)) return -1;
            if (id >= 0 && w[^1] != id) return -1;
            id = w[^1];
        }
        return id;
    }

    static string Show(string s) => s.Replace("\n", "\\n");
}
