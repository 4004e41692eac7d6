
namespace Mechanist.Models;

/// <summary>
/// What a model's saved weights say about its sparsity, read from the weights (not from any training log): per
/// sparsified tensor (<see cref="WeightSparsifier.RoleOf"/>) its nonzero entries and its emptiest neuron.
/// </summary>
public sealed record SparsityReport(IReadOnlyList<SparsityReport.Entry> Tensors)
{
    /// <param name="FewestPerNeuron">Nonzero entries of the neuron with fewest (null for a bias).</param>
    public sealed record Entry(string Name, bool Hidden, long NonZero, long Total, int? FewestPerNeuron, int Fan)
    {
        public double Density => Total == 0 ? 0 : NonZero / (double)Total;
    }

    /// <summary>Kept fraction of the hidden matrices together.</summary>
    public double HiddenDensity => Fraction(Tensors.Where(t => t.Hidden));
    /// <summary>Kept fraction of the embeddings, unembedding and biases together.</summary>
    public double OtherDensity => Fraction(Tensors.Where(t => !t.Hidden));

    /// <summary>A model counts as weight-sparse when its hidden matrices keep at most this fraction.</summary>
    public const double SparseAtMost = 0.5;

    public bool IsSparse => HiddenDensity <= SparseAtMost;

    static double Fraction(IEnumerable<Entry> tensors)
    {
        long nz = 0, total = 0;
        foreach (var t in tensors) { nz += t.NonZero; total += t.Total; }
        return total == 0 ? 0 : nz / (double)total;
    }

    public static SparsityReport Of(Transformer<float> model)
    {
        var tensors = new List<Entry>();
        foreach (var (name, weight) in model.Weights)
        {
            if (WeightSparsifier.RoleOf(name) is not { } role) continue;
            var w = weight.Value.Span;
            long nz = 0;
            foreach (float v in w) if (v != 0) nz++;
            int rows = weight.Value.Rank == 1 ? 1 : weight.Value.RowCount, cols = weight.Value.Columns;
            int? fewest = null;
            int fan = role.Axis == NeuronAxis.Rows ? cols : role.Axis == NeuronAxis.Columns ? rows : 0;
            if (role.Axis != NeuronAxis.None)
            {
                int neurons = role.Axis == NeuronAxis.Rows ? rows : cols;
                var counts = new int[neurons];
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        if (w[r * cols + c] != 0) counts[role.Axis == NeuronAxis.Rows ? r : c]++;
                fewest = counts.Min();
            }
            tensors.Add(new Entry(name, role.Hidden, nz, w.Length, fewest, fan));
        }
        return new SparsityReport(tensors);
    }

    /// <summary>
    /// Loads a model folder for a command that needs a weight-sparse model; a dense one (hidden matrices more than
    /// half nonzero) is one UserError that says how to make a sparse one.
    /// </summary>
    public static (Transformer<float> Model, SparsityReport Report) RequireSparse(string dir)
    {
        var model = ModelFiles.Load(dir);
        var report = Of(model);
        if (!report.IsSparse)
            throw new UserError($"{dir} is a dense model ({report.HiddenDensity:P1} of its hidden weights are nonzero); this needs a weight-sparse one: " +
                "train it with `mechanist sparse train --weight-density F` (F ≤ 0.5, e.g. 0.0625)");
        return (model, report);
    }
}
