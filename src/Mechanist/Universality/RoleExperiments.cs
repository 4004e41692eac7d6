using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Universality;

/// <summary>
/// The roles UN24 finds by intervening on model 0 (docs/METHODS.md §5.5): the entropy-neuron intervention and the
/// attention-deactivation heuristic with its path ablation, over the run's first windows. Written beside
/// universal.csv as <see cref="EntropyIntervention.CsvFile"/> (+ its plot) and <see cref="AttentionDeactivation.CsvFile"/>.
/// </summary>
public sealed record RoleExperiments(EntropyIntervention Entropy, AttentionDeactivation Deactivation)
{
    /// <summary>How many of each the command runs: entropy candidates, random control neurons (UN24: 20), path-ablated pairs.</summary>
    public sealed record Settings(long Tokens, int Candidates = 4, int RandomNeurons = 20, int Ablations = 5, ulong Seed = 0);

    public static RoleExperiments Run(ModelUnitBatches data, NeuronStatistics stats, Settings settings, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var model = data.Model(0);
        var batches = new List<(int[] Ids, int Windows)>();
        for (int b = 0; b < data.BatchCount && (long)batches.Sum(x => x.Windows) * data.Context < settings.Tokens; b++)
        {
            var (ids, _, windows) = data.Tokens(b);
            batches.Add((ids, windows));
        }
        var candidates = EntropyIntervention.Candidates(stats, settings.Candidates);
        var random = EntropyIntervention.RandomBaseline(stats, settings.RandomNeurons, settings.Seed, candidates);
        var entropy = EntropyIntervention.Run(model, batches, data.Context, candidates, random, progress, cancel);
        var deactivation = AttentionDeactivation.Run(model, batches, data.Context, settings.Ablations, progress, cancel);
        return new RoleExperiments(entropy, deactivation);
    }

    /// <summary>Roles found by intervention ("entropy", "anti-entropy", "attention_deactivation"), null for none.</summary>
    public string? RoleOf(int unit)
    {
        var roles = new[] { Entropy.RoleOf(unit), Deactivation.RoleOf(unit) }.OfType<string>().ToArray();
        return roles.Length == 0 ? null : string.Join(';', roles);
    }

    public void WriteTo(string dir)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, EntropyIntervention.CsvFile), Entropy.ToCsv());
        AtomicFile.WriteAllText(Path.Combine(dir, EntropyIntervention.PlotFile), Entropy.Plot());
        AtomicFile.WriteAllText(Path.Combine(dir, AttentionDeactivation.CsvFile), Deactivation.ToCsv());
    }

    public JsonObject Summary() => new() { ["entropy_intervention"] = Entropy.Summary(), ["attention_deactivation"] = Deactivation.Summary() };
}
