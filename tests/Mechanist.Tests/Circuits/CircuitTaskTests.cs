using Mechanist.Circuits;
using Mechanist.Text;

namespace Mechanist.Tests.Circuits;

/// <summary>The Python tasks: templates, train vs held-out prompts, answers as single tokens of the model's own tokenizer.</summary>
public class CircuitTaskTests(CircuitFixture fx) : IClassFixture<CircuitFixture>
{
    [Fact]
    public void There_are_at_least_six_tasks_with_the_three_of_the_paper()
    {
        Assert.True(PythonTasks.All.Count >= 6);
        foreach (string name in new[] { "single_double_quote", "bracket_counting", "set_or_string" }) Assert.Equal(name, PythonTasks.Get(name).Name);
        Assert.Equal(PythonTasks.All.Count, PythonTasks.Names.Distinct().Count());
        var e = Assert.Throws<UserError>(() => PythonTasks.Get("quotes"));
        Assert.Contains("unknown task 'quotes'", e.Message);
        Assert.Contains("single_double_quote", e.Message);
    }

    [Fact]
    public void Every_task_tokenises_with_single_token_answers_and_held_out_prompts_share_no_names()
    {
        foreach (var task in PythonTasks.All)
        {
            var (train, heldOut) = TaskPrompts.Create(task, fx.Tokenizer, 20, 10, 1, 32);
            Assert.Equal(40, train.Count);
            Assert.Equal(20, heldOut.Count);
            Assert.NotEqual(train.TargetId, train.AlternativeId);
            foreach (var set in new[] { train, heldOut })
                for (int i = 0; i < set.Count; i++)
                {
                    Assert.Equal(i % 2 == 0, set.Positive[i]); // pairs: target prompt, then alternative prompt
                    string answer = set.Positive[i] ? set.Target : set.Alternative;
                    Assert.Equal([.. set.Tokens[i], set.Positive[i] ? set.TargetId : set.AlternativeId], fx.Tokenizer.Encode(set.Texts[i] + answer));
                }
            var trainWords = Words(train.Texts);
            foreach (string name in TaskVocabulary.HeldOut.Names) Assert.DoesNotContain(name, trainWords);
            Assert.Empty(train.Texts.Intersect(heldOut.Texts));
        }
    }

    static HashSet<string> Words(IEnumerable<string> texts) =>
        texts.SelectMany(t => System.Text.RegularExpressions.Regex.Matches(t, "[a-z_]+").Select(m => m.Value)).ToHashSet();

    [Fact]
    public void A_tokenizer_that_cannot_write_an_answer_as_one_token_is_refused_by_name_or_falls_back()
    {
        var bytesOnly = BpeTrainer.Train(["x"], 257); // 256 bytes and <|endoftext|>: no merges at all
        var e = Assert.Throws<UserError>(() => TaskPrompts.Create(PythonTasks.Get("if_equals"), bytesOnly, 4, 2, 0, 64));
        Assert.Contains("task if_equals: this tokenizer cannot represent the task", e.Message);
        Assert.Contains("' ==' / ' ='", e.Message);
        // The quote task falls back to single characters; bracket counting to "]" vs a newline after a first "]".
        var (train, _) = TaskPrompts.Create(PythonTasks.Get("single_double_quote"), bytesOnly, 4, 2, 0, 64);
        Assert.Equal(("\"", "'"), (train.Target, train.Alternative));
        (train, _) = TaskPrompts.Create(PythonTasks.Get("bracket_counting"), bytesOnly, 4, 2, 0, 64);
        Assert.Equal(("]", "\n"), (train.Target, train.Alternative));
        Assert.All(train.Texts, t => Assert.EndsWith("]", t));
    }

    [Fact]
    public void Prompts_longer_than_the_context_are_refused()
    {
        var e = Assert.Throws<UserError>(() => TaskPrompts.Create(PythonTasks.Get("set_or_string"), fx.Tokenizer, 4, 2, 0, 3));
        Assert.Contains("does not fit the model's context of 3", e.Message);
    }

    [Fact]
    public void The_nonsense_control_permutes_answers_and_keeps_their_balance()
    {
        var (train, _) = TaskPrompts.Create(PythonTasks.Get("if_colon"), fx.Tokenizer, 50, 2, 0, 32);
        var nonsense = train.WithPermutedAnswers(4);
        Assert.Equal(train.Positive.Count(p => p), nonsense.Positive.Count(p => p));
        Assert.Equal(train.Texts, nonsense.Texts);
        int changed = train.Positive.Zip(nonsense.Positive).Count(p => p.First != p.Second);
        Assert.InRange(changed, 25, 75);
    }
}
