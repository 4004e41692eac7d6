using System.CommandLine;
using System.Globalization;
using Mechanist.Explain;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist explain`: write and score an explanation for every unit, resumably.</summary>
static class ExplainCommands
{
    public static Command Create()
    {
        var features = new Option<string>("--features")
        {
            Description = "The feature store folder (from `mechanist features build`); results go into this explainer's own file there " +
                          "(explanations.jsonl for the built-in explainer, explanations.llm-MODEL-seedN.jsonl for an LLM), which the browser shows. " +
                          "Also accepted: a folder with evidence.jsonl, or that file (one unit's top, interval and random examples per line).",
            Required = true,
        };
        var output = new Option<string?>("--out") { Description = "Results file (JSON Lines) elsewhere; the browser reads only the store's own. Default: this explainer's file in the feature store (or beside evidence.jsonl)." };
        var llm = new Option<string?>("--llm")
        {
            Description = "Base URL of an OpenAI-compatible chat server (llama.cpp, vLLM, Ollama, a hosted API), with or without /v1, " +
                          "e.g. http://127.0.0.1:8080. Without it the built-in explainer (no language model) is used.",
        };
        var model = new Option<string>("--llm-model") { Description = "Model name sent to the server.", DefaultValueFactory = _ => "default" };
        var keyEnv = new Option<string?>("--api-key-env") { Description = "Name of the environment variable holding the API key (sent as a Bearer token)." };
        var kind = new Option<string?>("--kind") { Description = "Explain only units of this kind: feature or neuron (default: all)." };
        var limit = new Option<int?>("--limit") { Description = "Explain only the first N units of the input." };
        var ids = new Option<string?>("--ids") { Description = "Explain only these unit ids, e.g. 3,17,100-120." };
        var concurrency = new Option<int>("--concurrency") { Description = "Units, and chat requests, in flight at once.", DefaultValueFactory = _ => 4 };
        var style = new Option<PromptStyle>("--style")
        {
            Description = "Explainer prompt format: Marked (<<marked>> tokens plus activation list, as delphi) or Tabular (token<TAB>0-9 lines, as TM23/B23).",
            DefaultValueFactory = _ => PromptStyle.Marked,
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the split into explanation and held-out examples.", DefaultValueFactory = _ => 0 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for one chat reply before retrying.", DefaultValueFactory = _ => 120 };
        var retries = new Option<int>("--retries") { Description = "Retries per request on timeouts, refused connections, 429 and 5xx (exponential backoff with jitter).", DefaultValueFactory = _ => 4 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest reply asked of the model, in tokens (raise it for reasoning models).", DefaultValueFactory = _ => 1024 };
        var pricePrompt = new Option<double>("--usd-per-mtok-prompt") { Description = "Price of a million prompt tokens, for the cost line.", DefaultValueFactory = _ => 0 };
        var priceCompletion = new Option<double>("--usd-per-mtok-completion") { Description = "Price of a million completion tokens, for the cost line.", DefaultValueFactory = _ => 0 };

        var command = new Command("explain",
            "Explain every unit and score the explanations (simulation Pearson/Spearman, detection balanced accuracy), each next to " +
            "the top-token control. Results are appended to this explainer's file as they arrive, beside other explainers'; rerunning resumes.")
        {
            features, output, llm, model, keyEnv, kind, limit, ids, concurrency, style, seed, timeout, retries, maxTokens, pricePrompt, priceCompletion,
        };
        return command.WithAction((parse, cancel) =>
        {
            string input = parse.GetValue(features)!;
            if (!(parse.GetValue(timeout) > 0)) throw new UserError($"--timeout {parse.GetValue(timeout)}: must be a positive number of seconds");
            if (parse.GetValue(retries) < 0) throw new UserError($"--retries {parse.GetValue(retries)}: must be at least 0");
            ChatOptions? llmOptions = null;
            if (parse.GetValue(llm) is { } url)
            {
                string? key = null;
                if (parse.GetValue(keyEnv) is { } env)
                    key = Environment.GetEnvironmentVariable(env) ?? throw new UserError($"--api-key-env: environment variable {env} is not set");
                llmOptions = new ChatOptions(url, parse.GetValue(model)!, key)
                {
                    Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    MaxRetries = parse.GetValue(retries),
                    Concurrency = Math.Max(1, parse.GetValue(concurrency)),
                    MaxTokens = Math.Max(16, parse.GetValue(maxTokens)),
                };
            }
            var settings = new ExplainSettings
            {
                Llm = llmOptions,
                Style = parse.GetValue(style),
                Seed = parse.GetValue(seed),
                Concurrency = parse.GetValue(concurrency),
                Kind = parse.GetValue(kind),
                Ids = ParseIds(parse.GetValue(ids)),
                Limit = parse.GetValue(limit),
                OutPath = parse.GetValue(output),
            };

            ExplainStageResult result;
            try
            {
                result = ExplainStage.RunAsync(input, settings, ConsoleProgress.Instance, cancel).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"stopped: finished units are saved in {ExplainStage.OutPath(input, settings)}; run the same command again to resume");
                throw;
            }

            var summary = result.Summary;
            Console.WriteLine($"explained {summary.Explained} units, skipped {summary.Skipped} already done, {summary.Failed} failed → {result.OutPath}");
            // Per kind, because the comparison that matters is features against neurons, each against its control.
            foreach (var k in result.Kinds)
                Console.WriteLine($"{k.Kind}s: simulation Pearson median {k.SimulationPearson:F3}, top-token control {k.TopTokenPearson:F3} " +
                                  $"(difference {k.Difference:+0.000;-0.000;0.000}), detection {k.DetectionBalancedAccuracy:F3}, over {k.Units} units");
            if (summary.Errors.Count > 0)
                Console.WriteLine("errors: " + string.Join(", ", summary.Errors.Select(kv => $"{kv.Key} {kv.Value}")) + " (per unit in the results files)");
            if (result.Usage is { } u)
            {
                double cost = (u.PromptTokens * parse.GetValue(pricePrompt) + u.CompletionTokens * parse.GetValue(priceCompletion)) / 1e6;
                Console.WriteLine($"tokens: {u.PromptTokens:N0} prompt + {u.CompletionTokens:N0} completion in {u.Requests:N0} requests ({u.FailedRequests} failed)" +
                                  (cost > 0 ? $"; cost ${cost.ToString("F4", CultureInfo.InvariantCulture)}" : ""));
            }
            if (summary.Failed > 0 && summary.Explained == 0)
                throw new UserError($"no unit could be explained ({string.Join(", ", summary.Errors.Select(kv => $"{kv.Key} {kv.Value}"))}); " +
                                    "check the server, then run the same command again to retry the failed units");
            if (summary.Failed > 0)
                Console.WriteLine($"{summary.Failed} units failed (see {ExplanationStore.FailuresPathFor(result.OutPath)}); run the same command again to retry them");
            return 0;
        });
    }

    /// <summary>"3,17,100-120" → {3, 17, 100, …, 120}.</summary>
    internal static HashSet<int>? ParseIds(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var set = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length == 1 && int.TryParse(ends[0], CultureInfo.InvariantCulture, out int one) && one >= 0) set.Add(one);
            else if (ends.Length == 2 && int.TryParse(ends[0], CultureInfo.InvariantCulture, out int lo) && int.TryParse(ends[1], CultureInfo.InvariantCulture, out int hi) && lo >= 0 && lo <= hi && hi - lo < 10_000_000)
                for (int i = lo; i <= hi; i++) set.Add(i);
            else throw new UserError($"--ids: '{part}' is not an id or a range like 100-120");
        }
        return set;
    }
}
