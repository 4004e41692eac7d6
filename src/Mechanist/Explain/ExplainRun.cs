using Mechanist.Numerics;

namespace Mechanist.Explain;

/// <summary>What a run did, for the closing lines of the command.</summary>
public sealed record RunSummary(int Explained, int Skipped, int Failed, SortedDictionary<string, int> Errors);

/// <summary>
/// Explains and scores units: split each unit's evidence (seeded), explain from the explanation examples,
/// simulate the held-out examples (held-out top and interval samples plus random negatives), detect
/// activating versus random contexts, and score the top-token control on the same held-out tokens.
/// Results are appended to the store as each unit finishes, so cancelling loses only units in flight.
/// </summary>
public sealed class ExplainRun(IExplainer explainer, ISimulator simulator, IDetector detector)
{
    public int Seed { get; init; }
    /// <summary>Units worked on at once (the chat client separately bounds requests in flight).</summary>
    public int Concurrency { get; init; } = 1;
    /// <summary>Top-token control: token ids seen fewer times than this in the explanation examples predict 0.</summary>
    public int TopTokenMinCount { get; init; } = 2;
    /// <summary>Written into every result so scores can be traced to the server that produced them.</summary>
    public string? Server { get; init; }
    /// <summary>Called after each unit is stored (progress, token counts).</summary>
    public Action<ExplanationResult>? OnResult { get; init; }
    /// <summary>Called for each unit skipped because an earlier run finished it.</summary>
    public Action<UnitEvidence>? OnSkipped { get; init; }

    public async Task<RunSummary> RunAsync(IEnumerable<UnitEvidence> units, ExplanationStore store, CancellationToken cancel)
    {
        int explained = 0, skipped = 0, failed = 0;
        var errors = new UnitErrors();
        var todo = units.Where(u =>
        {
            if (!store.IsFinished(u.Kind, u.Id)) return true;
            Interlocked.Increment(ref skipped);
            OnSkipped?.Invoke(u);
            return false;
        });
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Concurrency), CancellationToken = cancel },
            async (unit, token) =>
            {
                var result = await ExplainUnitAsync(unit, token).ConfigureAwait(false);
                store.Append(result);
                if (result.Explanation is null) Interlocked.Increment(ref failed);
                else Interlocked.Increment(ref explained);
                foreach (var (k, v) in result.Errors) errors.Add(k, v);
                OnResult?.Invoke(result);
            }).ConfigureAwait(false);
        return new RunSummary(explained, skipped, failed, errors.Snapshot());
    }

    public async Task<ExplanationResult> ExplainUnitAsync(UnitEvidence unit, CancellationToken cancel)
    {
        var split = unit.Split(Seed);
        var errors = new UnitErrors();
        var result = new ExplanationResult { Kind = unit.Kind, Id = unit.Id, Server = Server, Seed = Seed };

        var heldOut = split.HeldOut.Select(h => h.Record).ToList();
        var control = TopTokenBaseline.Fit(split.ExplainAll, TopTokenMinCount);
        var controlScore = control.Score(heldOut);
        result.Scores.TopTokenPearson = controlScore.Pearson;
        result.Scores.TopTokenSpearman = controlScore.Spearman;
        result.TopTokens = control.TopTokens(5).ToList();
        result.SingleToken = IsSingleToken(unit.Top);

        // A unit that never fires in its examples has nothing to explain: say so without asking a model.
        bool fires = split.ExplainAll.Any(r => r.Max > 0);
        var explanation = fires
            ? await explainer.ExplainAsync(unit, split, errors, cancel).ConfigureAwait(false)
            : new BuiltinExplainer().Explain(unit, split);
        result.Explanation = explanation.Text;
        result.Explainer = explanation.Explainer;
        result.Model = explanation.Model;
        result.Rule = explanation.Rule;
        result.Scores.BuiltinFitPearson = explanation.Fit;

        if (explanation.Text is not null && heldOut.Count > 0)
        {
            result.Simulator = simulator.Name;
            // All records at once: the chat client's own limit bounds the requests in flight.
            var predictions = await Task.WhenAll(heldOut.Select(r => simulator.SimulateAsync(explanation, r, errors, cancel))).ConfigureAwait(false);
            var sim = Scoring.Simulation(heldOut, predictions);
            if (sim.Records > 0)
            {
                result.Scores.SimulationPearson = sim.Pearson;
                result.Scores.SimulationSpearman = sim.Spearman;
                result.Scores.PearsonOverTopToken = sim.Pearson - controlScore.Pearson;
            }
            result.Scores.SimulationTokens = sim.Tokens;
            result.Scores.SimulationRecords = sim.Records;
            result.Scores.SimulationFailedRecords = sim.FailedRecords;

            // Detection: held-out activating contexts against held-out random ones, in a seeded order so a
            // prompt of five mixes both kinds.
            var contexts = DetectionContexts(split, unit.Id ^ Seed);
            if (contexts.Count > 0)
            {
                result.Detector = detector.Name;
                var answers = await detector.DetectAsync(explanation, contexts.Select(c => c.Record).ToList(), errors, cancel).ConfigureAwait(false);
                var det = Scoring.Detection(contexts.Select(c => c.Activating).ToList(), answers);
                result.Scores.DetectionBalancedAccuracy = det.Positives + det.Negatives > 0 ? det.BalancedAccuracy : null;
                result.Scores.DetectionPrecision = det.Precision;
                result.Scores.DetectionRecall = det.Recall;
                result.Scores.DetectionF1 = det.F1;
                result.Scores.DetectionContexts = contexts.Count;
                result.Scores.DetectionFailed = det.Failed;
            }
        }
        result.Errors = errors.Snapshot();
        result.FinishedUtc = DateTime.UtcNow;
        return result;
    }

    static List<HeldOutRecord> DetectionContexts(EvidenceSplit split, int seed)
    {
        var list = split.HeldOut.ToList();
        var rng = new SplitMix64((ulong)(uint)seed + 17);
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = (int)(rng.Next() % (ulong)(i + 1));
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }

    /// <summary>TM23's single-token test: every top example peaks on the same token (needs at least two).</summary>
    public static bool IsSingleToken(IReadOnlyList<ActivationRecord> top)
    {
        if (top.Count < 2) return false;
        string? first = null;
        foreach (var r in top)
        {
            if (r.Tokens.Length == 0) return false;
            int arg = 0;
            for (int t = 1; t < r.Activations.Length; t++) if (r.Activations[t] > r.Activations[arg]) arg = t;
            if (first is null) first = r.Tokens[arg];
            else if (r.Tokens[arg] != first) return false;
        }
        return true;
    }
}
