using Mechanist.Activations;
using Mechanist.Autograd;
using Mechanist.Dictionary;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Demo;

/// <summary>
/// The demo's activation harvest and spliced evaluation, kept small until the harvest stage's own entry points
/// (`acts harvest`, SpliceEvaluation) land on main: every position of consecutive train windows, run to the
/// hook, into an activation store; and the model's loss with the SAE's reconstruction spliced in at the hook.
/// </summary>
public static class DemoHarvest
{
    /// <summary>Writes <paramref name="rows"/> activation rows at <paramref name="hook"/> into an activation store (BF16), resuming full shards.</summary>
    public static long Harvest(Transformer<float> model, string modelDir, string tokensDir, string hook, long rows, string outDir,
        bool resume, IProgressReporter progress, CancellationToken cancel)
    {
        using var tokens = TokenStore.Open(tokensDir, "train");
        int context = model.Config.Context;
        int width = HookNames.Width(model.Config, hook);
        long windows = Math.Min((rows + context - 1) / context, tokens.Count / context);
        if (windows < 1) throw new UserError($"{tokensDir}: the train split holds {tokens.Count:N0} tokens, fewer than one window of {context}");
        var source = new ActivationSourceInfo
        {
            Model = Path.GetFullPath(modelDir), Hook = hook, ContextLength = context, Tokens = Path.GetFullPath(tokensDir), Shuffled = false,
        };
        bool canResume = resume && File.Exists(Path.Combine(outDir, "layout.json"));
        using var writer = new ActivationStoreWriter(outDir, width, DType.BF16, source, shardBytes: 64L << 20, overwrite: true,
            stage: "acts harvest", resume: canResume);
        writer.Manifest.Settings["hook"] = hook;
        writer.Manifest.Settings["windows"] = windows;
        writer.Manifest.Settings["context"] = context;
        writer.Manifest.Settings["split"] = "train";
        long total = windows * context;
        int batchWindows = Math.Max(1, 8192 / context);
        var ids = new int[batchWindows * context];
        using var task = progress.Start("harvesting activations", total, "tok");
        long first = writer.RowCount / context;   // rows already in finished shards (whole windows: shards hold whole rows only)
        long skipRows = writer.RowCount - first * context;
        task.SetDone(writer.RowCount);
        using var noGrad = Tape.NoGrad();
        for (long w = first; w < windows; w += batchWindows)
        {
            cancel.ThrowIfCancellationRequested();
            int n = (int)Math.Min(batchWindows, windows - w);
            tokens.ReadWindow(w * context, ids.AsSpan(0, n * context));
            var acts = model.RunToHook(ids.AsSpan(0, n * context).ToArray(), n, context, hook).Reshape(-1, width);
            var span = acts.Span;
            if (skipRows > 0) { span = span[(int)(skipRows * width)..]; skipRows = 0; }
            writer.Append(span);
            task.Advance(n * context);
        }
        writer.Complete();
        return writer.RowCount;
    }

    /// <summary>Losses with the hook left alone, replaced by the SAE's reconstruction, by zeros and by its mean; KL to the clean logits.</summary>
    public sealed record SpliceScores(double CeClean, double CeSae, double CeZero, double CeMean, double KlSae, double KlZero, long Tokens)
    {
        /// <summary>(CE_zero − CE_sae) / (CE_zero − CE_clean): 1 when splicing the SAE costs nothing, 0 when it is as bad as zero-ablation.</summary>
        public double CeLossScore => (CeZero - CeSae) / (CeZero - CeClean);
        public double CeLossScoreMean => (CeMean - CeSae) / (CeMean - CeClean);
        /// <summary>1 − KL(clean ‖ sae) / KL(clean ‖ zero-ablated).</summary>
        public double KlScore => 1 - KlSae / KlZero;
    }

    public static SpliceScores Splice(Transformer<float> model, Sae sae, string hook, int[] windows, int batch, IProgressReporter progress, CancellationToken cancel)
    {
        int context = model.Config.Context, vocab = model.Config.Vocab;
        int w = context + 1, n = windows.Length / w;
        if (n == 0) throw new UserError("no validation windows to evaluate the SAE in the model with");
        int width = HookNames.Width(model.Config, hook);
        double clean = 0, withSae = 0, zero = 0, mean = 0, klSae = 0, klZero = 0;
        long count = 0;
        var meanActivation = new double[width];
        long meanRows = 0;
        using var noGrad = Tape.NoGrad();
        using var task = progress.Start("evaluating the SAE in the model", (long)n * context, "tok");
        for (int start = 0; start < n; start += batch)
        {
            cancel.ThrowIfCancellationRequested();
            int b = Math.Min(batch, n - start);
            var chunk = windows.AsSpan(start * w, b * w).ToArray();
            var (inputs, targets) = Transformer<float>.SplitWindows(chunk, b, context);
            // The batch's own mean activation stands in for the dataset mean (thousands of tokens per batch).
            var cleanHooks = new Hooks<float>().Read(hook, x =>
            {
                var rows = x.Reshape(-1, width).Span;
                for (int i = 0; i < rows.Length; i++) meanActivation[i % width] += rows[i];
                meanRows += rows.Length / width;
            });
            var cleanLogits = model.Forward(inputs, b, context, cleanHooks).Value;
            var saeLogits = model.Forward(inputs, b, context, new Hooks<float>().Replace(hook, x => sae.Reconstruct(x.Reshape(-1, width)).Reshape(x.Shape))).Value;
            var zeroLogits = model.Forward(inputs, b, context, new Hooks<float>().Replace(hook, x => new Tensor(x.Shape))).Value;
            var meanVector = meanActivation.Select(v => (float)(v / meanRows)).ToArray();
            var meanLogits = model.Forward(inputs, b, context, new Hooks<float>().Replace(hook, x =>
            {
                var y = new Tensor(x.Shape);
                var s = y.Span;
                for (int i = 0; i < s.Length; i++) s[i] = meanVector[i % width];
                return y;
            })).Value;
            for (int t = 0; t < b * context; t++)
            {
                var pc = LogSoftmax(cleanLogits.Span.Slice(t * vocab, vocab));
                var ps = LogSoftmax(saeLogits.Span.Slice(t * vocab, vocab));
                var pz = LogSoftmax(zeroLogits.Span.Slice(t * vocab, vocab));
                var pm = LogSoftmax(meanLogits.Span.Slice(t * vocab, vocab));
                int target = targets[t];
                clean -= pc[target]; withSae -= ps[target]; zero -= pz[target]; mean -= pm[target];
                klSae += Kl(pc, ps);
                klZero += Kl(pc, pz);
                count++;
            }
            task.Advance((long)b * context);
        }
        return new SpliceScores(clean / count, withSae / count, zero / count, mean / count, klSae / count, klZero / count, count);
    }

    static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        double log = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = logits[i] - log;
        return result;
    }

    static double Kl(double[] logP, double[] logQ)
    {
        double kl = 0;
        for (int i = 0; i < logP.Length; i++) kl += Math.Exp(logP[i]) * (logP[i] - logQ[i]);
        return kl;
    }
}
