using Mechanist.Autograd;
using Mechanist.Sae;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Sae;

public class SpliceEvaluationTests
{
    static readonly HookPoint Hook = HookPoint.MlpPost(0);
    const int Context = 12;

    static int[] Windows(int count = 9)
    {
        using var store = TokenStore.Open(HarvestFixture.TokenStore(), "valid");
        return TokenStoreWindows.FixedWindows(store, Context, count);
    }

    static SpliceOptions Options(bool skipFirst) => new() { BatchWindows = 4, SkipFirstPosition = skipFirst };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_identity_reconstruction_recovers_everything(bool skipFirst)
    {
        var model = HarvestFixture.Model();
        var l = SpliceEvaluation.Losses(model, Hook, Windows(), Context, x => x.Clone(), Options(skipFirst));
        Assert.Equal(9 * (Context - (skipFirst ? 1 : 0)), l.Tokens);
        Assert.Equal(l.CeClean, l.CeSae);
        Assert.Equal(0, l.KlSae, 9);
        Assert.Equal(1, l.CeLossScoreZero, 12);
        Assert.Equal(1, l.CeLossScoreMean, 12);
        Assert.Equal(1, l.KlScoreZero, 9);
        Assert.True(l.KlZero > 0.01 && l.CeZero != l.CeClean, $"zero ablation should change this model's predictions: {l}");
    }

    [Fact]
    public void Clean_loss_is_the_models_loss_and_zero_ablation_is_a_model_without_mlp_output_weights()
    {
        var model = HarvestFixture.Model(2);
        var windows = Windows();
        var l = SpliceEvaluation.Losses(model, Hook, windows, Context, x => x.Clone(), Options(skipFirst: false));
        int n = windows.Length / (Context + 1);
        using (Tape.NoGrad()) Assert.Equal(model.Loss(windows, n).Value[0], l.CeClean, 4);

        // Reference: W_out = 0 (b_out kept) is exactly "hook_post = 0"; KL computed here in float64.
        var ablated = HarvestFixture.Model(2);
        ablated.Blocks[0].MlpOutWeight!.Value.Span.Clear();
        var (inputs, targets) = Transformer<float>.SplitWindows(windows, n, Context);
        Tensor clean, zero;
        using (Tape.NoGrad())
        {
            clean = model.Forward(inputs, n, Context).Value;
            zero = ablated.Forward(inputs, n, Context).Value;
        }
        double ce = 0, kl = 0;
        int v = HarvestFixture.Vocab;
        for (int t = 0; t < inputs.Length; t++)
        {
            var lp = LogSoftmax(clean.Row(t)); var lq = LogSoftmax(zero.Row(t));
            ce -= lq[targets[t]];
            for (int j = 0; j < v; j++) kl += Math.Exp(lp[j]) * (lp[j] - lq[j]);
        }
        Assert.Equal(ce / inputs.Length, l.CeZero, 4);
        Assert.Equal(kl / inputs.Length, l.KlZero, 5);
    }

    [Fact]
    public void Reconstructions_equal_to_the_baselines_score_zero()
    {
        var model = HarvestFixture.Model(3);
        var windows = Windows();
        var zero = SpliceEvaluation.Losses(model, Hook, windows, Context, x => new Tensor(x.Shape), Options(true));
        Assert.Equal(zero.CeZero, zero.CeSae, 10);
        Assert.Equal(0, zero.CeLossScoreZero, 9);
        Assert.Equal(0, zero.KlScoreZero, 6);

        // The mean over the scored tokens, computed here from a direct forward pass.
        int n = windows.Length / (Context + 1);
        var (inputs, _) = Transformer<float>.SplitWindows(windows, n, Context);
        Tensor acts;
        using (Tape.NoGrad()) acts = model.RunToHook(inputs, n, Context, Hook).Reshape(-1, 32);
        var mean = new double[32];
        for (int r = 0; r < acts.RowCount; r++)
            if (r % Context != 0) for (int j = 0; j < 32; j++) mean[j] += acts.Row(r)[j] / (n * (Context - 1.0));
        var meanRec = SpliceEvaluation.Losses(model, Hook, windows, Context, x =>
        {
            var y = new Tensor(x.Shape);
            for (int r = 0; r < y.RowCount; r++) for (int j = 0; j < 32; j++) y.Row(r)[j] = (float)mean[j];
            return y;
        }, Options(true));
        Assert.Equal(meanRec.CeMean, meanRec.CeSae, 5);
        Assert.Equal(0, meanRec.CeLossScoreMean, 3);
        Assert.Equal(0, meanRec.KlScoreMean, 3);
    }

    [Fact]
    public void Scores_follow_their_definitions()
    {
        var l = new SpliceLosses(100, CeClean: 2, CeSae: 2.5, CeZero: 4, CeMean: 3, KlSae: 0.1, KlZero: 1, KlMean: 0.5);
        Assert.Equal(0.75, l.CeLossScoreZero, 12);
        Assert.Equal(0.5, l.CeLossScoreMean, 12);
        Assert.Equal(0.9, l.KlScoreZero, 12);
        Assert.Equal(0.8, l.KlScoreMean, 12);
    }

    static double[] LogSoftmax(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float x in row) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in row) sum += Math.Exp(x - max);
        double lse = max + Math.Log(sum);
        var r = new double[row.Length];
        for (int i = 0; i < row.Length; i++) r[i] = row[i] - lse;
        return r;
    }
}
