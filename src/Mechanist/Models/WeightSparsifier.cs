using Mechanist.Autograd;
using Mechanist.Numerics.Sparse;

namespace Mechanist.Models;

/// <summary>
/// Applies weight sparsity to a model after every optimizer step (docs/METHODS.md §6.2): each sparsified tensor keeps
/// its scheduled fraction of entries by magnitude (<see cref="MagnitudePruning"/>, at least 4 per neuron). Which
/// tensors and at which target: <see cref="RoleOf"/>.
/// </summary>
public sealed class WeightSparsifier
{
    readonly List<(Var<float> Weight, TensorRole Role)> _tensors = [];
    readonly Transformer<float> _model;
    readonly bool _sparseKernels;

    /// <param name="sparseKernels">Run hidden matrices at density ≤ <see cref="SparseGemm.CrossoverDensity"/> on the sparse
    /// kernels (<see cref="Transformer{T}.UseSparseForm"/>); the same mathematics, faster where measured (bench/README.md).</param>
    public WeightSparsifier(Transformer<float> model, SparseSchedule schedule, bool sparseKernels = true)
    {
        (_model, Schedule, _sparseKernels) = (model, schedule, sparseKernels);
        foreach (var (name, weight) in model.Weights)
            if (RoleOf(name) is { } role) _tensors.Add((weight, role));
        UpdateSparseForms(); // a resumed run's weights are already pruned: its first step runs as the interrupted run's would have
    }

    public SparseSchedule Schedule { get; }

    /// <summary>The kept fraction of the hidden matrices after the last <see cref="Project"/>.</summary>
    public double HiddenDensity { get; private set; } = 1;

    /// <summary>How a weight is sparsified: its neurons, and whether it is a hidden matrix (else an embedding, unembedding or bias).</summary>
    public readonly record struct TensorRole(bool Hidden, NeuronAxis Axis);

    /// <summary>
    /// The role of the weight <paramref name="name"/>, or null when it stays dense (the bigram table, norm gains, sinks).
    /// Hidden matrices: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (Conv1D [in, out]: a column is a neuron).
    /// wte, wpe, lm_head: a row is a neuron (a token's or position's vector, a token's logit). Biases: no neurons.
    /// </summary>
    public static TensorRole? RoleOf(string name)
    {
        if (name == Transformer<float>.BigramName || name.Contains(".ln_") || name.StartsWith("transformer.ln_f") || name.EndsWith(".sink")) return null;
        if (name.EndsWith(".bias")) return new TensorRole(false, NeuronAxis.None);
        if (name.EndsWith("attn.c_attn.weight") || name.EndsWith("attn.c_proj.weight") || name.EndsWith("mlp.c_fc.weight") || name.EndsWith("mlp.c_proj.weight"))
            return new TensorRole(true, NeuronAxis.Columns);
        if (name is "transformer.wte.weight" or "transformer.wpe.weight" or "lm_head.weight") return new TensorRole(false, NeuronAxis.Rows);
        throw new ArgumentException($"no sparsity role for weight '{name}'");
    }

    /// <summary>Prunes every sparsified tensor to its density after <paramref name="done"/> steps.</summary>
    public void Project(long done)
    {
        double hidden = Schedule.Density(Schedule.HiddenDensity, done), other = Schedule.Density(Schedule.EmbeddingDensity, done);
        long kept = 0, total = 0;
        foreach (var (weight, role) in _tensors)
        {
            var w = weight.Value;
            double density = role.Hidden ? hidden : other;
            int k = (int)Math.Round(density * w.Length);
            int rows = w.Rank == 1 ? 1 : w.RowCount;
            int n = density >= 1 ? w.Length : MagnitudePruning.Keep(w.Span, rows, w.Columns, role.Axis, Math.Max(1, k), SparseSchedule.MinAlivePerNeuron);
            if (role.Hidden) { kept += n; total += w.Length; }
        }
        HiddenDensity = total == 0 ? 1 : kept / (double)total;
        UpdateSparseForms();
    }

    /// <summary>Gives each hidden matrix sparse enough its compressed-row form, and takes it from the others.</summary>
    void UpdateSparseForms()
    {
        foreach (var (weight, role) in _tensors)
        {
            if (!role.Hidden) continue;
            var w = weight.Value;
            bool sparse = _sparseKernels && SparsePattern.CountNonZeros<float>(w.Span) <= SparseGemm.CrossoverDensity * w.Length;
            _model.UseSparseForm(weight, sparse ? SparsePattern.FromNonZeros<float>(w.Span, w.RowCount, w.Columns) : null);
        }
    }
}
