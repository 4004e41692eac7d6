using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.Numerics;

namespace Mechanist.Circuits;

/// <summary>
/// Learns which nodes a task needs (docs/METHODS.md §6.5): a τ per node, hard gates H(τ) in the forward pass with the
/// sigmoid-derivative surrogate backward (<see cref="Ops.HardGate{T}"/>), loss = task contrast loss + k_coef · open
/// gates, AdamW, τ clamped to [−1, 1] after every step. Then ranks the nodes by τ and bisects the budget k to the
/// smallest that reaches the target loss with hard masks, starting from the budget grid that the sweep reports.
/// </summary>
public static class Pruner
{
    public static PruneResult Prune(GatedModel model, TaskPrompts train, PruneOptions options, int? budget = null, IProgressTask? progress = null)
    {
        options.Validate();
        int n = model.Nodes.Count;
        if (budget is int b && (b < 1 || b > n))
            throw new UserError($"--k {b}: the budget must be between 1 and the model's {n} nodes");
        // The model's weights take no gradient while its gates learn (they would cost a third of every backward pass).
        var weights = model.Model.Weights.Select(w => w.Weight).Where(w => w.RequiresGrad).ToList();
        foreach (var w in weights) w.RequiresGrad = false;
        float[] tau;
        double finalTaskLoss;
        try { tau = Train(model, train, options, progress, out finalTaskLoss); }
        finally { foreach (var w in weights) w.RequiresGrad = true; }
        var ranking = Enumerable.Range(0, n).OrderByDescending(i => tau[i]).ThenBy(i => i).ToArray();
        double LossAt(int k) => model.Score(train, PruneResult.TopK(ranking, k), options.FreezeNorms).Loss;
        int kept;
        bool reached;
        if (budget is int given) { kept = given; reached = LossAt(given) <= options.TargetLoss; }
        else (kept, reached) = Bisect(LossAt, Grid(n, options.SweepPoints), options.TargetLoss);
        var keep = PruneResult.TopK(ranking, kept);
        return new PruneResult(tau, ranking, kept, reached, keep, LossAt(kept), finalTaskLoss);
    }

    /// <summary>
    /// The smallest budget with loss(k) ≤ target: the smallest k of the ascending <paramref name="grid"/> (ending at
    /// every node) that reaches the target is the upper end, the grid point below it the lower end, and k is bisected
    /// between them (assuming the loss falls with k there). The loss is not monotone over the whole range: a pruned
    /// subset can beat the full model, so "every node misses the target" does not mean that no budget reaches it.
    /// (n, false) when no grid point reaches the target.
    /// </summary>
    public static (int K, bool Reached) Bisect(Func<int, double> loss, IReadOnlyList<int> grid, double target)
    {
        int lo = 0, hi = -1; // loss(hi) ≤ target; loss(lo) taken to be above it
        foreach (int k in grid)
        {
            if (loss(k) <= target) { hi = k; break; }
            lo = k;
        }
        if (hi < 0) return (grid[^1], false);
        while (hi - lo > 1)
        {
            int mid = lo + (hi - lo) / 2;
            if (loss(mid) <= target) hi = mid; else lo = mid;
        }
        return (hi, true);
    }

    /// <summary>Node budgets on a geometric grid from 1 to <paramref name="n"/> (both included), ascending, distinct.</summary>
    public static int[] Grid(int n, int points)
    {
        points = Math.Max(2, points);
        return Enumerable.Range(0, points).Select(i => (int)Math.Round(Math.Pow(n, i / (double)(points - 1))))
            .Where(k => k >= 1 && k <= n).Append(n).Distinct().Order().ToArray();
    }

    static float[] Train(GatedModel model, TaskPrompts train, PruneOptions o, IProgressTask? progress, out double lastTaskLoss)
    {
        int n = model.Nodes.Count;
        var tau = new Parameter("tau", new Tensor(n), weightDecay: true);
        var rng = new Rng(o.Seed).Stream(5);
        rng.FillNormal(tau.Value.Span, o.InitMean, o.InitStd);
        var optimizer = new AdamW([tau], o.LearningRate, 0.9f, o.Beta2, 1e-8f, o.WeightDecay);
        var schedule = new LearningRateSchedule((long)Math.Ceiling(o.WarmupFraction * o.Steps), o.Steps, DecayShape.Linear);
        int pairs = train.Count / 2, perBatch = Math.Min(o.PairsPerBatch, pairs);
        var order = Enumerable.Range(0, pairs).ToArray();
        int next = pairs;
        lastTaskLoss = double.NaN;
        for (int step = 0; step < o.Steps; step++)
        {
            var batch = new int[2 * perBatch];
            for (int i = 0; i < perBatch; i++)
            {
                if (next == pairs) { rng.Shuffle(order.AsSpan()); next = 0; }
                int p = order[next++];
                batch[2 * i] = 2 * p;
                batch[2 * i + 1] = 2 * p + 1;
            }
            var prompts = train.Pick(batch);
            using (var tape = Tape.Start())
            {
                var gates = Ops.HardGate(Var<float>.Of(tau));
                var logits = model.LastLogits(prompts, gates, o.FreezeNorms);
                var task = Ops.ContrastLoss(logits, prompts.Right, prompts.Wrong);
                var loss = Ops.Add(task, Ops.Scale(Ops.Sum(gates), o.KCoef));
                tape.Backward(loss);
                lastTaskLoss = task.Value[0];
            }
            if (o.ClipNorm > 0) GradientClipping.ClipGlobalNorm([tau], o.ClipNorm);
            optimizer.LearningRate = (float)(o.LearningRate * schedule.Factor(step));
            optimizer.Step();
            tau.ZeroGrad();
            var t = tau.Value.Span;
            for (int i = 0; i < n; i++) t[i] = Math.Clamp(t[i], -1f, 1f);
            progress?.Advance(1);
            if (step % 20 == 0) progress?.SetStatus($"task loss {lastTaskLoss:0.000}, open {t.ToArray().Count(v => v > 0)}");
        }
        return tau.Value.ToArray();
    }
}
