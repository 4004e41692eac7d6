using System.Text.Json;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Sae;

/// <summary>What `mechanist sae eval` (and the demo's eval stage) asks for: one SAE, measured on any of three grounds.</summary>
public sealed record SaeEvalStageOptions
{
    /// <summary>The SAE folder (SAELens layout).</summary>
    public required string Sae { get; init; }
    /// <summary>Activations (store folder or .npy) for the activation metrics: MSE, explained variance, L0, dead, ...</summary>
    public string? Acts { get; init; }
    /// <summary>With <see cref="Acts"/>: the last N rows (0 = all).</summary>
    public long Rows { get; init; }
    /// <summary>With <see cref="Acts"/>: the last rows that `sae train` holds out by default (<see cref="HeldOutRows"/>), which the SAE never trained on.</summary>
    public bool HeldOut { get; init; }
    /// <summary>A model folder to splice the SAE into (CE and KL loss scores), over <see cref="Data"/>.</summary>
    public string? Model { get; init; }
    /// <summary>With <see cref="Model"/>: the token store to evaluate on.</summary>
    public string? Data { get; init; }
    public SpliceOptions Splice { get; init; } = new();
    /// <summary>A synthetic truth folder (NAME.truth from `sae synth`): MMCS and features recovered at cosine ≥ 0.9.</summary>
    public string? Truth { get; init; }
    /// <summary>Where to write the JSON (and the density histogram NAME.density.{json,svg} beside it); null for nowhere.</summary>
    public string? Out { get; init; }
}

/// <param name="Json">Every figure: the activation metrics (from <see cref="SaeEvalStageOptions.Acts"/> when given, else
/// the spliced tokens'), the splice losses and scores, the synthetic comparison.</param>
/// <param name="Metrics">The activation metrics with the splice scores filled in when spliced; null without acts or a model.</param>
public sealed record SaeEvalStageResult(SparseAutoencoder Sae, JsonObject Json, SaeMetrics? Metrics, SpliceEvaluationResult? Splice);

/// <summary>
/// The SAE-evaluation stage as one call: activation metrics on stored rows (<see cref="SaeMetrics"/>), the SAE
/// spliced into its model (<see cref="SpliceEvaluation"/>), a known synthetic dictionary
/// (<see cref="SyntheticData.Compare"/>), any together; writes one JSON with all of them and the density histogram.
/// </summary>
public static class SaeEvalStage
{
    public static SaeEvalStageResult Run(SaeEvalStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        if (o.Rows < 0) throw new UserError($"--rows {o.Rows}: must be ≥ 0 (0 = all)");
        if (o.Acts == null && o.Model == null && o.Truth == null) throw new UserError("give --acts, --model and/or --truth");
        var sae = SaeLensFormat.Load(o.Sae);
        var json = new JsonObject { ["sae"] = o.Sae, ["architecture"] = sae.Architecture.CliName(), ["d_in"] = sae.DIn, ["d_sae"] = sae.DSae };
        SpliceEvaluationResult? splice = o.Model is string model ? Splice(sae, model, o, json, progress, cancel) : null;
        SaeMetrics? metrics = splice?.Metrics;
        if (o.Acts is string acts)
        {
            metrics = Measure(sae, acts, o, progress, cancel);
            if (splice?.Losses is { } l) metrics = metrics.WithSpliceScores(l.CeClean, l.CeSae, l.CeZero, l.CeMean, l.KlScoreZero);
            json["acts"] = Path.GetFullPath(acts);
            foreach (var (key, value) in metrics.ToJson()) json[key] = value?.DeepClone();
        }
        if (o.Truth is string truth)
        {
            var (mmcs, recovered) = SyntheticData.Compare(SyntheticData.LoadDictionary(truth), sae.WDec.Value);
            json["mmcs"] = mmcs;
            json["recovered_at_0.9"] = recovered;
        }
        if (o.Out is string outFile) Save(outFile, json, metrics);
        return new SaeEvalStageResult(sae, json, metrics, splice);
    }

    static SpliceEvaluationResult Splice(SparseAutoencoder sae, string modelDir, SaeEvalStageOptions o, JsonObject json, IProgressReporter progress, CancellationToken cancel)
    {
        string data = o.Data ?? throw new UserError("--model needs --data (the token store to evaluate on)");
        var model = ModelFiles.Load(modelDir);
        using var tokens = TokenStore.Open(data, o.Splice.Split);
        ModelTokenizer.RequireMatch(modelDir, tokens);
        var result = SpliceEvaluation.Evaluate(model, sae, tokens, o.Splice, progress, cancel);
        json["model"] = Path.GetFullPath(modelDir);
        json["data"] = Path.GetFullPath(data);
        foreach (var (key, value) in result.ToJson()) json[key] = value?.DeepClone();
        return result;
    }

    /// <summary>The activation metrics on the last rows of <paramref name="acts"/>: all, the last N, or those `sae train` held out.</summary>
    static SaeMetrics Measure(SparseAutoencoder sae, string acts, SaeEvalStageOptions o, IProgressReporter progress, CancellationToken cancel)
    {
        using var source = ActivationSource.Open(acts);
        if (source.Width != sae.DIn) throw new UserError($"{acts}: rows have {source.Width} values, the SAE reads {sae.DIn}");
        long n = o.HeldOut ? HeldOutRows.Of(source.RowCount, 0) : o.Rows > 0 ? Math.Min(o.Rows, source.RowCount) : source.RowCount;
        using var task = progress.Start("evaluating", n, "tok");
        IEnumerable<Tensor> Chunks()
        {
            foreach (var chunk in source.ReadChunks(source.RowCount - n, n))
            {
                cancel.ThrowIfCancellationRequested();
                task.Advance(chunk.Shape[0]);
                yield return chunk;
            }
        }
        return SaeMetrics.Evaluate(sae, Chunks());
    }

    static void Save(string outFile, JsonObject json, SaeMetrics? metrics)
    {
        string full = Path.GetFullPath(outFile);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllText(full, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (metrics != null)
            DensityHistogram.Save(Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".density"), metrics.Density,
                $"feature density ({metrics.Tokens:N0} tokens)");
    }
}
