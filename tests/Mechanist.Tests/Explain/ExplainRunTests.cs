using System.Text.RegularExpressions;
using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

/// <summary>Whole runs: an LLM on a loopback server, failures recorded per unit, resuming after a cancel.</summary>
public class ExplainRunTests
{
    /// <summary>
    /// A scripted "model" that knows the Hebrew unit: it explains it, simulates Hebrew tokens as 10 and
    /// others as 0, and detects texts with Hebrew in them. <paramref name="garbleSimulation"/> makes every
    /// simulation answer unusable.
    /// </summary>
    static Reply HebrewModel(ScriptedChatServer.ReceivedRequest request, bool garbleSimulation = false)
    {
        string user = request.LastUser;
        if (request.System.Contains("[EXPLANATION]"))
            return new Reply.Chat("The marked tokens are all in Hebrew letters.\n[EXPLANATION]: words written in Hebrew");
        if (request.System.Contains("predict how strongly"))
        {
            if (garbleSimulation) return new Reply.Chat("I think token 3 is high.");
            var tokens = Regex.Matches(user, @"^\d+\t(.*)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
            return new Reply.Chat("```json\n[" + string.Join(", ", tokens.Select(t => SyntheticUnits.IsHebrew(t) ? 10 : 0)) + "]\n```");
        }
        var texts = Regex.Matches(user, @"^Text \d+: (.*)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        return new Reply.Chat("[" + string.Join(",", texts.Select(t => SyntheticUnits.IsHebrew(t) ? 1 : 0)) + "]");
    }

    // The timeout only ends a reply that never comes; 10 s was too short for an in-process server on a 2-core machine
    // at load ≈ 50 (two of these tests failed once that way and passed alone), and a longer one costs nothing here.
    static ChatOptions Fast(string url) => new(url, "scripted-model")
    {
        Timeout = TimeSpan.FromSeconds(60),
        MaxRetries = 2,
        InitialBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    static ExplainRun LlmRun(ChatClient chat, int concurrency = 2, Action<ExplanationResult>? onResult = null) =>
        new(new LlmExplainer(chat), new LlmSimulator(chat), new LlmDetector(chat))
        { Concurrency = concurrency, Server = chat.Options.BaseUrl, OnResult = onResult };

    [Fact]
    public async Task Llm_explains_and_scores_with_plain_chat()
    {
        using var server = new ScriptedChatServer(r => HebrewModel(r));
        using var chat = new ChatClient(Fast(server.BaseUrl));
        var unit = SyntheticUnits.HebrewUnit();
        var result = await LlmRun(chat).ExplainUnitAsync(unit, default);

        Assert.Equal("words written in Hebrew", result.Explanation);
        Assert.Equal(("llm", "scripted-model", "llm", "llm"), (result.Explainer, result.Model, result.Simulator, result.Detector));
        Assert.True(result.Scores.SimulationPearson > 0.9, $"simulation {result.Scores.SimulationPearson}");
        Assert.Equal(1.0, result.Scores.DetectionBalancedAccuracy);
        Assert.NotNull(result.Scores.TopTokenPearson);
        Assert.Empty(result.Errors);
        Assert.Equal(0, result.Scores.SimulationFailedRecords);
        Assert.True(chat.Usage.PromptTokens > 0);

        // The explainer saw marked examples from the explanation split and never a held-out record.
        var explainPrompt = server.Requests.First(r => r.System.Contains("[EXPLANATION]")).LastUser;
        Assert.Contains("<<", explainPrompt);
        Assert.Contains("Activations: (", explainPrompt);
        var heldOutText = unit.Split().HeldOut.Where(h => h.Source == RecordSource.Top).Select(h => string.Concat(h.Record.Tokens));
        Assert.DoesNotContain(heldOutText, t => explainPrompt.Replace("<<", "").Replace(">>", "").Contains(t));
    }

    [Fact]
    public void Tabular_prompt_quantises_to_0_9_and_repeats_sparse_records()
    {
        var unit = SyntheticUnits.TheUnit();
        using var chat = new ChatClient(new ChatOptions("http://127.0.0.1:9", "m"));
        string prompt = new LlmExplainer(chat, PromptStyle.Tabular).Prompt(unit, unit.Split());
        Assert.Contains("<start>\n", prompt);
        Assert.Contains(" the\t9\n", prompt); // the maximum quantises to 9, not 10
        Assert.DoesNotContain("\t10", prompt);
        Assert.Contains("Same example, non-zero tokens only:", prompt);
        Assert.Contains("Contexts from the activation interval", prompt);
    }

    [Fact]
    public async Task Malformed_simulations_are_counted_and_scored_as_failures_not_zeros()
    {
        using var server = new ScriptedChatServer(r => HebrewModel(r, garbleSimulation: true));
        using var chat = new ChatClient(Fast(server.BaseUrl) with { ParseAttempts = 2 });
        var result = await LlmRun(chat).ExplainUnitAsync(SyntheticUnits.HebrewUnit(), default);
        Assert.Equal("words written in Hebrew", result.Explanation);
        Assert.Null(result.Scores.SimulationPearson);
        Assert.Equal(result.Scores.SimulationFailedRecords, unit_heldout_count());
        Assert.Equal(2 * unit_heldout_count(), result.Errors["unparseable"]);
        Assert.Equal(1.0, result.Scores.DetectionBalancedAccuracy); // detection answers were fine

        static int unit_heldout_count() => SyntheticUnits.HebrewUnit().Split().HeldOut.Count;
    }

    [Fact]
    public async Task An_unreachable_server_fails_units_without_losing_them_and_a_rerun_finishes_them()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "explanations.jsonl");
        var units = new[] { SyntheticUnits.HebrewUnit(1), SyntheticUnits.DigitUnit(2) };

        using (var down = new ChatClient(Fast($"http://127.0.0.1:{ScriptedChatServer.FreePort()}")))
        using (var store = ExplanationStore.Open(path))
        {
            var summary = await LlmRun(down).RunAsync(units, store, default);
            Assert.Equal((0, 2), (summary.Explained, summary.Failed));
            Assert.Equal(3, summary.Errors["unreachable"] / 2); // 1 + 2 retries per unit
        }
        Assert.Empty(ExplanationStore.ReadAll(path)); // the browser's file holds only explained units
        var failed = ExplanationStore.ReadFailures(path);
        Assert.Equal(2, failed.Count);
        Assert.All(failed, r => { Assert.Null(r.Explanation); Assert.Equal(3, r.Errors["unreachable"]); Assert.NotNull(r.Scores.TopTokenPearson); });

        using (var server = new ScriptedChatServer(r => HebrewModel(r)))
        using (var chat = new ChatClient(Fast(server.BaseUrl)))
        using (var store = ExplanationStore.Open(path))
        {
            var summary = await LlmRun(chat).RunAsync(units, store, default);
            Assert.Equal((2, 0, 0), (summary.Explained, summary.Skipped, summary.Failed));
        }
        Assert.All(ExplanationStore.ReadAll(path), r => Assert.Equal("words written in Hebrew", r.Explanation));
        Assert.Equal(2, ExplanationStore.ReadAll(path).Count);
        Assert.Empty(ExplanationStore.ReadFailures(path));
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Cancelled_run_resumes_without_redoing_or_losing_units()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "explanations.jsonl");
        var units = Enumerable.Range(0, 8).Select(i => SyntheticUnits.Unit(i,
            (tokens, t, rng) => tokens[t] == SyntheticUnits.English[i] ? 1f + (float)rng.NextDouble() : 0f, seed: i, contexts: 200)).ToList();

        // First run: the server answers slowly; cancel once three units are stored (others are in flight).
        using var cancel = new CancellationTokenSource();
        int firstRun = 0;
        using (var server = new ScriptedChatServer(r => { Thread.Sleep(2); return HebrewModel(r); }))
        using (var chat = new ChatClient(Fast(server.BaseUrl)))
        using (var store = ExplanationStore.Open(path))
        {
            var run = LlmRun(chat, concurrency: 2, onResult: _ => { if (Interlocked.Increment(ref firstRun) == 3) cancel.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.RunAsync(units, store, cancel.Token));
        }
        var saved = ExplanationStore.ReadAll(path);
        Assert.InRange(saved.Count, 3, 7);
        Assert.Equal(firstRun, saved.Count);

        // A torn last line (a write cut off by power loss) must not break the resume.
        File.AppendAllText(path, "{\"kind\":\"feature\",\"id\":99,\"expla");

        var second = new List<int>();
        using (var server = new ScriptedChatServer(r => HebrewModel(r)))
        using (var chat = new ChatClient(Fast(server.BaseUrl)))
        using (var store = ExplanationStore.Open(path))
        {
            var run = LlmRun(chat, onResult: r => { lock (second) second.Add(r.Id); });
            var summary = await run.RunAsync(units, store, default);
            Assert.Equal(saved.Count, summary.Skipped);
        }
        Assert.Empty(second.Intersect(saved.Select(s => s.Id)));
        var all = ExplanationStore.ReadAll(path);
        Assert.Equal(Enumerable.Range(0, 8), all.Select(r => r.Id).Order());
        Assert.Equal(8, File.ReadAllLines(path).Length); // every unit exactly once, no torn line left
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Store_rejects_a_corrupt_line_naming_the_file_and_line()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "explanations.jsonl");
        File.WriteAllText(path, "{\"kind\":\"feature\",\"id\":1,\"explanation\":\"x\"}\nnot json\n");
        var e = Assert.Throws<DataFormatError>(() => ExplanationStore.Open(path));
        Assert.Contains("line 2", e.Message);
        Assert.Contains(path, e.Message);
        Directory.Delete(dir, true);
    }
}
