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
        model.FinalNormBias!.Value[5] = 0;
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

    [Fact]
    public void Path_ablation_changes_only_the_query_keys_and_values_stay_the_clean_runs()
    {
        var model = Model(7);
        var batches = Batches(8);
        var pair = new AttentionDeactivation.Pair(5, 1, 1, 0, 0); // layer-0 neuron 5 against head L1.H1
        var ablation = AttentionDeactivation.Ablate(model, batches, Context, pair);
        // By hand: the query of the ablated residual against the clean run's keys and values, softmax written out.
        var withClean = ByHand(model, batches, pair, restoreKeysAndValues: true);
        Assert.Equal(withClean.Bos, ablation.BosChange, 1e-5);
        Assert.Equal(withClean.Norm, ablation.NormChange, 1e-5);
        // The reference must tell the two apart: letting the keys and values move too gives other changes.
        var moved = ByHand(model, batches, pair, restoreKeysAndValues: false);
        Assert.True(Math.Abs(moved.Bos - withClean.Bos) > 1e-3 || Math.Abs(moved.Norm - withClean.Norm) > 1e-3,
            $"keys/values restored or not: {withClean} vs {moved}");
    }

    /// <summary>Mean change of head H's attention to position 0 and of ‖z_H·W_O^H‖ from position context/4 on, when the
    /// neuron's act·w_out leaves the residual entering H's layer, computed from the hooks' q, k, v with softmax by hand.</summary>
    static (double Bos, double Norm) ByHand(Transformer<float> model, List<(int[] Ids, int Windows)> batches, AttentionDeactivation.Pair pair, bool restoreKeysAndValues)
    {
        var c = model.Config;
        int d = c.DModel, dh = c.DHead, heads = c.Heads, layer = pair.Unit / c.DMlp, neuron = pair.Unit % c.DMlp, hl = pair.HeadLayer, start = Context / 4;
        var wout = model.Blocks[layer].MlpOutWeight!.Value.Row(neuron).ToArray();
        var wo = model.Blocks[hl].AttnOutWeight.Value;
        double bos = 0, norm = 0;
        long count = 0;
        foreach (var (ids, windows) in batches)
        {
            float[]? a = null, q0 = null, k0 = null, v0 = null, q1 = null, k1 = null, v1 = null, pattern = null;
            var clean = new Hooks<float>().Read(HookPoint.MlpPost(layer), t => a = t.ToArray()).Read(HookPoint.Q(hl), t => q0 = t.ToArray())
                .Read(HookPoint.K(hl), t => k0 = t.ToArray()).Read(HookPoint.V(hl), t => v0 = t.ToArray()).Read(HookPoint.Pattern(hl), t => pattern = t.ToArray());
            using (Mechanist.Autograd.Tape.NoGrad()) model.RunToHook(ids, windows, Context, HookPoint.Z(hl), clean);
            var ablated = new Hooks<float>().Replace(HookPoint.ResidPre(hl), x =>
            {
                var y = x.Clone();
                for (int i = 0; i < windows * Context; i++)
                    if (i % Context >= start)
                        for (int j = 0; j < d; j++) y.Row(i)[j] -= a![i * c.DMlp + neuron] * wout[j];
                return y;
            }).Read(HookPoint.Q(hl), t => q1 = t.ToArray()).Read(HookPoint.K(hl), t => k1 = t.ToArray()).Read(HookPoint.V(hl), t => v1 = t.ToArray());
            using (Mechanist.Autograd.Tape.NoGrad()) model.RunToHook(ids, windows, Context, HookPoint.Z(hl), ablated);
            var (k, v) = restoreKeysAndValues ? (k0!, v0!) : (k1!, v1!);
            for (int w = 0; w < windows; w++)
                for (int p = start; p < Context; p++)
                {
                    var (cleanWeights, cleanNorm) = Head(q0!, k0!, v0!, w, p);
                    var (weights, n) = Head(q1!, k, v, w, p);
                    // The hand-written softmax must reproduce the model's own clean pattern, or it proves nothing.
                    Assert.Equal(pattern![(((w * heads) + pair.Head) * Context + p) * Context], cleanWeights[0], 1e-5);
                    bos += weights[0] - cleanWeights[0];
                    norm += n - cleanNorm;
                    count++;
                }
        }
        return (bos / count, norm / count);

        (double[] Weights, double Norm) Head(float[] q, float[] k, float[] v, int w, int p)
        {
            int row(int pos) => (w * Context + pos) * d + pair.Head * dh;
            var s = new double[p + 1];
            for (int j = 0; j <= p; j++)
            {
                double dot = 0;
                for (int e = 0; e < dh; e++) dot += (double)q[row(p) + e] * k[row(j) + e];
                s[j] = dot / Math.Sqrt(dh);
            }
            double max = s.Max(), sum = 0;
            for (int j = 0; j <= p; j++) { s[j] = Math.Exp(s[j] - max); sum += s[j]; }
            var z = new double[dh];
            for (int j = 0; j <= p; j++) { s[j] /= sum; for (int e = 0; e < dh; e++) z[e] += s[j] * v[row(j) + e]; }
            double n2 = 0;
            for (int col = 0; col < d; col++)
            {
                double o = 0;
                for (int e = 0; e < dh; e++) o += z[e] * wo[(pair.Head * dh + e) * d + col];
                n2 += o * o;
            }
            return (s, Math.Sqrt(n2));
        }
    }
}
