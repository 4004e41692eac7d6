using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>
/// Weight-sparse training's bookkeeping: the schedule's boundaries, which weights are pruned in which role, the hidden
/// density the sparsifier reports (against an independent count of the nonzeros), which matrices get sparse forms,
/// and the report's fractions at their edges.
/// </summary>
public class WeightSparsityContractTests
{
    [Fact]
    public void The_schedule_is_dense_up_to_and_at_one_percent_and_final_from_fifty_percent()
    {
        var s = new SparseSchedule(200, 0.1, 0.4);
        Assert.Equal(1, s.Density(0.1, 2));    // exactly 1 %
        Assert.True(s.Density(0.1, 3) < 1);
        Assert.Equal(0.1, s.Density(0.1, 100)); // exactly 50 %
        Assert.True(s.Density(0.1, 99) > 0.1);
        Assert.Equal(0.1, new SparseSchedule(0, 0.1, 0.4).Density(0.1, 0)); // no steps: the target at once
        Assert.Equal(0.4, SparseSchedule.DefaultEmbeddingDensity(0.1), 12);
        Assert.Equal(1, SparseSchedule.DefaultEmbeddingDensity(0.3));
    }

    [Theory]
    [InlineData("bigram.weight", null, null)]
    [InlineData("transformer.h.0.ln_1.weight", null, null)]
    [InlineData("transformer.ln_f.weight", null, null)]
    [InlineData("transformer.h.0.attn.sink", null, null)]
    [InlineData("transformer.h.0.mlp.c_fc.bias", false, NeuronAxis.None)]
    [InlineData("transformer.h.1.attn.c_attn.weight", true, NeuronAxis.Columns)]
    [InlineData("transformer.h.1.attn.c_proj.weight", true, NeuronAxis.Columns)]
    [InlineData("transformer.h.1.mlp.c_fc.weight", true, NeuronAxis.Columns)]
    [InlineData("transformer.h.1.mlp.c_proj.weight", true, NeuronAxis.Columns)]
    [InlineData("transformer.wte.weight", false, NeuronAxis.Rows)]
    [InlineData("transformer.wpe.weight", false, NeuronAxis.Rows)]
    [InlineData("lm_head.weight", false, NeuronAxis.Rows)]
    public void Each_weight_has_its_role(string name, bool? hidden, NeuronAxis? axis)
    {
        var role = WeightSparsifier.RoleOf(name);
        Assert.Equal(hidden, role?.Hidden);
        Assert.Equal(axis, role?.Axis);
    }

    [Fact]
    public void A_weight_without_a_role_is_named()
    {
        Assert.Equal("no sparsity role for weight 'transformer.h.0.mlp.gate.weight'",
            Assert.Throws<ArgumentException>(() => WeightSparsifier.RoleOf("transformer.h.0.mlp.gate.weight")).Message);
    }

    [Fact]
    public void The_reported_hidden_density_is_the_nonzero_fraction_of_the_hidden_matrices()
    {
        // d_model 128: four per neuron is 1/32 of a fan-in of 128, below the sparse kernels' crossover of 1/16.
        var model = Transformer<float>.Create(TransformerConfig.Preset("sparse-2l", 50), 3);
        var sparsifier = new WeightSparsifier(model, new SparseSchedule(100, 0.04, 0.2));
        Assert.Equal(1, sparsifier.HiddenDensity);
        sparsifier.Project(60);
        var report = SparsityReport.Of(model);
        Assert.Equal(report.HiddenDensity, sparsifier.HiddenDensity, 12);
        Assert.InRange(report.HiddenDensity, 0.039, 1.0 / 16); // the target (k rounded per tensor), raised by the four-per-neuron minimum
        Assert.InRange(report.OtherDensity, 0.01, 0.2); // at most the target: biases start at zero
        Assert.True(report.IsSparse);
        foreach (var (name, weight) in model.Weights)
        {
            bool hidden = WeightSparsifier.RoleOf(name)?.Hidden == true;
            // Hidden matrices this sparse run on the sparse kernels; embeddings and biases never do.
            Assert.True(hidden == model.HasSparseForm(weight), $"{name}: sparse form {model.HasSparseForm(weight)}");
        }
        Assert.Contains(report.Tensors, t => t.Hidden && t.FewestPerNeuron >= SparseSchedule.MinAlivePerNeuron);
        Assert.Contains(report.Tensors, t => !t.Hidden && t.FewestPerNeuron == null && t.Fan == 0);
    }

    [Fact]
    public void Without_sparse_kernels_every_matrix_stays_dense_in_form()
    {
        var model = Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", 50), 3);
        new WeightSparsifier(model, new SparseSchedule(100, 0.05, 0.2), sparseKernels: false).Project(60);
        Assert.All(model.Weights, w => Assert.False(model.HasSparseForm(w.Weight)));
    }

    [Fact]
    public void The_reports_fractions_at_their_edges()
    {
        Assert.Equal(0, new SparsityReport.Entry("b", false, 0, 0, null, 0).Density);
        Assert.Equal(0.25, new SparsityReport.Entry("w", true, 2, 8, 1, 2).Density);
        var empty = new SparsityReport([]);
        Assert.Equal((0.0, 0.0), (empty.HiddenDensity, empty.OtherDensity));
        var half = new SparsityReport([new("w", true, 4, 8, 1, 2), new("e", false, 1, 4, 1, 2)]);
        Assert.Equal((0.5, 0.25), (half.HiddenDensity, half.OtherDensity));
        Assert.True(half.IsSparse); // exactly half counts as sparse
        Assert.False(new SparsityReport([new("w", true, 5, 8, 1, 2)]).IsSparse);
    }
}
