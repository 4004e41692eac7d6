using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.IO;
using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>Weight-sparse training (docs/METHODS.md §6.2): the projection, the schedule, and a trained model's saved weights.</summary>
public class SparseTrainingTests
{
    const int Vocab = 40, Context = 32;
    const double Hidden = 0.15, Embedding = 0.5;

    static readonly TrainOptions Options = new()
    {
        Preset = "sparse-micro", Context = Context, Batch = 8, Tokens = 12 * 8 * Context, Seed = 2, LearningRate = SparseSchedule.LearningRate,
        Beta1 = SparseSchedule.Beta1, Beta2 = SparseSchedule.Beta2, EvalEvery = 6, EvalWindows = 2, CheckpointEvery = 4,
        WeightDensity = Hidden, EmbeddingDensity = Embedding,
    };

    static int[] Corpus()
    {
        var rng = new Random(1);
        return Enumerable.Range(0, 8000).Select(i => rng.Next(10) == 0 ? rng.Next(Vocab) : i % Vocab).ToArray();
    }

    [Fact]
    public void Saved_weights_meet_the_target_density_and_keep_four_per_neuron()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            var tokens = Corpus();
            Trainer.Train(dir, Options, new ArrayWindows(tokens, Context, Vocab), tokens[..(2 * (Context + 1))], IProgressReporter.None, CancellationToken.None);
            // Read the file itself, with this test's own list of which tensors are which (not the trainer's).
            using var file = SafeTensorsFile.Open(Path.Combine(dir, ModelFiles.WeightsFile));
            int checkedHidden = 0, checkedRows = 0;
            foreach (string name in file.Names)
            {
                var w = file.ReadFloat(name);
                long nonzero = w.ToArray().Count(v => v != 0);
                bool hidden = new[] { "attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight" }.Any(name.EndsWith);
                bool byRows = name is "transformer.wte.weight" or "lm_head.weight";
                if (hidden)
                {
                    int rows = w.Shape[0], cols = w.Shape[1];
                    var perColumn = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Count(r => w[r * cols + c] != 0)).ToArray();
                    Assert.All(perColumn, n => Assert.True(n >= 4, $"{name}: a column keeps {n} < 4"));
                    // Exactly k = round(F·n) nonzero, or the 4-per-column floor where that is larger.
                    Assert.Equal(Math.Max((long)Math.Round(Hidden * w.Length), 4L * cols), nonzero);
                    checkedHidden++;
                }
                else if (byRows)
                {
                    int rows = w.Shape[0], cols = w.Shape[1];
                    Assert.All(Enumerable.Range(0, rows), r => Assert.True(w.Row(r).ToArray().Count(v => v != 0) >= 4, $"{name}: row {r} keeps fewer than 4"));
                    Assert.Equal((long)Math.Round(Embedding * w.Length), nonzero);
                    checkedRows++;
                }
                else if (name == "bigram.weight")
                    Assert.True(nonzero > 0.9 * w.Length, "the bigram table is dense (never pruned)");
            }
            Assert.Equal(4, checkedHidden); // one layer: c_attn, attn c_proj, c_fc, mlp c_proj
            Assert.Equal(2, checkedRows);
            var report = SparsityReport.Of(ModelFiles.Load(dir));
            Assert.True(report.IsSparse);
            Assert.InRange(report.HiddenDensity, Hidden - 0.001, Hidden + 0.001);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Resume_reaches_the_same_sparse_weights_bit_for_bit()
    {
        var tokens = Corpus();
        int[] valid = tokens[..(2 * (Context + 1))];
        string straight = TestPaths.NewTempDir(), interrupted = TestPaths.NewTempDir();
        try
        {
            Trainer.Train(straight, Options, new ArrayWindows(tokens, Context, Vocab), valid, IProgressReporter.None, CancellationToken.None);
            using (var cts = new CancellationTokenSource())
                Assert.Throws<OperationCanceledException>(() =>
                    Trainer.Train(interrupted, Options, new ArrayWindows(tokens, Context, Vocab), valid, new StopAfter(5, cts), cts.Token));
            Trainer.Train(interrupted, Options, new ArrayWindows(tokens, Context, Vocab), valid, IProgressReporter.None, CancellationToken.None, resume: true);
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight, ModelFiles.WeightsFile)), File.ReadAllBytes(Path.Combine(interrupted, ModelFiles.WeightsFile)));
            Assert.Equal(File.ReadAllLines(Path.Combine(straight, Trainer.MetricsFile)), File.ReadAllLines(Path.Combine(interrupted, Trainer.MetricsFile)));
            Assert.Contains("\"density\":", File.ReadAllLines(Path.Combine(straight, Trainer.MetricsFile))[^2]);
        }
        finally { Directory.Delete(straight, true); Directory.Delete(interrupted, true); }
    }

    [Fact]
    public void Hidden_matrices_at_one_sixteenth_or_less_run_on_the_sparse_kernels_with_the_same_loss_and_gradients()
    {
        var m = Transformer<float>.Create(TransformerConfig.Preset("sparse-2l", Vocab) with { Context = 16 }, 4);
        var sparsifier = new WeightSparsifier(m, new SparseSchedule(10, 1.0 / 32, 0.25));
        Assert.False(m.HasSparseForm(m.Blocks[0].AttnWeight));
        sparsifier.Project(10); // the anneal is over: hidden matrices at 1/32 (the floor of 4 per column is 4/128)
        var hidden = m.Blocks.SelectMany(b => new[] { b.AttnWeight, b.AttnOutWeight, b.MlpInWeight!, b.MlpOutWeight! }).ToList();
        Assert.All(hidden, w => Assert.True(m.HasSparseForm(w)));
        var windows = Corpus()[..(3 * 17)];
        (float Loss, float[][] Grads) Run()
        {
            foreach (var p in m.Parameters) p.ZeroGrad();
            float loss;
            using (var tape = Tape.Start()) { var l = m.Loss(windows, 3); loss = l.Value[0]; tape.Backward(l); }
            return (loss, m.Parameters.Select(p => p.Grad.ToArray()).ToArray());
        }
        var sparse = Run();
        foreach (var w in hidden) m.UseSparseForm(w, null);
        var dense = Run();
        Assert.Equal(dense.Loss, sparse.Loss, 4);
        for (int p = 0; p < dense.Grads.Length; p++)
            for (int i = 0; i < dense.Grads[p].Length; i++)
                Assert.True(Math.Abs(dense.Grads[p][i] - sparse.Grads[p][i]) <= 1e-4f * (1 + Math.Abs(dense.Grads[p][i])), $"{m.Parameters[p].Name}[{i}]");
    }

    [Fact]
    public void A_run_on_the_sparse_kernels_resumes_bit_for_bit()
    {
        var tokens = Corpus();
        var options = Options with { Preset = "sparse-2l", Context = 16, Batch = 2, Tokens = 8 * 2 * 16, WeightDensity = 1.0 / 32, EmbeddingDensity = null };
        int[] valid = tokens[..(2 * 17)];
        string straight = TestPaths.NewTempDir(), interrupted = TestPaths.NewTempDir();
        try
        {
            Trainer.Train(straight, options, new ArrayWindows(tokens, 16, Vocab), valid, IProgressReporter.None, CancellationToken.None);
            using (var cts = new CancellationTokenSource())
                Assert.Throws<OperationCanceledException>(() =>
                    Trainer.Train(interrupted, options, new ArrayWindows(tokens, 16, Vocab), valid, new StopAfter(6, cts), cts.Token));
            Trainer.Train(interrupted, options, new ArrayWindows(tokens, 16, Vocab), valid, IProgressReporter.None, CancellationToken.None, resume: true);
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight, ModelFiles.WeightsFile)), File.ReadAllBytes(Path.Combine(interrupted, ModelFiles.WeightsFile)));
        }
        finally { Directory.Delete(straight, true); Directory.Delete(interrupted, true); }
    }

    [Fact]
    public void A_dense_model_is_refused_where_a_sparse_one_is_needed()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ModelFiles.Save(Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", Vocab), 1), dir);
            var error = Assert.Throws<UserError>(() => SparsityReport.RequireSparse(dir));
            Assert.Contains("is a dense model", error.Message);
            Assert.Contains("mechanist sparse train --weight-density", error.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Pruning_keeps_the_k_largest_after_each_neurons_top_four()
    {
        // 3 × 4, columns are neurons. Column 3 holds only tiny weights: without the rule the top-5 would empty it.
        float[] w = [9, 8, 7, 0.1f, 6, 5, 4, 0.2f, 3, 2, 1, 0.3f];
        int kept = MagnitudePruning.Keep(w, 3, 4, NeuronAxis.Columns, k: 5, minAlive: 1);
        Assert.Equal(5, kept);
        Assert.Equal(new float[] { 9, 8, 7, 0, 6, 0, 0, 0, 0, 0, 0, 0.3f }, w); // each column's best, then the next largest (6)

        // Rows as neurons, the minimum larger than k: every row keeps its top 2, nothing else.
        float[] r = [1, -5, 2, 0, 3, 4, -1, 0.5f];
        Assert.Equal(4, MagnitudePruning.Keep(r, 2, 4, NeuronAxis.Rows, k: 1, minAlive: 2));
        Assert.Equal(new float[] { 0, -5, 2, 0, 3, 4, 0, 0 }, r);

        // A bias: plain top-k by magnitude.
        float[] b = [0.5f, -3, 2, 1];
        Assert.Equal(2, MagnitudePruning.Keep(b, 1, 4, NeuronAxis.None, k: 2, minAlive: 4));
        Assert.Equal(new float[] { 0, -3, 2, 0 }, b);
    }

    [Fact]
    public void The_schedule_anneals_linearly_between_one_and_fifty_percent_and_scales_the_learning_rate()
    {
        var s = new SparseSchedule(1000, 1.0 / 16, 0.25);
        Assert.Equal(1, s.Density(s.HiddenDensity, 0));
        Assert.Equal(1, s.Density(s.HiddenDensity, 10));
        Assert.Equal(1 + (1.0 / 16 - 1) * 0.5, s.Density(s.HiddenDensity, 255), 12);
        Assert.Equal(1.0 / 16, s.Density(s.HiddenDensity, 500), 12);
        Assert.Equal(0.25, s.Density(s.EmbeddingDensity, 999), 12);
        Assert.Equal(0.25, s.LearningRateFactor(0), 12); // √(1/16 ÷ 1)
        Assert.Equal(1, s.LearningRateFactor(700), 12);
        var lr = s.LearningRates();
        Assert.Equal(10, lr.WarmupSteps);
        Assert.Equal(0, lr.Rate(1, 1000));
    }

    [Fact]
    public void Gradients_are_divided_by_their_rms_every_step()
    {
        var a = new Parameter("a", new Tensor(3));
        var b = new Parameter("b", new Tensor(1));
        a.Grad.Span[0] = 3; a.Grad.Span[1] = 0; a.Grad.Span[2] = 4; b.Grad.Span[0] = 0.1f;
        float norm = GradientClipping.NormalizeRms([a, b]);
        Assert.Equal(Math.Sqrt(25.01), norm, 5);
        double rms = Math.Sqrt((a.Grad.ToArray().Sum(g => g * g) + b.Grad[0] * b.Grad[0]) / 4);
        Assert.Equal(1, rms, 5);
        Assert.Equal(3 / (Math.Sqrt(25.01) / 2), a.Grad[0], 4);
    }

    [Fact]
    public void Each_step_logs_the_hidden_density_of_the_schedule_after_that_step()
    {
        // Six steps: the anneal runs from 1 % to 50 % of the run, so steps 1 and 2 log densities well below 1 and
        // step 3 onwards the target. The hidden matrices keep exactly round(F·n) weights (the 4-per-column floor is
        // inside that count), so the logged fraction is the schedule's to rounding.
        string dir = TestPaths.NewTempDir();
        var tokens = Corpus();
        const int steps = 6;
        Trainer.Train(dir, Options with { Tokens = steps * 8 * Context }, new ArrayWindows(tokens, Context, Vocab), [], IProgressReporter.None, CancellationToken.None);
        var logged = File.ReadAllLines(Path.Combine(dir, Trainer.MetricsFile)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Where(l => l["density"] != null).Select(l => ((long)l["step"]!, (double)l["density"]!)).ToList();
        Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), logged.Select(l => l.Item1));
        double Expected(long done)
        {
            double progress = done / (double)steps;
            return progress >= 0.5 ? Hidden : 1 + (Hidden - 1) * (progress - 0.01) / (0.5 - 0.01);
        }
        foreach (var (step, density) in logged) Assert.Equal(Expected(step), density, 2);
        Assert.InRange(logged[0].Item2, 0.7, 0.76);
    }
}
