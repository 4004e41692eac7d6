using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mechanist.Explain;

public sealed record ChatMessage(string Role, string Content);

/// <summary>How to reach an OpenAI-compatible chat server and how patiently.</summary>
/// <param name="BaseUrl">Server address, with or without a trailing /v1 (e.g. http://127.0.0.1:8080).</param>
public sealed record ChatOptions(string BaseUrl, string Model, string? ApiKey = null)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Further attempts after a timeout, refused connection, 429 or 5xx.</summary>
    public int MaxRetries { get; init; } = 4;
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 4;
    public int MaxTokens { get; init; } = 1024;
    /// <summary>Attempts to get a parseable answer (the model is told what was wrong each time).</summary>
    public int ParseAttempts { get; init; } = 3;

    public Uri Endpoint
    {
        get
        {
            string b = BaseUrl.TrimEnd('/');
            if (b.EndsWith("/chat/completions", StringComparison.Ordinal)) return new Uri(b);
            return new Uri(b.EndsWith("/v1", StringComparison.Ordinal) ? b + "/chat/completions" : b + "/v1/chat/completions");
        }
    }
}

/// <summary>Totals over a run, for the tokens and cost line.</summary>
public sealed record ChatUsage(long Requests, long FailedRequests, long PromptTokens, long CompletionTokens);

/// <summary>
/// A client for `/v1/chat/completions` that needs nothing beyond plain chat: no logprobs, no tools.
/// Temperature 0; bounded concurrency; retries with exponential backoff and jitter on timeouts, refused
/// connections, 429 and 5xx; every failed attempt is counted in the unit's <see cref="UnitErrors"/>.
/// </summary>
public sealed class ChatClient : IDisposable
{
    readonly ChatOptions _options;
    readonly HttpClient _http;
    readonly SemaphoreSlim _slots;
    long _requests, _failed, _promptTokens, _completionTokens;

    public ChatClient(ChatOptions options, HttpMessageHandler? handler = null)
    {
        if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            throw new UserError($"--llm: '{options.BaseUrl}' is not an http(s) URL");
        _options = options;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan; // per-attempt timeouts below
        _slots = new SemaphoreSlim(Math.Max(1, options.Concurrency));
    }

    public ChatOptions Options => _options;

    public ChatUsage Usage => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _failed),
        Interlocked.Read(ref _promptTokens), Interlocked.Read(ref _completionTokens));

    /// <summary>
    /// Asks until <paramref name="parse"/> accepts the reply, telling the model what was wrong each time
    /// (up to <see cref="ChatOptions.ParseAttempts"/>). Returns default when no usable answer came.
    /// </summary>
    public async Task<T?> AskAsync<T>(IReadOnlyList<ChatMessage> messages, Func<string, (T? Value, string? Problem)> parse,
        UnitErrors errors, CancellationToken cancel)
    {
        var conversation = messages.ToList();
        for (int attempt = 0; attempt < Math.Max(1, _options.ParseAttempts); attempt++)
        {
            string? reply = await CompleteAsync(conversation, errors, cancel).ConfigureAwait(false);
            if (reply is null) return default;
            var (value, problem) = parse(reply);
            if (problem is null) return value;
            errors.Add("unparseable");
            conversation.Add(new ChatMessage("assistant", reply));
            conversation.Add(new ChatMessage("user", $"That answer could not be used: {problem}. Answer again in exactly the requested format."));
        }
        return default;
    }

    /// <summary>One chat completion with retries. Returns the reply text, or null after giving up.</summary>
    public async Task<string?> CompleteAsync(IReadOnlyList<ChatMessage> messages, UnitErrors errors, CancellationToken cancel)
    {
        string body = RequestBody(messages);
        for (int attempt = 0; ; attempt++)
        {
            cancel.ThrowIfCancellationRequested();
            TimeSpan? retryAfter = null;
            string? failure;
            bool retryable = true;
            await _slots.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                Interlocked.Increment(ref _requests);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                timeout.CancelAfter(_options.Timeout);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint)
                    {
                        Content = new StringContent(body, Encoding.UTF8, "application/json"),
                    };
                    if (_options.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                    string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        string? content = ReadReply(text);
                        if (content is not null) return content;
                        failure = "bad_response";
                    }
                    else
                    {
                        int code = (int)response.StatusCode;
                        failure = $"http_{code}";
                        retryable = code == 429 || code >= 500 || code == 408;
                        retryAfter = response.Headers.RetryAfter?.Delta;
                    }
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    failure = "timeout";
                }
                catch (HttpRequestException e)
                {
                    failure = e.InnerException is SocketException or null || e.HttpRequestError == HttpRequestError.ConnectionError
                        ? "unreachable" : "http_error";
                }
            }
            finally
            {
                _slots.Release();
            }

            Interlocked.Increment(ref _failed);
            errors.Add(failure);
            if (!retryable || attempt >= _options.MaxRetries) return null;
            await Task.Delay(Backoff(attempt, retryAfter), cancel).ConfigureAwait(false);
        }
    }

    TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        double exp = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt);
        double ms = Math.Min(_options.MaxBackoff.TotalMilliseconds, exp) * (0.5 + 0.5 * Random.Shared.NextDouble());
        if (retryAfter is { } ra) ms = Math.Max(ms, Math.Min(ra.TotalMilliseconds, _options.MaxBackoff.TotalMilliseconds));
        return TimeSpan.FromMilliseconds(ms);
    }

    string RequestBody(IReadOnlyList<ChatMessage> messages)
    {
        var json = new JsonObject
        {
            ["model"] = _options.Model,
            ["temperature"] = 0,
            ["max_tokens"] = _options.MaxTokens,
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
        };
        return json.ToJsonString();
    }

    /// <summary>The first choice's message content, counting usage; null when the body is not a chat reply.</summary>
    string? ReadReply(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt64(out long pt)) Interlocked.Add(ref _promptTokens, pt);
                if (usage.TryGetProperty("completion_tokens", out var c) && c.TryGetInt64(out long ct)) Interlocked.Add(ref _completionTokens, ct);
            }
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("message", out var message) && message.TryGetProperty("content", out var content)
                && content.ValueKind == JsonValueKind.String)
                return content.GetString();
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }
}
