using Mechanist.Autograd;
using Mechanist.Circuits;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Circuits;

/// <summary>Gates, ablation, frozen norms, the surrogate gradient through a real model, bisection, edges, and a whole study.</summary>
public class PruningTests(CircuitFixture fx) : IClassFixture<CircuitFixture>
{
    (TaskPrompts Train, TaskPrompts HeldOut) Prompts(string task = "single_double_quote", int pairs = 8) =>
        TaskPrompts.Create(PythonTasks.Get(task), fx.Tokenizer, pairs, 4, 0, fx.Model.Config.Context);

    GatedModel Gated() => new(fx.Model, AblationMeans.FromStore(fx.Model, new CircuitNodes(fx.Model.Config), fx.Data, 4));

    [Fact]
    public void Nodes_cover_every_site_of_the_paper_in_pass_order()
    {
        var nodes = new CircuitNodes(fx.Model.Config);
        Assert.Equal(["0.attn.act_in", "0.attn.q", "0.attn.k", "0.attn.v", "0.attn.resid_delta", "0.mlp.act_in", "0.mlp.post_act", "0.mlp.resid_delta"],
            nodes.Sites.Take(8).Select(s => s.Name));
        Assert.Equal("final_resid", nodes.Sites[^1].Name);
        Assert.Equal(2 * (7 * 16 + 32) + 16, nodes.Count);
        Assert.Equal("0.mlp.post_act[3]", nodes.NameOf(nodes.Sites[6].Offset + 3));
    }

    [Fact]
    public void All_gates_open_is_the_model_and_all_closed_makes_every_prompt_alike()
    {
        var gated = Gated();
        var (train, _) = Prompts();
        var full = gated.Score(train, null, false);
        var open = gated.Score(train, Enumerable.Repeat(true, gated.Nodes.Count).ToArray(), false);
        var openFrozen = gated.Score(train, Enumerable.Repeat(true, gated.Nodes.Count).ToArray(), true);
        Assert.Equal(full.Loss, open.Loss, 1e-5);
        Assert.Equal(full.Loss, openFrozen.Loss, 1e-5);
        // Everything ablated: the unembedding reads the same mean vector at every prompt, so the logits are equal.
        using var _ = Tape.NoGrad();
        var logits = gated.LastLogits(train, GatedModel.Constant(new bool[gated.Nodes.Count]), false).Value;
        for (int r = 1; r < train.Count; r++)
            for (int v = 0; v < logits.Columns; v += 37) Assert.Equal(logits[v], logits[r * logits.Columns + v], 1e-4);
        Assert.True(AblationMeans.FromStore(fx.Model, gated.Nodes, fx.Data, 4).Tokens == 4 * fx.Model.Config.Context);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("sparse-micro")]
    public void A_replaced_norm_scale_is_used_and_the_models_own_changes_nothing(string family)
    {
        var model = family == "dense" ? fx.Model : SparseMicro();
        var tokens = fx.Tokenizer.Encode("x = [1, 2");
        using var _ = Tape.NoGrad();
        var clean = model.Forward(tokens, 1, tokens.Length).Value;
        foreach (var point in new CircuitNodes(model.Config).ScalePoints())
        {
            var (_, cache) = model.RunWithCache(tokens, 1, tokens.Length, [point]);
            var same = model.Forward(tokens, 1, tokens.Length, new Hooks<float>().Replace(point, _ => cache[point])).Value;
            for (int i = 0; i < clean.Length; i++) Assert.Equal(clean[i], same[i], 1e-4);
            var doubled = cache[point].Clone();
            for (int i = 0; i < doubled.Length; i++) doubled[i] *= 2;
            var other = model.Forward(tokens, 1, tokens.Length, new Hooks<float>().Replace(point, _ => doubled)).Value;
            Assert.True(Enumerable.Range(0, clean.Length).Max(i => Math.Abs(clean[i] - other[i])) > 1e-3, $"{point}: a doubled σ must change the logits");
        }
    }

    /// <summary>The weight-sparse family's smallest preset (RMSNorm, bigram table, attention sink, AbsTopK) with random weights.</summary>
    Transformer<float> SparseMicro()
    {
        var m = Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", fx.Tokenizer.VocabSize), 4);
        var rng = new Random(4);
        foreach (var (name, w) in m.Weights)
            if (!name.Contains("ln_")) for (int i = 0; i < w.Value.Length; i++) w.Value[i] = (float)(rng.NextDouble() * 0.6 - 0.3);
        return m;
    }

    [Fact]
    public void Gates_work_on_the_weight_sparse_family_too()
    {
        var model = SparseMicro();
        var nodes = new CircuitNodes(model.Config);
        var gated = new GatedModel(model, AblationMeans.FromStore(model, nodes, fx.Data, 2));
        var (train, _) = Prompts();
        var full = gated.Score(train, null, false);
        Assert.Equal(full.Loss, gated.Score(train, Enumerable.Repeat(true, nodes.Count).ToArray(), true).Loss, 1e-4);
        var result = Pruner.Prune(gated, train, new PruneOptions { Steps = 5, PairsPerBatch = 4, FreezeNorms = true }, budget: 10);
        Assert.Equal(10, result.Keep.Count(k => k));
        Assert.True(CircuitEdges.Of(model, nodes, result.Keep).Count >= 0);
    }

    [Fact]
    public void Gate_gradients_are_the_surrogate_times_the_finite_difference_of_the_loss_in_the_gate()
    {
        var gated = Gated();
        var (train, _) = Prompts(pairs: 4);
        int n = gated.Nodes.Count;
        var tauValues = new Tensor<float>(n);
        var rng = new Random(2);
        for (int i = 0; i < n; i++) tauValues[i] = (float)(rng.NextDouble() * 1.6 - 0.4); // most open, some closed
        var tau = Ops.Leaf(tauValues);
        using (var tape = Tape.Start())
            tape.Backward(Ops.ContrastLoss(gated.LastLogits(train, Ops.HardGate(tau), false), train.Right, train.Wrong));

        // d loss/d m by central differences at m = H(τ), gate by gate, then times σ'(τ).
        var m = new Tensor<float>(n);
        for (int i = 0; i < n; i++) m[i] = tauValues[i] > 0 ? 1 : 0;
        double Loss()
        {
            using var _ = Tape.NoGrad();
            return Ops.ContrastLoss(gated.LastLogits(train, Ops.Constant(m), false), train.Right, train.Wrong).Value[0];
        }
        var checkedNodes = Enumerable.Range(0, n).OrderByDescending(i => Math.Abs(tau.Grad![i])).Take(12).ToList();
        foreach (int i in checkedNodes)
        {
            const float h = 0.01f;
            float old = m[i];
            m[i] = old + h; double plus = Loss();
            m[i] = old - h; double minus = Loss();
            m[i] = old;
            double s = 1 / (1 + Math.Exp(-tauValues[i]));
            double expected = (plus - minus) / (2 * h) * s * (1 - s);
            Assert.True(Math.Abs(tau.Grad![i] - expected) <= 0.03 * Math.Abs(expected) + 1e-5,
                $"node {gated.Nodes.NameOf(i)}: gradient {tau.Grad[i]:E3} vs surrogate × finite difference {expected:E3}");
        }
    }

    [Fact]
    public void Bisection_finds_the_smallest_budget_at_the_target_or_says_it_is_unreachable()
    {
        var grid = Pruner.Grid(100, 12);
        Assert.Equal([1, 2, 4, 5, 8, 12, 19, 28, 43, 66, 100], grid);
        Assert.Equal((37, true), Pruner.Bisect(k => k >= 37 ? 0.1 : 1.0, grid, 0.15));
        Assert.Equal((1, true), Pruner.Bisect(_ => 0.0, grid, 0.15));
        Assert.Equal((100, false), Pruner.Bisect(_ => 0.5, grid, 0.15));
    }

    [Fact]
    public void Bisection_starts_from_the_smallest_grid_budget_that_reaches_the_target_even_when_every_node_misses_it()
    {
        // A pruned subset can beat the full model (seen on sparse-micro's bracket_counting: 0.178 at k = 112, 0.404 with
        // all 320 nodes). Nodes 20 to 60 reach the target here; every node does not.
        Assert.Equal((20, true), Pruner.Bisect(k => k is >= 20 and <= 60 ? 0.1 : 1.0, Pruner.Grid(100, 12), 0.15));
    }

    [Fact]
    public void Edges_are_nonzero_weights_between_kept_nodes()
    {
        var model = CircuitFixture.RandomModel(fx.Tokenizer.VocabSize, 3);
        var nodes = new CircuitNodes(model.Config);
        NodeSite Site(string name) => nodes.Sites.First(s => s.Name == name);
        var keep = new bool[nodes.Count];
        // One neuron reading one channel and writing one: 3 nodes, 2 edges (the paper's example).
        keep[Site("0.mlp.act_in").Offset + 2] = true;
        keep[Site("0.mlp.post_act").Offset + 5] = true;
        keep[Site("0.mlp.resid_delta").Offset + 7] = true;
        var edges = CircuitEdges.Of(model, nodes, keep);
        Assert.Equal(2, edges.Count);
        Assert.Equal(model.Blocks[0].MlpInWeight!.Value[2 * 32 + 5], edges.Single(e => e.To == Site("0.mlp.post_act").Offset + 5).Weight);
        model.Blocks[0].MlpOutWeight!.Value[5 * 16 + 7] = 0; // a zero weight is no edge
        Assert.Single(CircuitEdges.Of(model, nodes, keep));
        // The residual stream: channel 7 written by layer 0's MLP reaches layer 1's attention input and the unembedding.
        keep[Site("1.attn.act_in").Offset + 7] = true;
        keep[Site("final_resid").Offset + 7] = true;
        keep[Site("1.attn.act_in").Offset + 6] = true; // another channel: not connected
        Assert.Equal(3, CircuitEdges.Of(model, nodes, keep).Count);
    }

    [Fact]
    public void Pruning_keeps_tau_in_range_and_a_given_budget_exactly()
    {
        var gated = Gated();
        var (train, _) = Prompts();
        var result = Pruner.Prune(gated, train, new PruneOptions { Steps = 15, PairsPerBatch = 4 }, budget: 20);
        Assert.Equal(20, result.K);
        Assert.Equal(20, result.Keep.Count(k => k));
        Assert.All(result.Tau, t => Assert.InRange(t, -1f, 1f));
        Assert.All(result.Ranking.Take(20), i => Assert.True(result.Keep[i]));
        Assert.All(fx.Model.Weights, w => Assert.True(w.Weight.RequiresGrad)); // given back after pruning
        var e = Assert.Throws<UserError>(() => Pruner.Prune(gated, train, new PruneOptions { Steps = 1 }, budget: gated.Nodes.Count + 1));
        Assert.Contains($"between 1 and the model's {gated.Nodes.Count} nodes", e.Message);
    }

    [Fact]
    public void A_study_reports_sizes_losses_the_sweep_and_all_seven_controls()
    {
        var options = new CircuitStudyOptions { Prune = new PruneOptions { Steps = 12, PairsPerBatch = 4, TargetLoss = 0.6, SweepPoints = 4 }, Pairs = 8, HeldOutPairs = 4, MeanWindows = 2, NodeDetails = 3 };
        var report = CircuitStudy.Run(fx.Model, fx.Tokenizer, fx.Data, PythonTasks.Get("bracket_type"), options);
        var j = report.Json;
        foreach (string key in new[] { "nodes", "edges", "loss_unpruned", "loss_pruned", "loss_pruned_calibrated", "sweep", "circuit", "controls" })
            Assert.NotNull(j[key]);
        var controls = j["controls"]!.AsObject();
        Assert.Equal(["random_model", "nonsense_task", "ablation", "held_out", "frozen_norms", "completeness", "equal_loss"], controls.Select(c => c.Key));
        Assert.Equal(2 * fx.Model.Config.Context, (long)controls["ablation"]!["mean_tokens"]!);
        Assert.Equal(5, controls["equal_loss"]!["sizes"]!.AsArray().Count);
        Assert.True((double)j["loss_pruned_calibrated"]! <= (double)j["loss_pruned"]! + 1e-9);
        Assert.Contains("<svg", report.SweepSvg);
        int k = (int)j["nodes"]!;
        Assert.Equal(Math.Min(3, k), j["circuit"]!["nodes"]!.AsArray().Count);
        Assert.Equal(k, j["circuit"]!["sites"]!.AsArray().Sum(s => (int)s!["kept"]!));
    }
}
