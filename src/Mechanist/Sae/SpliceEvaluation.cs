using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.IO;
using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Text;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Mechanist.Sae;

/// <summary>Settings of <see cref="SpliceEvaluation"/>.</summary>
public sealed record SpliceOptions
{
    /// <summary>Evaluation windows (context + 1 tokens each), the first ones of the split, so every run sees the same tokens.</summary>
    public int Windows { get; init; } = 256;
    /// <summary>Tokens per window fed to the model (default: the model's context).</summary>
    public int? Context { get; init; }
    /// <summary>Token-store split to evaluate on (held out from harvesting and SAE training by default).</summary>
    public string Split { get; init; } = "valid";
    /// <summary>Windows per forward pass (each pass holds a few [batch·context, vocab] logit tensors).</summary>
    public int BatchWindows { get; init; } = 8;
    /// <summary>
    /// Leave position 0 alone, as harvesting does: it keeps its clean activation in every run and is not
    /// scored, and it is not among the activation-metric tokens.
    /// </summary>
    public bool SkipFirstPosition { get; init; } = true;
    /// <summary>Hook point to splice at (default: the one in the SAE's metadata).</summary>
    public HookPoint? Hook { get; init; }
}

/// <summary>
/// Mean next-token cross-entropy (nats) and mean KL(P_clean ‖ P_run) (nats) over the scored tokens, for the
/// clean model and three runs with the hook activation replaced at every scored position: by the SAE
/// reconstruction, by zero, and by the mean activation over the scored evaluation tokens.
/// </summary>
public sealed record SpliceLosses(long Tokens, double CeClean, double CeSae, double CeZero, double CeMean, double KlSae, double KlZero, double KlMean)
{
    /// <summary>(CE_zero − CE_sae) / (CE_zero − CE_clean): TM23's "loss recovered" (a generous baseline).</summary>
    public double CeLossScoreZero => (CeZero - CeSae) / (CeZero - CeClean);
    /// <summary>(CE_mean − CE_sae) / (CE_mean − CE_clean): the stricter baseline.</summary>
    public double CeLossScoreMean => (CeMean - CeSae) / (CeMean - CeClean);
    /// <summary>(KL_zero − KL_sae) / KL_zero.</summary>
    public double KlScoreZero => (KlZero - KlSae) / KlZero;
    /// <summary>(KL_mean − KL_sae) / KL_mean.</summary>
    public double KlScoreMean => (KlMean - KlSae) / KlMean;
}

/// <summary>The activation metrics (<see cref="SaeMetrics"/>, with the splice scores filled in) plus the raw splice losses.</summary>
public sealed record SpliceEvaluationResult(SaeMetrics Metrics, SpliceLosses Losses, HookPoint Hook, int Windows, int Context, string Split, bool SkipFirstPosition)
{
    /// <summary>
    /// The metrics JSON (keys mse, explained_variance, l0, dead, ultralow, ce_loss_score_zero, ce_loss_score_mean,
    /// kl_score, ce_clean, ce_sae, ...) plus every raw loss and how the baselines were built.
    /// </summary>
    public JsonObject ToJson()
    {
        var o = Metrics.ToJson();
        var l = Losses;
        o["ce_zero"] = l.CeZero;
        o["ce_mean"] = l.CeMean;
        o["kl_sae"] = l.KlSae;
        o["kl_zero"] = l.KlZero;
        o["kl_mean"] = l.KlMean;
        o["kl_score_zero"] = l.KlScoreZero;
        o["kl_score_mean"] = l.KlScoreMean;
        o["kl_score_ablation"] = "zero";
        o["mean_ablation"] = "mean of the hook activation over the scored evaluation tokens";
        o["splice"] = SkipFirstPosition ? "every position but the first (which stays clean and is not scored)" : "every position";
        o["hook"] = Hook.Name;
        o["eval_windows"] = Windows;
        o["eval_context"] = Context;
        o["eval_split"] = Split;
        o["scored_tokens"] = l.Tokens;
        return o;
    }
}

/// <summary>
/// Splices an SAE into a language model and measures what its reconstruction error costs (docs/METHODS.md §2.7,
/// as SAELens's evals build it): over fixed evaluation windows, per-token cross-entropy for the clean
/// model, the model with the hook activation replaced by the SAE reconstruction at every position, and the
/// zero- and mean-ablated model; KL(P_clean ‖ P_mod) per token for the three modified runs; and the
/// activation metrics of <see cref="SaeMetrics"/> on the same tokens. With <see cref="SpliceOptions.SkipFirstPosition"/>
/// position 0 is left clean and unscored throughout (the harvester never shows it to the SAE).
/// </summary>
public static class SpliceEvaluation
{
    /// <summary>Loads an SAE folder, a model folder and a token store, and evaluates.</summary>
    public static SpliceEvaluationResult Evaluate(string saeDir, string modelDir, string tokenStoreDir, SpliceOptions options,
        IProgressReporter progress, CancellationToken cancel = default)
    {
        var sae = SaeLensFormat.Load(saeDir);
        var model = ModelFiles.Load(modelDir);
        using var tokens = TokenStore.Open(tokenStoreDir, options.Split);
        return Evaluate(model, sae, tokens, options, progress, cancel);
    }

    public static SpliceEvaluationResult Evaluate(Transformer<float> model, SparseAutoencoder sae, TokenStore tokens, SpliceOptions options,
        IProgressReporter progress, CancellationToken cancel = default)
    {
        var hook = model.Config.Check(options.Hook ?? sae.Metadata.Hook
            ?? throw new UserError("the SAE's cfg.json names no hook_name; give the hook point with --hook"));
        if (hook.Width(model.Config) != sae.DIn) throw new UserError($"the SAE reads {sae.DIn} values per token but {hook} of this model has {hook.Width(model.Config)}");
        int context = ContextFor(model, options);
        var windows = TokenStoreWindows.FixedWindows(tokens, context, options.Windows);
        if (windows.Length == 0) throw new UserError($"{tokens.Directory}: the {tokens.Split} split has no window of {context + 1} tokens");
        var losses = new Accumulator();
        var metrics = SaeMetrics.Evaluate(sae, Run(model, hook, windows, context, x => sae.Reconstruct(x), options, losses, progress, cancel));
        var l = losses.Result();
        metrics = metrics.WithSpliceScores(l.CeClean, l.CeSae, l.CeZero, l.CeMean, l.KlScoreZero);
        return new SpliceEvaluationResult(metrics, l, hook, windows.Length / (context + 1), context, tokens.Split, options.SkipFirstPosition);
    }

    /// <summary>
    /// The splice losses for any reconstruction function (rows [n, width] → rows [n, width]) on windows
    /// [n, context + 1]; <see cref="Evaluate(Transformer{float}, SparseAutoencoder, TokenStore, SpliceOptions, IProgressReporter, CancellationToken)"/>
    /// passes the SAE's. <paramref name="options"/> supplies the batch size, the first-position rule and the hook.
    /// </summary>
    public static SpliceLosses Losses(Transformer<float> model, HookPoint hook, int[] windows, int context, Func<Tensor, Tensor> reconstruct,
        SpliceOptions options, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var losses = new Accumulator();
        foreach (var _ in Run(model, hook, windows, context, reconstruct, options, losses, progress ?? IProgressReporter.None, cancel)) { }
        return losses.Result();
    }

    static int ContextFor(Transformer<float> model, SpliceOptions o)
    {
        int context = o.Context ?? model.Config.Context;
        if (context > model.Config.Context) throw new UserError($"--context {context} is longer than the model's context of {model.Config.Context}");
        int first = o.SkipFirstPosition ? 1 : 0;
        if (context <= first) throw new UserError($"a context of {context} leaves no token to score");
        return context;
    }

    /// <summary>
    /// Runs the four forward passes per batch of windows, adding their losses to <paramref name="losses"/>,
    /// and yields each batch's scored activation rows [n, width] (the SAE metrics read them).
    /// </summary>
    static IEnumerable<Tensor> Run(Transformer<float> model, HookPoint hook, int[] windows, int context, Func<Tensor, Tensor> reconstruct,
        SpliceOptions o, Accumulator losses, IProgressReporter progress, CancellationToken cancel)
    {
        model.Config.Check(hook);
        if (o.BatchWindows < 1) throw new UserError($"--batch must be at least 1 window (got {o.BatchWindows})");
        int w = context + 1;
        if (windows.Length % w != 0) throw new ArgumentException($"{windows.Length} tokens are not whole windows of {w}");
        int n = windows.Length / w;
        int first = o.SkipFirstPosition ? 1 : 0;
        int vocab = model.Config.Vocab;

        var mean = MeanActivation(model, hook, windows, n, context, first, o.BatchWindows, progress, cancel);
        int width = mean.Length;
        using var task = progress.Start("splice evaluation", (long)n * (context - first), "tok");
        for (int start = 0; start < n; start += o.BatchWindows)
        {
            cancel.ThrowIfCancellationRequested();
            int b = Math.Min(o.BatchWindows, n - start);
            var (inputs, targets) = Transformer<float>.SplitWindows(windows.AsSpan(start * w, b * w).ToArray(), b, context);
            int scored = b * (context - first);

            // Clean run: keep the activation, the clean log-normaliser and probabilities for KL.
            Tensor? clean = null;
            var cleanHooks = new Hooks<float>().Read(hook, x => clean = x.Clone());
            Tensor cleanLogits;
            using (Tape.NoGrad()) cleanLogits = model.Forward(inputs, b, context, cleanHooks).Value;
            var reference = CleanReference.From(cleanLogits, b, context, first, vocab);
            var x = Scored(clean!.Reshape(-1, width), b, context, first);
            losses.Clean += reference.CrossEntropy(cleanLogits, targets);

            var recon = reconstruct(x);
            if (recon.RowCount != x.RowCount || recon.Columns != width)
                throw new ArgumentException($"reconstruction has shape {recon.ShapeString}, expected [{x.RowCount}, {width}]");
            var (ceSae, klSae) = Modified(model, hook, inputs, targets, b, context, first, reference, rows => Fill(rows, recon, width));
            var (ceZero, klZero) = Modified(model, hook, inputs, targets, b, context, first, reference, rows => rows.Clear());
            var (ceMean, klMean) = Modified(model, hook, inputs, targets, b, context, first, reference, rows => Fill(rows, mean));
            losses.Sae += ceSae; losses.KlSae += klSae;
            losses.Zero += ceZero; losses.KlZero += klZero;
            losses.Mean += ceMean; losses.KlMean += klMean;
            losses.Tokens += scored;
            task.Advance(scored);
            task.SetStatus(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"CE clean {losses.Clean / losses.Tokens:F3} sae {losses.Sae / losses.Tokens:F3} zero {losses.Zero / losses.Tokens:F3}"));
            yield return x;
        }
    }

    /// <summary>The mean hook activation over the scored positions of all windows (the mean-ablation value).</summary>
    static float[] MeanActivation(Transformer<float> model, HookPoint hook, int[] windows, int n, int context, int first, int batch,
        IProgressReporter progress, CancellationToken cancel)
    {
        int w = context + 1;
        double[]? sum = null;
        long count = 0;
        using var task = progress.Start("mean activation", (long)n * context, "tok");
        for (int start = 0; start < n; start += batch)
        {
            cancel.ThrowIfCancellationRequested();
            int b = Math.Min(batch, n - start);
            var (inputs, _) = Transformer<float>.SplitWindows(windows.AsSpan(start * w, b * w).ToArray(), b, context);
            Tensor acts;
            using (Tape.NoGrad()) acts = model.RunToHook(inputs, b, context, hook);
            int width = acts.Length / (b * context);
            sum ??= new double[width];
            for (int s = 0; s < b; s++)
                for (int p = first; p < context; p++)
                {
                    var row = acts.Span.Slice((s * context + p) * width, width);
                    for (int j = 0; j < width; j++) sum[j] += row[j];
                    count++;
                }
            task.Advance((long)b * context);
        }
        return sum!.Select(v => (float)(v / count)).ToArray();
    }

    /// <summary>The rows of the scored positions ([b·(context − first), width]) of an activation viewed as rows [b·context, width].</summary>
    static Tensor Scored(Tensor rows, int b, int context, int first)
    {
        if (first == 0) return rows.Clone();
        int width = rows.Columns, per = context - first;
        var x = new Tensor(b * per, width);
        for (int s = 0; s < b; s++)
            rows.Span.Slice((s * context + first) * width, per * width).CopyTo(x.Span.Slice(s * per * width, per * width));
        return x;
    }

    static void Fill(Span<float> rows, ReadOnlySpan<float> vector)
    {
        for (int at = 0; at < rows.Length; at += vector.Length) vector.CopyTo(rows.Slice(at, vector.Length));
    }

    static void Fill(Span<float> rows, Tensor source, int width) => source.Span[..rows.Length].CopyTo(rows);

    /// <summary>
    /// One modified run: the hook activation at the scored positions is rewritten by <paramref name="rewrite"/>
    /// (given the scored rows of one window at a time, then of the next: the rows in order), the rest stays clean.
    /// Returns the summed CE and KL over the scored tokens.
    /// </summary>
    static (double Ce, double Kl) Modified(Transformer<float> model, HookPoint hook, int[] inputs, int[] targets, int b, int context, int first,
        CleanReference reference, SpanRewrite rewrite)
    {
        var hooks = new Hooks<float>().Replace(hook, x =>
        {
            var y = x.Clone();
            int width = y.Length / (b * context), per = context - first;
            // Scored rows of all windows, contiguous per window: rewrite them as one run so a reconstruction fills in order.
            var scratch = new float[b * per * width];
            for (int s = 0; s < b; s++) y.Span.Slice((s * context + first) * width, per * width).CopyTo(scratch.AsSpan(s * per * width));
            rewrite(scratch);
            for (int s = 0; s < b; s++) scratch.AsSpan(s * per * width, per * width).CopyTo(y.Span.Slice((s * context + first) * width));
            return y;
        });
        Tensor logits;
        using (Tape.NoGrad()) logits = model.Forward(inputs, b, context, hooks).Value;
        return (reference.CrossEntropy(logits, targets), reference.KlDivergence(logits));
    }

    delegate void SpanRewrite(Span<float> rows);

    /// <summary>Per scored token of a batch: the clean log-normaliser and probabilities, for KL(P_clean ‖ P_mod).</summary>
    sealed class CleanReference
    {
        public required int Batch, Context, First, Vocab;
        public required float[] Probabilities; // [scored, vocab]
        public required float[] LogitsClean;   // [scored, vocab]
        public required double[] LogNormaliser;

        public static CleanReference From(Tensor logits, int b, int context, int first, int vocab)
        {
            int per = context - first, scored = b * per;
            var probs = new float[(long)scored * vocab];
            var copy = new float[(long)scored * vocab];
            var lse = new double[scored];
            Parallel.For(0, scored, r =>
            {
                var row = logits.Span.Slice(RowOf(r, per, context, first) * vocab, vocab);
                row.CopyTo(copy.AsSpan(r * vocab, vocab));
                var p = probs.AsSpan(r * vocab, vocab);
                lse[r] = LogSumExp(row, p);
                TensorPrimitives.Multiply(p, (float)Math.Exp(-(lse[r] - TensorPrimitives.Max(row))), p);
            });
            return new CleanReference { Batch = b, Context = context, First = first, Vocab = vocab, Probabilities = probs, LogitsClean = copy, LogNormaliser = lse };
        }

        static int RowOf(int scoredRow, int per, int context, int first) => scoredRow / per * context + first + scoredRow % per;

        /// <summary>log Σ exp(row); leaves exp(row − max) in <paramref name="scratch"/>.</summary>
        static double LogSumExp(ReadOnlySpan<float> row, Span<float> scratch)
        {
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, scratch);
            TensorPrimitives.Exp(scratch, scratch);
            double sum = 0;
            foreach (float v in scratch) sum += v;
            return max + Math.Log(sum);
        }

        /// <summary>Σ over scored tokens of −log P(target).</summary>
        public double CrossEntropy(Tensor logits, int[] targets)
        {
            int per = Context - First, scored = Batch * per;
            var parts = new double[scored];
            Parallel.For(0, scored, () => new float[Vocab], (r, _, scratch) =>
            {
                int row = RowOf(r, per, Context, First);
                var l = logits.Span.Slice(row * Vocab, Vocab);
                parts[r] = LogSumExp(l, scratch) - l[targets[row]];
                return scratch;
            }, _ => { });
            return parts.Sum();
        }

        /// <summary>Σ over scored tokens of KL(P_clean ‖ P_mod) = Σ_v p_v (clean_v − mod_v) + lse_mod − lse_clean.</summary>
        public double KlDivergence(Tensor logits)
        {
            int per = Context - First, scored = Batch * per;
            var parts = new double[scored];
            Parallel.For(0, scored, () => new float[Vocab], (r, _, scratch) =>
            {
                var l = logits.Span.Slice(RowOf(r, per, Context, First) * Vocab, Vocab);
                TensorPrimitives.Subtract(LogitsClean.AsSpan(r * Vocab, Vocab), l, scratch);
                double cross = TensorPrimitives.Dot(Probabilities.AsSpan(r * Vocab, Vocab), scratch);
                parts[r] = cross + LogSumExp(l, scratch) - LogNormaliser[r];
                return scratch;
            }, _ => { });
            return parts.Sum();
        }
    }

    sealed class Accumulator
    {
        public long Tokens;
        public double Clean, Sae, Zero, Mean, KlSae, KlZero, KlMean;

        public SpliceLosses Result()
        {
            if (Tokens == 0) throw new UserError("no tokens were scored");
            return new SpliceLosses(Tokens, Clean / Tokens, Sae / Tokens, Zero / Tokens, Mean / Tokens, KlSae / Tokens, KlZero / Tokens, KlMean / Tokens);
        }
    }
}
