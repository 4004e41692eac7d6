using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mechanist.Tests.Explain;

/// <summary>What the scripted server does with one request.</summary>
abstract record Reply
{
    /// <summary>A well-formed chat completion whose message content is <paramref name="Content"/>.</summary>
    public sealed record Chat(string Content, int PromptTokens = 100, int CompletionTokens = 10) : Reply;
    /// <summary>An HTTP error status with a small JSON error body.</summary>
    public sealed record Status(int Code) : Reply;
    /// <summary>HTTP 200 with a body that is not a chat completion.</summary>
    public sealed record RawBody(string Body) : Reply;
    /// <summary>Never answers (until the server stops).</summary>
    public sealed record Hang : Reply;
}

/// <summary>
/// A real HTTP server on loopback that speaks the OpenAI chat-completions protocol, answering from a script:
/// a function from the request (its messages) to a <see cref="Reply"/>. Records every request it receives.
/// </summary>
sealed class ScriptedChatServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly Func<ReceivedRequest, Reply> _script;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();
    public string BaseUrl { get; }

    public sealed record ReceivedRequest(int Index, string Path, string? Authorization, JsonObject Body)
    {
        public IReadOnlyList<(string Role, string Content)> Messages =>
            Body["messages"]!.AsArray().Select(m => (m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
        public string LastUser => Messages.Last(m => m.Role == "user").Content;
        public string System => Messages.FirstOrDefault(m => m.Role == "system").Content ?? "";
    }

    int _count;

    public ScriptedChatServer(Func<ReceivedRequest, Reply> script)
    {
        _script = script;
        int port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    /// <summary>Replies in order from a list; the last entry repeats.</summary>
    public static ScriptedChatServer Sequence(params Reply[] replies) =>
        new(r => replies[Math.Min(r.Index, replies.Length - 1)]);

    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().ConfigureAwait(false); }
            catch when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => Handle(context));
        }
    }

    async Task Handle(HttpListenerContext context)
    {
        try
        {
            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            var request = new ReceivedRequest(Interlocked.Increment(ref _count) - 1, context.Request.Url!.AbsolutePath,
                context.Request.Headers["Authorization"], JsonNode.Parse(body)!.AsObject());
            Requests.Enqueue(request);
            var reply = request.Path == "/v1/chat/completions" ? _script(request) : new Reply.Status(404);
            switch (reply)
            {
                case Reply.Hang:
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { });
                    context.Response.Abort();
                    return;
                case Reply.Status s:
                    await Write(context, s.Code, "{\"error\":{\"message\":\"scripted " + s.Code + "\"}}");
                    return;
                case Reply.RawBody raw:
                    await Write(context, 200, raw.Body);
                    return;
                case Reply.Chat chat:
                    var json = new JsonObject
                    {
                        ["id"] = $"chatcmpl-{request.Index}",
                        ["object"] = "chat.completion",
                        ["model"] = request.Body["model"]?.GetValue<string>(),
                        ["choices"] = new JsonArray(new JsonObject
                        {
                            ["index"] = 0,
                            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = chat.Content },
                            ["finish_reason"] = "stop",
                        }),
                        ["usage"] = new JsonObject
                        {
                            ["prompt_tokens"] = chat.PromptTokens, ["completion_tokens"] = chat.CompletionTokens,
                            ["total_tokens"] = chat.PromptTokens + chat.CompletionTokens,
                        },
                    };
                    await Write(context, 200, json.ToJsonString());
                    return;
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        catch (HttpListenerException) { }
    }

    static async Task Write(HttpListenerContext context, int status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Stop(); _listener.Close(); } catch (ObjectDisposedException) { }
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
