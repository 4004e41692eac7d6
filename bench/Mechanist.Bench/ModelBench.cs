using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;
using Mechanist.Models;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Bench;

/// <summary>One round of the model benchmark: ours and (when run) the PyTorch peer, measured back to back.</summary>
public sealed record ModelBenchRound(double TokensPerSecond, double? PeerTokensPerSecond);

/// <summary>
/// Language-model training throughput (forward, backward, clipping, AdamW: <see cref="TrainingStep"/>) on
/// random tokens, optionally interleaved with the PyTorch peer <c>../shared/baselines/torch_lm_bench.py</c>
/// on the same shape, so the ratio is measured under the same machine load.
/// </summary>
public static class ModelBench
{
    public static TransformerConfig Config(string preset, int vocab, int? context, bool matchPeer)
    {
        var c = TransformerConfig.Preset(preset, vocab);
        if (context is int ctx) c = c with { Context = ctx };
        // The peer's model: GELU (erf) MLPs and an untied lm_head.
        if (matchPeer) c = c with { Activation = Activation.Gelu, TiedEmbeddings = false };
        return c;
    }

    /// <summary>Tokens per second over <paramref name="steps"/> training steps after <paramref name="warmup"/> untimed ones.</summary>
    public static double Measure(TransformerConfig config, int batch, int warmup, int steps, ulong seed = 0)
    {
        var (step, windows) = Setup(config, batch, seed);
        for (int i = 0; i < warmup; i++) step.Run(windows, batch, i);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step.Run(windows, batch, warmup + i);
        return (double)steps * batch * config.Context / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Where <paramref name="steps"/> training steps (after <paramref name="warmup"/> unprofiled ones) spend their
    /// time, by part (<see cref="StepProfiler"/>); the profile's total wall time is theirs.
    /// </summary>
    public static StepProfiler Profile(TransformerConfig config, int batch, int warmup, int steps, ulong seed = 0)
    {
        var (step, windows) = Setup(config, batch, seed);
        for (int i = 0; i < warmup; i++) step.Run(windows, batch, i);
        using var profile = StepProfiler.Start();
        for (int i = 0; i < steps; i++) step.Run(windows, batch, warmup + i);
        profile.Stop();
        return profile;
    }

    static (TrainingStep Step, int[] Windows) Setup(TransformerConfig config, int batch, ulong seed)
    {
        var model = Transformer<float>.Create(config, seed);
        var optimizer = new AdamW(model.Parameters, 1e-3f);
        var step = new TrainingStep(model, optimizer, new LearningRateSchedule(10, 1000), 1e-3f, 1f);
        var rng = new Mechanist.Numerics.Rng(seed + 1);
        var windows = new int[batch * (config.Context + 1)];
        for (int i = 0; i < windows.Length; i++) windows[i] = rng.NextInt(config.Vocab);
        return (step, windows);
    }

    /// <summary>
    /// Floating-point operations per trained token, counted honestly: 2 per multiply-add of every matrix product
    /// (forward 1×, backward 2×: so 6 × the weights used in products, the unembedding included, the embedding
    /// lookups, norms and biases not), plus the causal attention products (q·kᵀ and pattern·v over the unmasked
    /// keys only, on average (context + 1)/2 per query: 6·d_model·(context + 1) per layer).
    /// </summary>
    public static double FlopsPerToken(TransformerConfig c)
    {
        double d = c.DModel;
        double perLayer = d * 3 * d + d * d + (c.AttentionOnly ? 0 : 2 * d * c.DMlp);
        double productWeights = c.Layers * perLayer + (double)c.Vocab * d;
        return 6 * productWeights + c.Layers * 6 * d * (c.Context + 1);
    }

    /// <summary>Runs the PyTorch peer once on the same shape; null when python3 or torch is missing.</summary>
    public static double? MeasurePeer(string script, TransformerConfig c, int batch, int steps, int threads)
    {
        if (!File.Exists(script)) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in new[] { script, "--layers", $"{c.Layers}", "--d-model", $"{c.DModel}", "--heads", $"{c.Heads}",
                     "--d-mlp", $"{c.DMlp}", "--ctx", $"{c.Context}", "--vocab", $"{c.Vocab}", "--batch", $"{batch}",
                     "--steps", $"{steps}", "--threads", $"{threads}" })
            psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            var m = Regex.Match(output, @"([\d,\.]+) tokens/s");
            return p.ExitCode == 0 && m.Success ? double.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture) : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
