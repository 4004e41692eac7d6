using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Circuits;
using Mechanist.Features;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist circuit tasks|prune`: task circuits by pruning, with faithfulness controls (docs/METHODS.md §6.4–6.6).</summary>
static class CircuitCommands
{
    public static Command Create()
    {
        var command = new Command("circuit", "Task circuits by pruning (Gao et al. 2025): binary Python tasks, a learned gate per node, the smallest node set that still does the task, and the seven faithfulness controls.");
        command.Subcommands.Add(Tasks());
        command.Subcommands.Add(Prune());
        return command;
    }

    static Option<string> Tokenizer() => new("--tokenizer") { Description = "Tokenizer folder (default: the model folder's own tokenizer files)." };

    static BpeTokenizer LoadTokenizer(string modelDir, string? tokenizerDir)
    {
        string dir = tokenizerDir ?? modelDir;
        if (!File.Exists(Path.Combine(dir, TokenizerFiles.VocabFile)) && !File.Exists(Path.Combine(dir, TokenizerFiles.HuggingFaceFile)))
            throw new UserError(tokenizerDir == null ? $"{modelDir}: no tokenizer files in the model folder; give --tokenizer DIR" : $"{dir}: no tokenizer files");
        return TokenizerFiles.Load(dir);
    }

    static Command Tasks()
    {
        var model = new Option<string?>("--model") { Description = "Model folder: also tokenise each task with its tokenizer and score the model (loss and accuracy on train and held-out prompts)." };
        var tokenizer = Tokenizer();
        var pairs = new Option<int>("--pairs") { Description = "Pairs of prompts to score per set.", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "Print the list as JSON." };
        var cmd = new Command("tasks", "List the binary Python tasks with example prompts, their target and alternative answers, and (with --model) whether the model's tokenizer can represent each and the model's accuracy.") { model, tokenizer, pairs, json };
        return cmd.WithAction((parse, cancel) =>
        {
            string? modelDir = parse.GetValue(model);
            var m = modelDir == null ? null : ModelFiles.Load(modelDir);
            var tok = modelDir == null ? (parse.GetValue(tokenizer) is string t ? TokenizerFiles.Load(t) : null) : LoadTokenizer(modelDir, parse.GetValue(tokenizer));
            int n = Math.Max(1, parse.GetValue(pairs));
            var list = new JsonArray();
            foreach (var task in PythonTasks.All)
            {
                var entry = new JsonObject { ["task"] = task.Name, ["cue"] = task.Cue };
                var rng = new Numerics.Rng(0);
                entry["examples"] = new JsonArray(
                    (JsonNode)(task.Write(rng, TaskVocabulary.Train, true) + "⟨" + task.Answers[0].PromptEnd + task.Answers[0].Target + "⟩"),
                    (JsonNode)(task.Write(rng, TaskVocabulary.Train, false) + "⟨" + task.Answers[0].PromptEnd + task.Answers[0].Alternative + "⟩"));
                if (tok != null)
                {
                    try
                    {
                        var (train, heldOut) = TaskPrompts.Create(task, tok, n, n, 0, m?.Config.Context ?? int.MaxValue);
                        entry["target"] = train.Target;
                        entry["alternative"] = train.Alternative;
                        entry["target_id"] = train.TargetId;
                        entry["alternative_id"] = train.AlternativeId;
                        if (m != null)
                        {
                            var gated = new GatedModel(m, AblationMeans.Zero(new CircuitNodes(m.Config)));
                            var a = gated.Score(train, null, false);
                            var b = gated.Score(heldOut, null, false);
                            entry["loss"] = a.Loss; entry["accuracy"] = a.Accuracy;
                            entry["loss_held_out"] = b.Loss; entry["accuracy_held_out"] = b.Accuracy;
                        }
                    }
                    catch (UserError e) { entry["unrepresentable"] = e.Message; }
                }
                list.Add(entry);
            }
            if (parse.GetValue(json)) { Console.WriteLine(list.ToJsonString(CircuitReport.Indented)); return 0; }
            foreach (var e in list.Select(x => x!.AsObject()))
            {
                Console.WriteLine($"{e["task"]}: {e["cue"]}");
                foreach (var ex in e["examples"]!.AsArray()) Console.WriteLine($"    {Show((string)ex!)}");
                if (e["unrepresentable"] is JsonNode why) Console.WriteLine($"    cannot be represented: {why}");
                else if (e["target"] != null)
                    Console.WriteLine($"    answers '{Show((string)e["target"]!)}' (id {e["target_id"]}) vs '{Show((string)e["alternative"]!)}' (id {e["alternative_id"]})" +
                        (e["accuracy"] is null ? "" : string.Create(CultureInfo.InvariantCulture,
                            $"; model: loss {(double)e["loss"]!:0.000}, accuracy {(double)e["accuracy"]!:P0} (held-out {(double)e["loss_held_out"]!:0.000}, {(double)e["accuracy_held_out"]!:P0})")));
            }
            return 0;
        });
    }

    static string Show(string s) => s.Replace("\n", "\\n");

    static Command Prune()
    {
        var model = new Option<string>("--model") { Description = "Model folder (any model of the shared forward pass: dense GPT-2-style or weight-sparse).", Required = true };
        var task = new Option<string>("--task") { Description = "Task name (see `mechanist circuit tasks`).", Required = true };
        var data = new Option<string?>("--data") { Description = "Token store of pretraining text for the ablation means (default: the token store the model was trained on, from its manifest.json)." };
        var tokenizer = Tokenizer();
        var output = new Option<string?>("--out") { Description = "Folder to write report.json and loss-vs-k.svg into (replaced if it exists)." };
        var features = new Option<string?>("--features") { Description = "Feature store to attach the report to (written to STORE/circuits/TASK/): the browser shows a circuit page for it." };
        var json = new Option<bool>("--json") { Description = "Print the whole report as JSON (nodes, edges, loss_unpruned, loss_pruned, controls, ...)." };
        var budget = new Option<int?>("--k") { Description = "Keep exactly this many nodes instead of bisecting the budget to --target-loss." };
        var target = new Option<double>("--target-loss") { Description = "Task loss per prompt (nats) the node budget is bisected to.", DefaultValueFactory = _ => 0.15 };
        var steps = new Option<int>("--steps") { Description = "Optimisation steps of each pruning run (the study runs five: the circuit and four controls).", DefaultValueFactory = _ => 300 };
        var kCoef = new Option<float>("--k-coef") { Description = "Penalty per open gate.", DefaultValueFactory = _ => 1e-4f };
        var lr = new Option<float>("--lr") { Description = "AdamW learning rate of the gates' τ.", DefaultValueFactory = _ => 3e-3f };
        var freeze = new Option<bool>("--freeze-norms") { Description = "Prune with every norm's scale frozen at the unpruned model's (the critique's option; the paper's method lets them move). The report also gives the other setting." };
        var pairs = new Option<int>("--pairs") { Description = "Pairs of train prompts (held-out: half as many).", DefaultValueFactory = _ => 128 };
        var meanWindows = new Option<int>("--mean-windows") { Description = "Context windows of pretraining text the ablation means average.", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the prompts, the gates' initialisation and the controls.", DefaultValueFactory = _ => 0UL };
        var cmd = new Command("prune", "Prune a model to the smallest set of nodes (channels) that still does a task, with the seven faithfulness controls of METHODS.md §6.6 in the report.")
            { model, task, data, tokenizer, output, features, json, budget, target, steps, kCoef, lr, freeze, pairs, meanWindows, seed };
        return cmd.WithAction((parse, cancel) =>
        {
            var circuitTask = PythonTasks.Get(parse.GetValue(task)!); // first: a misspelt task costs nothing
            string modelDir = parse.GetValue(model)!;
            string? outDir = parse.GetValue(output), storeDir = parse.GetValue(features);
            if (storeDir != null && !File.Exists(Path.Combine(storeDir, "features.json")))
                throw new UserError($"--features {storeDir}: not a feature store (no {"features.json"})");
            var m = ModelFiles.Load(modelDir);
            int nodeCount = new CircuitNodes(m.Config).Count;
            if (parse.GetValue(budget) is int k && (k < 1 || k > nodeCount))
                throw new UserError($"--k {k}: the budget must be between 1 and the model's {nodeCount} nodes");
            var tok = LoadTokenizer(modelDir, parse.GetValue(tokenizer));
            string dataDir = parse.GetValue(data) ?? TrainingData(modelDir);
            using var store = TokenStore.Open(dataDir, "train");
            if (store.TokenizerHash != tok.Hash)
                throw new UserError($"the token store {dataDir} was written by another tokenizer than the task prompts use ({(parse.GetValue(tokenizer) ?? modelDir)}): its means would be of other tokens");
            var options = new CircuitStudyOptions
            {
                Prune = new PruneOptions
                {
                    Steps = parse.GetValue(steps), TargetLoss = parse.GetValue(target), KCoef = parse.GetValue(kCoef), LearningRate = parse.GetValue(lr),
                    FreezeNorms = parse.GetValue(freeze), Seed = parse.GetValue(seed),
                }.Validate(),
                Pairs = Math.Max(1, parse.GetValue(pairs)),
                HeldOutPairs = Math.Max(1, parse.GetValue(pairs) / 2),
                MeanWindows = Math.Max(1, parse.GetValue(meanWindows)),
                Budget = parse.GetValue(budget),
                Seed = parse.GetValue(seed),
            };
            var report = CircuitStudy.Run(m, tok, store, circuitTask, options, ConsoleProgress.Instance);
            report.Json["model"] = Path.GetFullPath(modelDir);
            if (outDir != null) report.Save(outDir);
            if (storeDir != null) report.Save(Path.Combine(storeDir, StoreAttachments.CircuitsFolder, circuitTask.Name));
            if (parse.GetValue(json)) Console.WriteLine(report.Json.ToJsonString(CircuitReport.Indented));
            else Console.WriteLine(Summary(report.Json));
            return 0;
        });
    }

    /// <summary>The token store a model was trained on, from its manifest, or one clear error asking for --data.</summary>
    static string TrainingData(string modelDir)
    {
        if (Manifest.ExistsIn(modelDir))
            foreach (var input in Manifest.Load(modelDir).Inputs)
                if (Directory.Exists(input.Path) && File.Exists(Path.Combine(input.Path, "meta.json"))) return input.Path;
        throw new UserError($"{modelDir}: no training token store recorded in its manifest.json; give --data TOKENS (pretraining text for the ablation means)");
    }

    static string Summary(JsonObject r)
    {
        var c = r["controls"]!;
        string F(JsonNode? v) => ((double)v!).ToString("0.000", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"task {r["task"]}: {r["nodes"]} of {r["nodes_total"]} nodes, {r["edges"]} edges; loss per prompt {F(r["loss_unpruned"])} unpruned → {F(r["loss_pruned"])} pruned ({F(r["loss_pruned_calibrated"])} after the logit fit); target {F(r["target_loss"])} {((bool)r["reached_target"]! ? "reached" : "NOT reached")}",
            $"  held-out prompts: unpruned {F(c["held_out"]!["loss_unpruned"])}, circuit {F(c["held_out"]!["loss_pruned"])}",
            $"  completeness: without the circuit the loss is {F(c["completeness"]!["loss_without_circuit"])} ({((bool)c["completeness"]!["breaks_task"]! ? "task broken" : "task NOT broken")})",
            $"  zero vs mean ablation: {c["ablation"]!["zero"]!["nodes"]} vs {c["ablation"]!["mean"]!["nodes"]} nodes (means over {c["ablation"]!["mean_tokens"]} tokens of {c["ablation"]!["means_from"]})",
            $"  norms: circuit loss live {F(c["frozen_norms"]!["loss_pruned_live_norms"])}, frozen {F(c["frozen_norms"]!["loss_pruned_frozen_norms"])}",
        };
        foreach (var s in c["equal_loss"]!["sizes"]!.AsArray())
            lines.Add($"  {s!["variant"],-26} {s["nodes"],6} nodes {s["edges"],7} edges  loss {F(s["loss_pruned"])} (unpruned {F(s["loss_unpruned"])}){((bool)s["reached_target"]! ? "" : "  target not reached")}");
        lines.Add($"  {c["equal_loss"]!["note"]}");
        return string.Join('\n', lines);
    }
}
