using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mechanist.Sae;
using Mechanist.Numerics;
using Tensor = Mechanist.Numerics.Tensor<float>;

namespace Mechanist.Bench;

/// <summary>One SAE training-throughput measurement, with the peer and the GEMM bound measured interleaved.</summary>
/// <param name="RatioToPeer">Median of the per-round ratios ours / peer (each round times both back to back).</param>
public sealed record SaeBenchResult(string Kind, int DIn, int DSae, int Batch, double L0, double TokensPerSecond,
    double? PeerTokensPerSecond, double GemmGflops, double? RatioToPeer)
{
    /// <summary>Tokens/s if a step cost nothing but its one dense product (the encoder GEMM) at the measured GEMM speed.</summary>
    public double GemmBoundTokensPerSecond => GemmGflops * 1e9 / (2.0 * DIn * DSae);
    public double FractionOfGemmLimit => TokensPerSecond / GemmBoundTokensPerSecond;
    /// <summary>Dense-equivalent GFLOP/s (the peer script's 12·d_in·d_sae per token), for comparison with its figure.</summary>
    public double EffectiveGflops => TokensPerSecond * 12.0 * DIn * DSae / 1e9;
}

/// <summary>
/// `mechanist bench sae`: full SAE training steps (fused forward/backward, clipping, Adam, decoder
/// renormalisation) on 512 → 4,096 with batch 4,096, against the PyTorch peer (bench/peers/torch_sae_bench.py)
/// run in between on the same input batches, and against the bound set by the one dense GEMM a step needs.
/// Conditions are a trained SAE's, not the kernel's best case: the inputs are a heavy-tailed synthetic set
/// (<see cref="HeavyTailedInputs"/>: Zipf feature frequencies, so a few latents fire on most tokens and most
/// rarely), both contenders rotate over the same <see cref="Batches"/> batches, and relu is timed both at a
/// trained SAE's sparsity (L0 ≈ 32, the sparse path) and in the early dense phase (L0 ≈ d_sae/2, kind
/// <c>relu-dense</c>), where training starts.
/// </summary>
public static class SaeBench
{
    /// <summary>Input batches both contenders cycle through, one per step.</summary>
    public const int Batches = 4;

    public static List<SaeBenchResult> Run(string[] kinds, int repeats, double seconds, string? peerScript,
        int dIn = 512, int dSae = 4096, int batch = 4096, double reluL0 = 32, Action<string>? log = null, CancellationToken cancel = default)
    {
        var results = new List<SaeBenchResult>();
        var inputs = HeavyTailedInputs.Make(dIn, dSae, batch * Batches, reluL0, seed: 2);
        var batches = Enumerable.Range(0, Batches).Select(b => inputs.X.Rows(b * batch, batch)).ToArray();
        string? inputFile = null;
        try
        {
            if (peerScript != null)
            {
                inputFile = Path.Combine(Path.GetTempPath(), $"mechanist-bench-sae-{Environment.ProcessId}.npy");
                Mechanist.IO.Npy.Save(inputFile, inputs.X);
            }
            foreach (string kind in kinds)
            {
                bool dense = kind == "relu-dense";
                if (!SaeArchitectureNames.TryParse(dense ? "relu" : kind, out var arch)) throw new UserError($"--kind {kind}: use relu, relu-dense, topk or gated");
                double l0Target = dense ? dSae / 2.0 : reluL0;
                var run = Setup(arch, dIn, dSae, inputs, batches[0], l0Target);
                var ours = new List<double>(); var peer = new List<double>(); var gemm = new List<double>();
                var l0s = new List<double>();
                // Every round starts from the same weights: training drifts L0 (relu's rises from the set 32), and the
                // rounds should time the same sparsity.
                var initial = run.Sae.Parameters.Select(p => p.Value.Clone()).ToArray();
                TimeSteps(run, batches, Math.Min(1.0, seconds), out _); // warm-up: JIT tiers, buffers
                for (int r = 0; r < repeats; r++)
                {
                    cancel.ThrowIfCancellationRequested();
                    for (int p = 0; p < initial.Length; p++) initial[p].Span.CopyTo(run.Sae.Parameters[p].Value.Span);
                    gemm.Add(GemmGflops(dIn, dSae, batch, Math.Min(0.3, seconds)));
                    ours.Add(TimeSteps(run, batches, seconds, out double l0));
                    l0s.Add(l0);
                    if (inputFile != null && arch is SaeArchitecture.Relu or SaeArchitecture.TopK) // the peer has no gated
                    {
                        double? p = Peer(peerScript!, arch, dIn, dSae, batch, inputFile, log);
                        if (p is double v) peer.Add(v);
                    }
                    log?.Invoke($"{kind}: round {r + 1}/{repeats}: {ours[^1]:N0} tok/s (L0 {l0s[^1]:F1})" + (peer.Count > r ? $", peer {peer[^1]:N0} tok/s" : "") + $", GEMM {gemm[^1]:F0} GFLOP/s");
                }
                results.Add(new SaeBenchResult(kind, dIn, dSae, batch, l0s.Average(), Median(ours), peer.Count > 0 ? Median(peer) : null, Median(gemm),
                    peer.Count == ours.Count ? Median([.. ours.Select((o, i) => o / peer[i])]) : null));
            }
        }
        finally
        {
            if (inputFile != null) File.Delete(inputFile);
        }
        return results;
    }

    static SaeTrainingRun Setup(SaeArchitecture arch, int dIn, int dSae, HeavyTailedInputs inputs, Tensor firstBatch, double l0)
    {
        var o = new SaeTrainingOptions { Architecture = arch, Widths = [dSae], Ks = [32], L1 = [5.0 / dSae], LearningRate = 1e-4 };
        var sae = SparseAutoencoder.Create(arch, dIn, dSae, 1, 32);
        // A trained SAE's encoder rows point along the features of its data; start there (with the decoder as
        // its transpose), so which latents fire follows the data's heavy-tailed feature frequencies.
        for (int i = 0; i < dSae; i++)
        {
            inputs.Features.Row(i).CopyTo(sae.WEnc.Value.Row(i));
            inputs.Features.Row(i).CopyTo(sae.WDec.Value.Row(i));
        }
        if (arch is SaeArchitecture.Relu or SaeArchitecture.Gated)
        {
            // One encoder bias for all latents, set so that l0 latents fire per token on average (a trained relu
            // SAE fires ~20–50 of 4,096; one that starts training, about half). Gated: the same for the gate
            // (b_gate); with r_mag = b_mag = 0 every open gate is active, so L0 matches relu's.
            float bias = -inputs.Threshold(sae.WEnc.Value, firstBatch, l0);
            sae.BEnc.Value.Span.Fill(bias);
        }
        return new SaeTrainingRun("bench", sae, o, o.L1[0], o.LearningRate);
    }

    static double TimeSteps(SaeTrainingRun run, Tensor[] batches, double seconds, out double l0)
    {
        var o = new SaeTrainingOptions { Architecture = run.Sae.Architecture, DeadWindowTokens = long.MaxValue };
        var watch = Stopwatch.StartNew();
        long steps = 0; double l0Sum = 0;
        do
        {
            var s = run.Step(batches[steps % batches.Length], 10_000 + steps, 1e-4f, 1, long.MaxValue, o);
            l0Sum += s.L0;
            steps++;
        } while (watch.Elapsed.TotalSeconds < seconds);
        l0 = l0Sum / steps;
        return steps * batches[0].RowCount / watch.Elapsed.TotalSeconds;
    }

    /// <summary>The encoder product's shape (X[B×d]·W_encᵀ) through the project's GEMM, GFLOP/s.</summary>
    static double GemmGflops(int dIn, int dSae, int batch, double seconds)
    {
        var a = new Tensor(batch, dIn); var b = new Tensor(dSae, dIn); var c = new Tensor(batch, dSae);
        new Rng(3).FillNormal(a.Span, 0, 1); new Rng(4).FillNormal(b.Span, 0, 1);
        Gemm.Multiply(a, false, b, true, c, 1f, 0f);
        var watch = Stopwatch.StartNew();
        int n = 0;
        do { Gemm.Multiply(a, false, b, true, c, 1f, 0f); n++; } while (watch.Elapsed.TotalSeconds < seconds);
        return n * 2.0 * batch * dIn * dSae / watch.Elapsed.TotalSeconds / 1e9;
    }

    static double? Peer(string script, SaeArchitecture arch, int dIn, int dSae, int batch, string inputFile, Action<string>? log)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in new[] { script, "--kind", arch == SaeArchitecture.Relu ? "relu" : "topk", "--d-in", dIn.ToString(CultureInfo.InvariantCulture),
                     "--d-sae", dSae.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture),
                     "--steps", "10", "--threads", Parallelism.Threads.ToString(CultureInfo.InvariantCulture), "--inputs", inputFile })
            psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var m = Regex.Match(output, @"([\d,]+) tokens/s");
            if (p.ExitCode != 0 || !m.Success)
            {
                log?.Invoke($"peer failed (exit {p.ExitCode}): {error.Trim().Split('\n').LastOrDefault()}");
                return null;
            }
            return double.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log?.Invoke($"peer not run: {e.Message}");
            return null;
        }
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
