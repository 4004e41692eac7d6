using System.Text.Json.Nodes;
using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Plots;
using Mechanist.Text;

namespace Mechanist.Circuits;

/// <summary>
/// Prunes a model to a task's circuit and runs the seven faithfulness controls of docs/METHODS.md §6.6 around it:
/// a random (weight-shuffled) model, a nonsense task (answers permuted), zero vs mean ablation, held-out prompts,
/// the other norm setting (frozen vs live), completeness (the model without the circuit) and sizes at equal loss.
/// Works on any model of the shared forward pass.
/// </summary>
public static class CircuitStudy
{
    public static CircuitReport Run(Transformer<float> model, BpeTokenizer tokenizer, TokenStore data, CircuitTask task,
        CircuitStudyOptions o, IProgressReporter? progress = null)
    {
        progress ??= IProgressReporter.None;
        var p = o.Prune.Validate();
        var nodes = new CircuitNodes(model.Config);
        if (o.Budget is int budget && (budget < 1 || budget > nodes.Count))
            throw new UserError($"--k {budget}: the budget must be between 1 and the model's {nodes.Count} nodes");
        if (tokenizer.VocabSize > model.Config.Vocab)
            throw new UserError($"the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.Vocab}: not this model's tokenizer");
        var (train, heldOut) = TaskPrompts.Create(task, tokenizer, o.Pairs, o.HeldOutPairs, o.Seed, model.Config.Context);
        var means = AblationMeans.FromStore(model, nodes, data, o.MeanWindows);
        var gated = new GatedModel(model, means);

        PruneResult Prune(GatedModel m, TaskPrompts prompts, PruneOptions settings, string label)
        {
            using var bar = progress.Start($"pruning: {label}", settings.Steps, "step");
            return Pruner.Prune(m, prompts, settings, o.Budget, bar);
        }

        var unpruned = gated.Score(train, null, false);
        var unprunedHeldOut = gated.Score(heldOut, null, false);
        var main = Prune(gated, train, p, task.Name);
        var circuit = gated.Score(train, main.Keep, p.FreezeNorms);
        var circuitHeldOut = gated.Score(heldOut, main.Keep, p.FreezeNorms);
        var edges = CircuitEdges.Of(model, nodes, main.Keep);
        var orientation = train.Positive;
        var d = circuit.Margins.Select((m, i) => orientation[i] ? m : -m).ToList();
        var calibration = LogitCalibration.Fit(d, orientation);

        var sweep = Sweep(gated, train, heldOut, main, p.FreezeNorms, p.SweepPoints);
        var details = NodeDetails(gated, tokenizer, train, main, p.FreezeNorms, circuit.Loss, o.NodeDetails);

        // The controls.
        var shuffled = ShuffledModel.Of(model, o.Seed + 1);
        var shuffledGated = new GatedModel(shuffled, AblationMeans.FromStore(shuffled, nodes, data, o.MeanWindows));
        var random = Prune(shuffledGated, train, p, "random model");
        var nonsenseTrain = train.WithPermutedAnswers(o.Seed + 2);
        var nonsenseHeldOut = heldOut.WithPermutedAnswers(o.Seed + 3);
        var nonsense = Prune(gated, nonsenseTrain, p, "nonsense task");
        var zeroGated = new GatedModel(model, AblationMeans.Zero(nodes));
        var zero = Prune(zeroGated, train, p, "zero ablation");
        var otherNorms = p with { FreezeNorms = !p.FreezeNorms };
        var otherNormsRun = Prune(gated, train, otherNorms, p.FreezeNorms ? "live norms" : "frozen norms");
        var without = gated.Score(train, main.Keep.Select(k => !k).ToArray(), p.FreezeNorms);

        JsonObject Size(string name, PruneResult r, Transformer<float> m, GatedModel g, bool freeze, TaskPrompts prompts) => new()
        {
            ["variant"] = name,
            ["nodes"] = r.K,
            ["edges"] = CircuitEdges.Of(m, nodes, r.Keep).Count,
            ["loss_pruned"] = r.Loss,
            ["loss_unpruned"] = g.Score(prompts, null, false).Loss,
            ["reached_target"] = r.Reached,
            ["frozen_norms"] = freeze,
        };
        var sizes = new JsonArray
        {
            Size("circuit (mean ablation)", main, model, gated, p.FreezeNorms, train),
            Size("random model", random, shuffled, shuffledGated, p.FreezeNorms, train),
            Size("nonsense task", nonsense, model, gated, p.FreezeNorms, nonsenseTrain),
            Size("zero ablation", zero, model, zeroGated, p.FreezeNorms, train),
            Size(otherNorms.FreezeNorms ? "frozen norms" : "live norms", otherNormsRun, model, gated, otherNorms.FreezeNorms, train),
        };
        var comparable = sizes.Where(s => (bool)s!["reached_target"]!).Select(s => (JsonNode)(string)s!["variant"]!).ToArray();
        double chance = Math.Log(2);

        var controls = new JsonObject
        {
            ["random_model"] = Merge((JsonObject)sizes[1]!.DeepClone(), new JsonObject
            {
                ["how"] = "every weight tensor's entries permuted at random (same architecture, same values and zeros), then pruned with the same settings",
                ["loss_at_circuit_k"] = shuffledGated.Score(train, PruneResult.TopK(random.Ranking, main.K), p.FreezeNorms).Loss,
            }),
            ["nonsense_task"] = Merge((JsonObject)sizes[2]!.DeepClone(), new JsonObject
            {
                ["how"] = "the same prompts with their answers permuted at random, so no cue predicts them; the method should fail",
                ["loss_held_out"] = gated.Score(nonsenseHeldOut, nonsense.Keep, p.FreezeNorms).Loss,
            }),
            ["ablation"] = new JsonObject
            {
                ["means_from"] = means.Source,
                ["mean_tokens"] = means.Tokens,
                ["mean"] = new JsonObject { ["nodes"] = main.K, ["edges"] = edges.Count, ["loss_pruned"] = main.Loss, ["reached_target"] = main.Reached },
                ["zero"] = new JsonObject
                {
                    ["nodes"] = zero.K, ["edges"] = CircuitEdges.Of(model, nodes, zero.Keep).Count, ["loss_pruned"] = zero.Loss, ["reached_target"] = zero.Reached,
                    ["loss_of_mean_circuit_zero_ablated"] = zeroGated.Score(train, main.Keep, p.FreezeNorms).Loss,
                },
            },
            ["held_out"] = new JsonObject
            {
                ["prompts"] = heldOut.Count,
                ["loss_unpruned"] = unprunedHeldOut.Loss, ["accuracy_unpruned"] = unprunedHeldOut.Accuracy,
                ["loss_pruned"] = circuitHeldOut.Loss, ["accuracy_pruned"] = circuitHeldOut.Accuracy,
            },
            ["frozen_norms"] = new JsonObject
            {
                ["hard_masks"] = true,
                ["pruned_with_frozen_norms"] = p.FreezeNorms,
                ["loss_pruned_live_norms"] = gated.Score(train, main.Keep, false).Loss,
                ["loss_pruned_frozen_norms"] = gated.Score(train, main.Keep, true).Loss,
                ["other_setting"] = (JsonObject)sizes[4]!.DeepClone(),
            },
            ["completeness"] = new JsonObject
            {
                ["how"] = "the full model with the circuit's nodes ablated (every other node kept)",
                ["loss_without_circuit"] = without.Loss, ["accuracy_without_circuit"] = without.Accuracy,
                ["breaks_task"] = without.Loss >= chance,
                ["chance_loss"] = chance,
            },
            ["equal_loss"] = new JsonObject
            {
                ["target_loss"] = p.TargetLoss,
                ["sizes"] = sizes,
                ["comparable"] = new JsonArray(comparable),
                ["note"] = o.Budget is int k
                    ? $"every variant was given the same budget k = {k}: sizes are equal by construction, compare their losses"
                    : "compare nodes and edges only among variants that reached the target loss",
            },
        };

        var json = new JsonObject
        {
            ["task"] = task.Name,
            ["cue"] = task.Cue,
            ["target"] = train.Target,
            ["alternative"] = train.Alternative,
            ["examples"] = new JsonArray(train.Texts.Take(4).Select(t => (JsonNode)t).ToArray()),
            ["prompts"] = new JsonObject { ["train"] = train.Count, ["held_out"] = heldOut.Count },
            ["loss_per"] = "prompt (the two-sided pair loss halved)",
            ["nodes_total"] = nodes.Count,
            ["nodes"] = main.K,
            ["edges"] = edges.Count,
            ["target_loss"] = p.TargetLoss,
            ["reached_target"] = main.Reached,
            ["loss_unpruned"] = unpruned.Loss,
            ["accuracy_unpruned"] = unpruned.Accuracy,
            ["loss_pruned"] = circuit.Loss,
            ["accuracy_pruned"] = circuit.Accuracy,
            ["loss_pruned_calibrated"] = calibration.Loss,
            ["calibration"] = new JsonObject { ["scale"] = calibration.Scale, ["shift"] = calibration.Shift },
            ["frozen_norms"] = p.FreezeNorms,
            ["settings"] = Settings(p, o),
            ["sweep"] = sweep,
            ["circuit"] = new JsonObject
            {
                ["nodes"] = details,
                ["sites"] = new JsonArray(nodes.Sites.Select(s => (JsonNode)new JsonObject
                {
                    ["site"] = s.Name, ["hook"] = s.Point.Name, ["width"] = s.Width,
                    ["kept"] = Enumerable.Range(s.Offset, s.Width).Count(i => main.Keep[i]),
                }).ToArray()),
                ["edges"] = new JsonArray(edges.OrderByDescending(e => Math.Abs(e.Weight)).Select(e => (JsonNode)new JsonObject
                {
                    ["from"] = nodes.NameOf(e.From), ["to"] = nodes.NameOf(e.To), ["weight"] = e.Weight,
                }).ToArray()),
            },
            ["controls"] = controls,
        };
        return new CircuitReport(json, SweepChart(task.Name, sweep, main.K));
    }

    static JsonObject Merge(JsonObject into, JsonObject more)
    {
        foreach (var (key, value) in more.ToList()) { more.Remove(key); into[key] = value; }
        return into;
    }

    static JsonObject Settings(PruneOptions p, CircuitStudyOptions o) => new()
    {
        ["steps"] = p.Steps, ["pairs_per_batch"] = p.PairsPerBatch, ["lr"] = p.LearningRate, ["k_coef"] = p.KCoef,
        ["weight_decay"] = p.WeightDecay, ["beta2"] = p.Beta2, ["tau_init"] = $"N({p.InitMean}, {p.InitStd}²)",
        ["warmup"] = p.WarmupFraction, ["clip_norm"] = p.ClipNorm, ["seed"] = p.Seed,
        ["budget"] = o.Budget is int k ? k : null,
        ["searched"] = "one setting (the centres of the paper's search); no grid",
    };

    /// <summary>Train and held-out loss of the top-k nodes (ranked by τ) for k on a geometric grid from 1 to every node, and the chosen k.</summary>
    static JsonArray Sweep(GatedModel gated, TaskPrompts train, TaskPrompts heldOut, PruneResult main, bool freeze, int points)
    {
        var ks = Pruner.Grid(gated.Nodes.Count, points).Append(main.K).Distinct().Order();
        return new JsonArray(ks.Select(k =>
        {
            var keep = PruneResult.TopK(main.Ranking, k);
            return (JsonNode)new JsonObject
            {
                ["k"] = k, ["loss"] = gated.Score(train, keep, freeze).Loss, ["loss_held_out"] = gated.Score(heldOut, keep, freeze).Loss,
            };
        }).ToArray());
    }

    static string SweepChart(string task, JsonArray sweep, int k)
    {
        List<(double, double)> Series(string key) => sweep.Select(s => ((double)(int)s!["k"]!, (double)s[key]!)).ToList();
        var chart = new LineChart($"{task}: task loss vs node budget k (chosen k = {k})", "nodes kept (k, log scale)", "loss per prompt (log scale)",
        [
            new LineSeries("train prompts", "#1f77b4", Series("loss")),
            new LineSeries("held-out prompts", "#d62728", Series("loss_held_out")),
        ]) { LogX = true, LogY = true, YFormat = v => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) };
        return chart.ToFile();
    }

    /// <summary>
    /// For the kept nodes (highest τ first, at most <paramref name="limit"/>): the unpruned model's five largest activations
    /// of the node on the task prompts (token, the text before it, value), and the circuit's loss change when the node
    /// alone is ablated from it.
    /// </summary>
    static JsonArray NodeDetails(GatedModel gated, BpeTokenizer tokenizer, TaskPrompts prompts, PruneResult main, bool freeze,
        double circuitLoss, int limit)
    {
        var nodes = gated.Nodes;
        var chosen = main.Ranking.Take(main.K).Take(Math.Max(0, limit)).ToList();
        var top = chosen.ToDictionary(i => i, _ => new List<(float Value, int Prompt, int Position)>());
        int n = prompts.Count, seq = prompts.Tokens.Max(t => t.Length);
        var tokens = new int[n * seq];
        for (int i = 0; i < n; i++) prompts.Tokens[i].CopyTo(tokens, i * seq);
        Dictionary<HookPoint, Numerics.Tensor<float>> cache;
        using (Tape.NoGrad()) cache = gated.Model.RunWithCache(tokens, n, seq, nodes.Sites.Select(s => s.Point)).Cache;
        foreach (int node in chosen)
        {
            var site = nodes.SiteOf(node);
            int channel = node - site.Offset;
            var values = cache[site.Point].Span;
            var list = top[node];
            for (int i = 0; i < n; i++)
                for (int pos = 0; pos < prompts.Tokens[i].Length; pos++)
                    list.Add((values[(i * seq + pos) * site.Width + channel], i, pos));
            list.Sort((a, b) => b.Value.CompareTo(a.Value));
            if (list.Count > 5) list.RemoveRange(5, list.Count - 5);
        }
        return new JsonArray(chosen.Select(node =>
        {
            var site = nodes.SiteOf(node);
            var without = (bool[])main.Keep.Clone();
            without[node] = false;
            return (JsonNode)new JsonObject
            {
                ["name"] = nodes.NameOf(node),
                ["site"] = site.Name,
                ["layer"] = site.Layer,
                ["channel"] = node - site.Offset,
                ["tau"] = main.Tau[node],
                ["ablation_effect"] = gated.Score(prompts, without, freeze).Loss - circuitLoss,
                ["top"] = new JsonArray(top[node].Select(t =>
                {
                    var ids = prompts.Tokens[t.Prompt];
                    return (JsonNode)new JsonObject
                    {
                        ["token"] = tokenizer.Decode(ids.AsSpan(t.Position, 1)),
                        ["before"] = tokenizer.Decode(ids.AsSpan(Math.Max(0, t.Position - 8), t.Position - Math.Max(0, t.Position - 8))),
                        ["value"] = t.Value,
                    };
                }).ToArray()),
            };
        }).ToArray());
    }
}
