using Mechanist.Explain;

namespace Mechanist.Tests.Explain;

/// <summary>The chat client against a real loopback HTTP server with scripted answers and failures.</summary>
public class ChatClientTests
{
    static ChatOptions Fast(string url) => new(url, "test-model", "sk-test")
    {
        Timeout = TimeSpan.FromSeconds(10),
        MaxRetries = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    static readonly ChatMessage[] Hello = [new("user", "hello")];

    [Theory]
    [InlineData("")]
    [InlineData("/v1")]
    [InlineData("/v1/")]
    public async Task Sends_an_openai_chat_request_and_counts_usage(string suffix)
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Chat("hi there", PromptTokens: 12, CompletionTokens: 3));
        using var chat = new ChatClient(Fast(server.BaseUrl + suffix));
        var errors = new UnitErrors();
        Assert.Equal("hi there", await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal("hi there", await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(0, errors.Total);
        Assert.Equal(new ChatUsage(2, 0, 24, 6), chat.Usage);
        var request = server.Requests.First();
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer sk-test", request.Authorization);
        Assert.Equal("test-model", request.Body["model"]!.GetValue<string>());
        Assert.Equal(0, request.Body["temperature"]!.GetValue<double>());
        Assert.Null(request.Body["logprobs"]); // never needs logprobs
        Assert.Equal([("user", "hello")], request.Messages);
    }

    [Fact]
    public async Task Retries_server_errors_and_rate_limits_then_succeeds()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Status(500), new Reply.Status(429), new Reply.Status(503), new Reply.Chat("ok"));
        using var chat = new ChatClient(Fast(server.BaseUrl));
        var errors = new UnitErrors();
        Assert.Equal("ok", await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(new SortedDictionary<string, int> { ["http_429"] = 1, ["http_500"] = 1, ["http_503"] = 1 }, errors.Snapshot());
        Assert.Equal(4, server.Requests.Count);
        Assert.Equal(3, chat.Usage.FailedRequests);
    }

    [Fact]
    public async Task Gives_up_after_the_retry_budget()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Status(502));
        using var chat = new ChatClient(Fast(server.BaseUrl) with { MaxRetries = 2 });
        var errors = new UnitErrors();
        Assert.Null(await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(3, errors.Snapshot()["http_502"]);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Status(401), new Reply.Chat("never"));
        using var chat = new ChatClient(Fast(server.BaseUrl));
        var errors = new UnitErrors();
        Assert.Null(await chat.CompleteAsync(Hello, errors, default));
        Assert.Single(server.Requests);
        Assert.Equal(1, errors.Snapshot()["http_401"]);
    }

    [Fact]
    public async Task A_hanging_server_times_out_and_is_retried()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Hang(), new Reply.Chat("late but fine"));
        using var chat = new ChatClient(Fast(server.BaseUrl) with { Timeout = TimeSpan.FromSeconds(1) });
        var errors = new UnitErrors();
        Assert.Equal("late but fine", await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(1, errors.Snapshot()["timeout"]);
    }

    [Fact]
    public async Task A_refused_connection_is_counted_as_unreachable()
    {
        int port = ScriptedChatServer.FreePort(); // nothing listens there
        using var chat = new ChatClient(Fast($"http://127.0.0.1:{port}") with { MaxRetries = 2 });
        var errors = new UnitErrors();
        Assert.Null(await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(3, errors.Snapshot()["unreachable"]);
    }

    [Fact]
    public async Task A_body_that_is_not_a_chat_completion_is_retried()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.RawBody("<html>proxy error</html>"), new Reply.RawBody("""{"choices":[]}"""), new Reply.Chat("ok"));
        using var chat = new ChatClient(Fast(server.BaseUrl));
        var errors = new UnitErrors();
        Assert.Equal("ok", await chat.CompleteAsync(Hello, errors, default));
        Assert.Equal(2, errors.Snapshot()["bad_response"]);
    }

    [Fact]
    public async Task Unparseable_answers_are_sent_back_with_the_problem_and_retried()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Chat("Sure! [1, 2"), new Reply.Chat("```json\n[0, 3, 10]\n```"));
        using var chat = new ChatClient(Fast(server.BaseUrl));
        var errors = new UnitErrors();
        var values = await chat.AskAsync(Hello, r => ReplyParser.NumberArray(r, 3, 0, 10), errors, default);
        Assert.Equal([0f, 3f, 10f], values!);
        Assert.Equal(1, errors.Snapshot()["unparseable"]);
        var retry = server.Requests.Last().Messages;
        Assert.Equal(("assistant", "Sure! [1, 2"), retry[^2]);
        Assert.Contains("could not be used", retry[^1].Content);
    }

    [Fact]
    public async Task Cancellation_stops_waiting_at_once()
    {
        using var server = ScriptedChatServer.Sequence(new Reply.Hang());
        using var chat = new ChatClient(Fast(server.BaseUrl));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => chat.CompleteAsync(Hello, new UnitErrors(), cancel.Token));
    }

    [Fact]
    public void Rejects_a_url_that_is_not_http()
    {
        Assert.Throws<UserError>(() => new ChatClient(new ChatOptions("localhost:8080", "m")));
    }
}

public class ReplyParserTests
{
    [Theory]
    [InlineData("Thinking...\n[EXPLANATION]: Hebrew text", "Hebrew text")]
    [InlineData("**[EXPLANATION]:** \"the word 'the'\"\n", "the word 'the'")]
    [InlineData("[explanation]:\nnumbers in tables", "numbers in tables")]
    [InlineData("[EXPLANATION]: first\nmore thoughts\n[EXPLANATION]: final answer", "final answer")]
    [InlineData("<think>[EXPLANATION]: draft</think>\n[EXPLANATION]: digits", "digits")]
    public void Explanation_takes_the_last_marked_line(string reply, string expected)
    {
        Assert.Equal(expected, ReplyParser.Explanation(reply).Value);
    }

    [Theory]
    [InlineData("It does stuff.")]
    [InlineData("[EXPLANATION]:   ")]
    public void Explanation_without_a_marker_or_text_is_a_failure(string reply)
    {
        var (value, problem) = ReplyParser.Explanation(reply);
        Assert.Null(value);
        Assert.NotNull(problem);
    }

    [Theory]
    [InlineData("[0, 5, 10]")]
    [InlineData("```json\n[0,5,10]\n```")]
    [InlineData("Here you go: [0, 5, 10] (token 2 is the number)")]
    [InlineData("{\"activations\": [0, \"5\", 12]}")]
    [InlineData("[0, 5, 10,]")]
    [InlineData("<think>maybe [1, 1] or [2]?</think>\n[0, 5, 10]")]
    [InlineData("Tokens [1] to [3]: [0, 5, 10]")]
    public void Number_arrays_tolerate_wrapping(string reply)
    {
        Assert.Equal([0f, 5f, 10f], ReplyParser.NumberArray(reply, 3, 0, 10).Value!);
    }

    [Theory]
    [InlineData("[0, 5]", "expected 3 numbers, got 2")]
    [InlineData("no array", "no JSON array found")]
    [InlineData("[0, \"x\", 3]", "array element 2 is not a number")]
    [InlineData("[0, 1, 2", "no JSON array found")]
    [InlineData("[0, oops, 2]", "the array is not valid JSON")]
    public void Number_arrays_report_what_is_wrong(string reply, string problem)
    {
        Assert.Equal(problem, ReplyParser.NumberArray(reply, 3, 0, 10).Problem);
    }
}
