namespace Mechanist.Demo;

/// <summary>
/// How long a preset should take on an idle 2-core machine, from stage rates measured on the 2-core AMD EPYC
/// build machine (see the README's demo section). An estimate to plan by, printed before the run starts.
/// </summary>
public static class DemoEstimate
{
    /// <summary>Size of the SDK documentation corpus as JSON Lines text (about 60 MB).</summary>
    public const long SdkDocsCorpusBytes = 60_000_000;

    // Rates per second on 2 idle cores (measured; see README).
    const double TokenizerBytesPerSecond = 4e6;     // BPE training: word counting + merges
    const double EncodeBytesPerSecond = 10e6;       // corpus → token store
    const double ModelTokensPerSecond = 9_000;      // toy-1l training, vocabulary 4,096–8,192
    const double HarvestTokensPerSecond = 60_000;   // toy-1l to blocks.0.mlp.hook_post
    const double SaeTokensPerSecond = 6_000;        // 512 → 4,096 top-k training
    const double FeatureTokensPerSecond = 8_000;    // model + SAE + statistics

    public static IReadOnlyDictionary<string, double> Seconds(DemoPreset p, long corpusBytes)
    {
        double scale = p.ModelPreset == "toy-1l" ? 1 : 0.05;   // the micro model is far smaller
        double saeScale = p.SaeWidth / 4096.0;
        return new Dictionary<string, double>
        {
            ["tokenizer"] = corpusBytes / TokenizerBytesPerSecond,
            ["tokens"] = corpusBytes / EncodeBytesPerSecond,
            ["model"] = p.ModelTokens / ModelTokensPerSecond * scale,
            ["acts"] = p.HarvestTokens / HarvestTokensPerSecond * scale,
            ["sae"] = p.SaeTokens / SaeTokensPerSecond * saeScale,
            ["features"] = p.FeatureTokens / FeatureTokensPerSecond * saeScale,
        };
    }
}
