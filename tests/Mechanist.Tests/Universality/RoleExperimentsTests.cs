using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Mechanist.Tests.Activations;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class RoleExperimentsTests
{
    const int Context = 12, Windows = 8;

    static Transformer<float> Model(int seed)
    {
        var config = new TransformerConfig
        {
            Layers = 2, DModel = 16, Heads = 2, DMlp = 32, Context = Context, Vocab = HarvestFixture.Vocab, Activation = Activation.GeluNew,
        };
        var m = Transformer<float>.Create(config, (ulong)seed);
        var rng = new Random(seed);
        foreach (var (name, w) in m.Weights)
        {
            if (name.Contains("ln_")) continue;
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] = (float)(rng.NextDouble() * 0.6 - 0.3);
        }
        return m;
    }

    static List<(int[] Ids, int Windows)> Batches(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, 2).Select(_ => (Enumerable.Range(0, Windows * Context).Select(_ => rng.Next(HarvestFixture.Vocab)).ToArray(), Windows))];
    }

    [Fact]
    public void Predict_gives_cross_entropy_entropy_and_rank_of_the_softmax()
    {
        float[] logits = [1f, 3f, -2f, 0.5f];
        var p = logits.Select(x => Math.Exp(x)).ToArray();
        double z = p.Sum();
        var (loss, entropy, rank) = EntropyIntervention.Predict(logits, 3);
        Assert.Equal(-Math.Log(p[3] / z), loss, 1e-9);
        Assert.Equal(-p.Sum(x => x / z * Math.Log(x / z)), entropy, 1e-9);
        Assert.Equal(3, rank);
        Assert.Equal(1, EntropyIntervention.Predict(logits, 1).Rank);
    }

    [Fact]
    public void Clean_loss_is_the_models_next_token_loss_at_the_positions_measured()
    {
        var model = Model(1);
        var batches = Batches(2);
        var run = EntropyIntervention.Run(model, batches, Context, [], []);
        double sum = 0; int n = 0;
        foreach (var (ids, windows) in batches)
        {
            var perToken = new float[windows * (Context - 1)];
            using (Mechanist.Autograd.Tape.NoGrad()) model.Loss(ids, windows, perToken: perToken);
            for (int w = 0; w < windows; w++)
                for (int p = 1; p < Context - 1; p++) { sum += perToken[w * (Context - 1) + p]; n++; }
        }
        Assert.Equal(sum / n, run.Clean.Loss, 1e-4);
    }

    [Fact]
    public void A_neuron_writing_where_the_unembedding_cannot_see_is_found_and_raises_entropy()
    {
        // Dimension 5 is invisible to the logits (ln_f gain and bias 0 there) but still counts in ln_f's scale: a
        // last-layer neuron writing along it only scales the logits down, UN24's entropy-neuron mechanism.
        var model = Model(3);
        model.FinalNormGain.Value[5] = 0;
        model.FinalNormBias.Value[5] = 0;
        var wout = model.Blocks[1].MlpOutWeight!.Value;
        const int Neuron = 7, Unit = 32 + Neuron;
        for (int k = 0; k < 16; k++) wout[Neuron * 16 + k] = k == 5 ? 20f : 0f;
        var stats = NeuronStatistics.Of(model, null);
        var candidates = EntropyIntervention.Candidates(stats, 2);
        Assert.Equal(Unit, candidates[0]);
        var random = EntropyIntervention.RandomBaseline(stats, 20, 0, candidates);
        Assert.Equal(20, random.Length);
        Assert.DoesNotContain(Unit, random);
        var run = EntropyIntervention.Run(model, Batches(4), Context, candidates, random);
        Assert.Equal(1 + 22 * EntropyIntervention.Values.Length, run.Rows.Count);
        Assert.True(run.At(Unit, 6).Scale > 3 * run.Clean.Scale, $"{run.At(Unit, 6).Scale} vs {run.Clean.Scale}");
        Assert.True(run.At(Unit, 6).Entropy > run.At(Unit, 0).Entropy + 0.2, $"{run.At(Unit, 6).Entropy} vs {run.At(Unit, 0).Entropy}");
        Assert.Equal("entropy", run.RoleOf(Unit));
        Assert.Null(run.RoleOf(random[0]));
        Assert.StartsWith("layer,neuron,kind,value,loss,entropy,median_true_rank,ln_final_scale\n,,clean,,", run.ToCsv());
        Assert.Contains("<polyline", run.Plot());
    }

    [Fact]
    public void A_neuron_pointing_a_later_query_at_the_first_key_is_scored_and_path_ablated()
    {
        var model = Model(5);
        var batches = Batches(6);
        var keys = AttentionDeactivation.BosKeys(model, batches, Context);
        // Plant layer-0 neuron 3 along g for head (1, 1): h = w_out·g is then as large as a vector of its norm allows (z = √d).
        var block = model.Blocks[1];
        int d = 16, dh = 8, head = 1;
        var g = new double[d];
        for (int i = 0; i < d; i++)
        {
            double s = 0;
            for (int j = 0; j < dh; j++) s += block.AttnWeight.Value[i * 3 * d + head * dh + j] * (double)keys[1][head * dh + j];
            g[i] = block.Ln1Gain.Value[i] * s;
        }
        double mean = g.Average();
        var wout = model.Blocks[0].MlpOutWeight!.Value;
        for (int i = 0; i < d; i++) wout[3 * d + i] = (float)(g[i] - mean) * 40f;
        model.Blocks[0].MlpInBias!.Value[3] = 1.5f; // mostly active, so removing it matters
        var best = AttentionDeactivation.Heuristic(model, keys);
        Assert.Equal((1, head), (best[3]!.HeadLayer, best[3]!.Head));
        Assert.Equal(Math.Sqrt(d), best[3]!.Z, 1e-3);
        Assert.All(best.Skip(32), p => Assert.Null(p));
        var ablation = AttentionDeactivation.Ablate(model, batches, Context, best[3]!);
        Assert.Equal(2L * Windows * (Context - Context / 4), ablation.Positions);
        Assert.True(ablation.BosChange < 0, $"attention to position 0 changed by {ablation.BosChange}");
        // A neuron that writes nothing changes nothing: the keys and values are the clean run's.
        var silent = new AttentionDeactivation.Pair(10, 1, 0, 0, 0);
        for (int i = 0; i < d; i++) wout[10 * d + i] = 0;
        var none = AttentionDeactivation.Ablate(model, batches, Context, silent);
        Assert.Equal(0, none.NormChange, 1e-9);
        Assert.Equal(0, none.BosChange, 1e-9);
    }
}
