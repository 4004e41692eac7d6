namespace Mechanist.Pipeline;

/// <summary>
/// How long a preset should take on an idle 2-core machine, printed before the run starts. The rates come from
/// the quick preset's processor time per stage on the 2-core AMD EPYC build machine (measured while it was shared,
/// so per CPU-second), times 1.7 CPU-seconds per second for two idle cores (1.2 for the mostly serial BPE merges).
/// </summary>
public static class DemoEstimate
{
    /// <summary>The SDK documentation corpus as the corpus stage writes it (JSON Lines, gzip): about 4.5 MB.</summary>
    public const long SdkDocsCorpusBytes = 4_500_000;

    // Per second on 2 idle cores; corpus rates are per byte of the input files as stored (gzip counts compressed).
    const double TokenizerBytesPerSecond = 2.5e6;   // BPE training on mini-pile: 52 MB .gz in 25 CPU-s
    const double EncodeBytesPerSecond = 15e6;       // token store: 52 MB .gz in 6 CPU-s
    const double ModelTokensPerSecond = 36_000;     // toy-1l, vocabulary 4,096: 21k tokens per CPU-s
    const double HarvestTokensPerSecond = 120_000;  // toy-1l to blocks.0.mlp.hook_post, shuffled store: 71k rows per CPU-s
    const double SaeTokensPerSecond = 38_000;       // 512 → 4,096 top-32: 22.5k activations per CPU-s
    const double FeatureTokensPerSecond = 32_000;   // model + SAE + statistics: 18.7k tokens per CPU-s
    const double ExplainUnitsPerSecond = 1_100;     // built-in explainer: 660 units per CPU-s

    /// <param name="ab">With `--ab`: model B, its activations and dictionary like A's, the smaller widths (7/8 of the SAE's
    /// work), the A/B correlations (both models and dictionaries over the feature tokens) and the splits (only the
    /// dictionaries over stored activations, estimated as a third of that).</param>
    public static IReadOnlyDictionary<string, double> Seconds(DemoPreset p, long corpusBytes, bool ab = false)
    {
        double model = p.ModelPreset == "toy-1l" ? 1 : 0.05;   // the micro model is far smaller
        double sae = p.SaeWidth / 4096.0;
        var seconds = new Dictionary<string, double>
        {
            ["tokenizer"] = corpusBytes / TokenizerBytesPerSecond,
            ["tokens"] = corpusBytes / EncodeBytesPerSecond,
            ["model"] = p.ModelTokens / ModelTokensPerSecond * model,
            ["acts"] = p.HarvestTokens / HarvestTokensPerSecond * model,
            ["sae"] = p.SaeTokens / SaeTokensPerSecond * sae,
            ["features"] = p.FeatureTokens / FeatureTokensPerSecond * Math.Max(sae, model),
            ["explain"] = (p.SaeWidth + 512 * model) / ExplainUnitsPerSecond,
        };
        if (ab)
        {
            seconds["model-b"] = seconds["model"];
            seconds["acts-b"] = seconds["acts"];
            seconds["sae-b"] = seconds["sae"];
            seconds["universal"] = 2 * p.FeatureTokens / FeatureTokensPerSecond * Math.Max(sae, model);
            seconds["sae-widths"] = 0.875 * seconds["sae"];
            seconds["splits"] = seconds["universal"] / 3;
        }
        return seconds;
    }
}
