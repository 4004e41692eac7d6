using Mechanist.Numerics;

namespace Mechanist.Bench;

/// <summary>One workload's training speed in fp32 and with bf16 matmul inputs, medians over rounds; the ratio is the median of per-round ratios.</summary>
public sealed record PrecisionBenchResult(string Workload, double Fp32TokensPerSecond, double Bf16TokensPerSecond, double Ratio, int Rounds);

/// <summary>
/// What <c>--precision bf16</c> buys in whole training steps, not just in one GEMM: language-model training
/// (<see cref="ModelBench.Measure"/>) and SAE training (<see cref="SaeBench"/>, no peer) timed in fp32 and in a bf16
/// <see cref="GemmPrecisionScope"/>, back to back in every round so both see the same load.
/// </summary>
public static class PrecisionBench
{
    public static PrecisionBenchResult Model(string preset, int vocab, int batch, int steps, int rounds, Action<string>? log = null, CancellationToken cancel = default)
    {
        var config = ModelBench.Config(preset, vocab, null, matchPeer: false);
        return Interleave($"model {preset} (vocab {vocab}, batch {batch})", rounds, log, cancel,
            () => ModelBench.Measure(config, batch, warmup: 2, steps));
    }

    public static PrecisionBenchResult Sae(string kind, double seconds, int rounds, Action<string>? log = null, CancellationToken cancel = default) =>
        Interleave($"sae {kind} 512→4096, batch 4096", rounds, log, cancel,
            () => SaeBench.Run([kind], repeats: 1, seconds, peerScript: null, cancel: cancel)[0].TokensPerSecond);

    static PrecisionBenchResult Interleave(string workload, int rounds, Action<string>? log, CancellationToken cancel, Func<double> tokensPerSecond)
    {
        if (BFloat16Gemm.UnavailableReason is { } why) throw new UserError($"bf16 unavailable: {why}");
        var fp32 = new List<double>();
        var bf16 = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            cancel.ThrowIfCancellationRequested();
            using (GemmPrecisionScope.Enter(GemmPrecision.Float32)) fp32.Add(tokensPerSecond());
            using (GemmPrecisionScope.Enter(GemmPrecision.BFloat16)) bf16.Add(tokensPerSecond());
            log?.Invoke($"{workload}: round {r + 1}/{rounds}: fp32 {fp32[^1]:N0} tokens/s, bf16 {bf16[^1]:N0} tokens/s");
        }
        var ratios = bf16.Select((b, i) => b / fp32[i]).ToList();
        return new PrecisionBenchResult(workload, GemmBench.Median(fp32), GemmBench.Median(bf16), GemmBench.Median(ratios), rounds);
    }
}
