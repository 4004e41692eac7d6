using System.CommandLine;
using System.Globalization;
using Mechanist.Models;
using Mechanist.Features.Statistics;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist features build`: model + SAE + tokens → feature store for the browser and the explain stage.</summary>
static class FeaturesCommands
{
    public static Command Create()
    {
        var command = new Command("features", "Per-feature statistics of an SAE (and of the model's neurons at its hook), stored for `browse` and `explain`.");
        command.Subcommands.Add(Build());
        command.Subcommands.Add(FeatureSplitsCommand.Create());
        return command;
    }

    static Command Build()
    {
        var defaults = new StatisticsSettings();
        var build = new FeatureBuildOptions();
        var sae = new Option<string>("--sae") { Description = "SAE folder in SAELens format (cfg.json + sae_weights.safetensors).", Required = true };
        var model = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors).", Required = true };
        var data = new Option<string>("--data") { Description = "Token store folder (from `mechanist corpus prepare`).", Required = true };
        var output = new Option<string>("--out") { Description = "Feature store folder to write (an existing store there is replaced when the new one is complete).", Required = true };
        var tokens = new Option<long>("--tokens") { Description = "Tokens to analyse: consecutive windows from the start of the split (fewer if it is shorter).", DefaultValueFactory = _ => build.Tokens };
        var split = new Option<string>("--split") { Description = "Token store split to read: train or valid.", DefaultValueFactory = _ => build.Split };
        var context = new Option<int?>("--context") { Description = "Tokens per window the model sees (default: the SAE's context_size, else the model's context)." };
        var hook = new Option<string?>("--hook") { Description = "Hook point the SAE reads (default: the SAE's hook_name), e.g. blocks.0.mlp.hook_post." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer for display strings (default: the model folder, then the tokenizer recorded in the token store)." };
        var top = new Option<int>("--top") { Description = "Top-activating contexts kept per unit (one per window at most).", DefaultValueFactory = _ => defaults.TopExamples };
        var radius = new Option<int>("--radius") { Description = "Tokens shown either side of the activating token.", DefaultValueFactory = _ => defaults.ContextRadius };
        var intervals = new Option<int>("--intervals") { Description = "Equal-width activation intervals of (0, max], sampled for the page and the explainer.", DefaultValueFactory = _ => defaults.Intervals };
        var intervalSamples = new Option<int>("--interval-samples") { Description = "Contexts sampled per interval.", DefaultValueFactory = _ => defaults.SamplesPerInterval };
        var random = new Option<int>("--random") { Description = "Random contexts (same positions for every unit), the explainer's negatives.", DefaultValueFactory = _ => build.RandomExamples };
        var bins = new Option<int>("--bins") { Description = "Bins of the activation and logit-effect histograms.", DefaultValueFactory = _ => defaults.HistogramBins };
        var logits = new Option<int>("--logit-tokens") { Description = "Most promoted and most suppressed tokens kept per unit.", DefaultValueFactory = _ => build.LogitTokens };
        var nearest = new Option<int>("--nearest") { Description = "Nearest units by cosine (decoder rows for features, W_out rows for neurons).", DefaultValueFactory = _ => build.Nearest };
        var neurons = new Option<bool>("--neurons") { Description = "Also keep the model's own neurons at the hook, to compare with the features (mlp.hook_post hooks); --neurons false skips them.", DefaultValueFactory = _ => true };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the interval samples and random contexts.", DefaultValueFactory = _ => 0UL };
        var batch = new Option<int>("--batch-tokens") { Description = "Tokens per forward pass (whole windows).", DefaultValueFactory = _ => build.BatchTokens };
        var cmd = new Command("build", "Run the model with the SAE over N tokens and keep, per feature and per neuron: density, max, mean, histogram, " +
            "top contexts, interval samples, random contexts, direct-path logit effects and nearest neighbours.")
            { sae, model, data, output, tokens, split, context, hook, tokenizer, top, radius, intervals, intervalSamples, random, bins, logits, nearest, neurons, seed, batch };
        return cmd.WithAction((parse, cancel) =>
        {
            var options = new FeatureBuildOptions
            {
                Tokens = parse.GetValue(tokens), Split = parse.GetValue(split)!, Context = parse.GetValue(context), Hook = parse.GetValue(hook) is string h ? HookPoint.Parse(h) : null,
                Tokenizer = parse.GetValue(tokenizer), RandomExamples = parse.GetValue(random), LogitTokens = parse.GetValue(logits),
                Nearest = parse.GetValue(nearest), Neurons = parse.GetValue(neurons), BatchTokens = parse.GetValue(batch),
                Statistics = new StatisticsSettings
                {
                    TopExamples = parse.GetValue(top), ContextRadius = parse.GetValue(radius), Intervals = parse.GetValue(intervals),
                    SamplesPerInterval = parse.GetValue(intervalSamples), HistogramBins = parse.GetValue(bins), Seed = parse.GetValue(seed),
                },
            };
            string outDir = parse.GetValue(output)!;
            var s = FeatureBuilder.Build(parse.GetValue(sae)!, parse.GetValue(model)!, parse.GetValue(data)!, outDir, options, ConsoleProgress.Instance, cancel);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Features:N0} features ({s.DeadFeatures:N0} dead, mean L0 {s.MeanL0:0.0}) and {s.Neurons:N0} neurons over {s.Tokens:N0} tokens " +
                $"(windows of {s.Context}) in {s.Seconds:0.0} s ({s.TokensPerSecond:N0} tokens/s), store {s.StoreBytes / 1e6:0.0} MB → {s.Directory}"));
            if (s.RemovedExplanations.Count > 0)
                Console.WriteLine($"removed the earlier {string.Join(", ", s.RemovedExplanations)}: {(s.RemovedExplanations.Count == 1 ? "it" : "they")} described the previous store's units " +
                                  $"(`mechanist explain --features {outDir}` writes new ones)");
            return 0;
        });
    }
}
