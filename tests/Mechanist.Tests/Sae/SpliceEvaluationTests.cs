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

/// <summary>The splice evaluation of a real SAE end to end: its record and its refusals.</summary>
public class SpliceEvaluationContractTests
{
    static readonly HookPoint Hook = HookPoint.MlpPost(0);

    [Theory, InlineData(true), InlineData(false)]
    public void The_record_holds_every_loss_and_how_it_was_made(bool skipFirst)
    {
        var model = HarvestFixture.Model();
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, 32, 64, seed: 3);
        sae.Metadata = new SaeMetadata { Hook = Hook };
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(), "valid");
        var options = new SpliceOptions { Windows = 5, Context = 10, BatchWindows = 2, SkipFirstPosition = skipFirst };
        var r = SpliceEvaluation.Evaluate(model, sae, tokens, options, IProgressReporter.None);
        Assert.Equal(5, r.Windows);
        Assert.Equal(10, r.Context);
        Assert.Equal("valid", r.Split);
        Assert.Equal(skipFirst, r.SkipFirstPosition);
        Assert.Equal(5 * (10 - (skipFirst ? 1 : 0)), r.Losses.Tokens);
        Assert.Equal(r.Losses.Tokens, r.Metrics.Tokens);
        Assert.Equal(r.Losses.CeLossScoreZero, r.Metrics.CeLossScoreZero);
        Assert.Equal(r.Losses.KlScoreZero, r.Metrics.KlScore);
        var json = r.ToJson();
        var l = r.Losses;
        Assert.Equal(l.CeZero, (double)json["ce_zero"]!);
        Assert.Equal(l.CeMean, (double)json["ce_mean"]!);
        Assert.Equal(l.KlSae, (double)json["kl_sae"]!);
        Assert.Equal(l.KlZero, (double)json["kl_zero"]!);
        Assert.Equal(l.KlMean, (double)json["kl_mean"]!);
        Assert.Equal(l.KlScoreZero, (double)json["kl_score_zero"]!);
        Assert.Equal(l.KlScoreMean, (double)json["kl_score_mean"]!);
        Assert.Equal("zero", (string)json["kl_score_ablation"]!);
        Assert.Equal("mean of the hook activation over the scored evaluation tokens", (string)json["mean_ablation"]!);
        Assert.Equal(skipFirst ? "every position but the first (which stays clean and is not scored)" : "every position", (string)json["splice"]!);
        Assert.Equal("blocks.0.mlp.hook_post", (string)json["hook"]!);
        Assert.Equal(5, (int)json["eval_windows"]!);
        Assert.Equal(10, (int)json["eval_context"]!);
        Assert.Equal("valid", (string)json["eval_split"]!);
        Assert.Equal(l.Tokens, (long)json["scored_tokens"]!);
        Assert.Equal(l.CeClean, (double)json["ce_clean"]!);

        // The hook given in the options wins over the SAE's own.
        sae.Metadata = new SaeMetadata { Hook = HookPoint.ResidPost(0) };
        Assert.Equal(r.Losses, SpliceEvaluation.Evaluate(model, sae, tokens, options with { Hook = Hook }, IProgressReporter.None).Losses);
        // The model's context is the default.
        Assert.Equal(12, SpliceEvaluation.Evaluate(model, sae, tokens, options with { Hook = Hook, Context = null }, IProgressReporter.None).Context);
    }

    [Fact]
    public void Impossible_settings_are_refused_with_the_reason()
    {
        var model = HarvestFixture.Model();
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, 32, 64, seed: 3);
        using var tokens = TokenStore.Open(HarvestFixture.TokenStore(), "valid");
        var o = new SpliceOptions { Windows = 2, Context = 10, Hook = Hook };
        UserError Refused(SparseAutoencoder s, SpliceOptions options) =>
            Assert.ThrowsAny<UserError>(() => SpliceEvaluation.Evaluate(model, s, tokens, options, IProgressReporter.None));
        Assert.Contains("names no hook_name; give the hook point with --hook", Refused(sae, o with { Hook = null }).Message);
        Assert.Contains("the SAE reads 16 values per token but blocks.0.mlp.hook_post of this model has 32",
            Refused(SparseAutoencoder.Create(SaeArchitecture.Relu, 16, 8, seed: 1), o).Message);
        Assert.Contains("--context 13 is longer than the model's context of 12", Refused(sae, o with { Context = 13 }).Message);
        Assert.Contains("a context of 1 leaves no token to score", Refused(sae, o with { Context = 1, SkipFirstPosition = true }).Message);
        Assert.Contains("--batch must be at least 1 window (got 0)", Refused(sae, o with { BatchWindows = 0 }).Message);
        _ = SpliceEvaluation.Evaluate(model, sae, tokens, o with { Context = 12, BatchWindows = 1 }, IProgressReporter.None); // the edges allowed
        _ = SpliceEvaluation.Evaluate(model, sae, tokens, o with { Context = 1, SkipFirstPosition = false }, IProgressReporter.None);
        Assert.Throws<ArgumentException>(() => SpliceEvaluation.Losses(model, Hook, new int[14], 12, x => x, o));
    }
}
