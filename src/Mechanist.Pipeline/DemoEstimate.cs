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

    public static IReadOnlyDictionary<string, double> Seconds(DemoPreset p, long corpusBytes)
    {
        double model = p.ModelPreset == "toy-1l" ? 1 : 0.05;   // the micro model is far smaller
        double sae = p.SaeWidth / 4096.0;
        return new Dictionary<string, double>
        {
            ["tokenizer"] = corpusBytes / TokenizerBytesPerSecond,
            ["tokens"] = corpusBytes / EncodeBytesPerSecond,
            ["model"] = p.ModelTokens / ModelTokensPerSecond * model,
            ["acts"] = p.HarvestTokens / HarvestTokensPerSecond * model,
            ["sae"] = p.SaeTokens / SaeTokensPerSecond * sae,
            ["features"] = p.FeatureTokens / FeatureTokensPerSecond * Math.Max(sae, model),
            ["explain"] = (p.SaeWidth + 512 * model) / ExplainUnitsPerSecond,
        };
    }
}
