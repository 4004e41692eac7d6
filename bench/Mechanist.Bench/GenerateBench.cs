using System.Diagnostics;
using Mechanist.Models;
using Mechanist.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Mechanist.Bench;

/// <summary>One preset's single-stream generation speed against the limit of reading its weights once per token.</summary>
public sealed record GenerateBenchResult(string Preset, long WeightBytes, double TokensPerSecond, double ReadBytesPerSecond)
{
    /// <summary>Tokens per second if each token cost exactly one read of the weights from memory.</summary>
    public double LimitTokensPerSecond => ReadBytesPerSecond / WeightBytes;
    public double Fraction => TokensPerSecond / LimitTokensPerSecond;
}

/// <summary>
/// Single-stream generation (batch 1, greedy, KV cache: <see cref="Sampler.Generate"/>) on random weights, as a
/// fraction of the memory-bound limit: a token needs every weight once (the tied unembedding reads all of W_E;
/// of W_pos only one row), so no implementation can beat memory read bandwidth ÷ weight bytes. The bandwidth is
/// measured in the same run by a streaming sum over a buffer far larger than the caches, on all threads.
/// </summary>
public static class GenerateBench
{
    /// <summary>Bytes of weights a token reads: every parameter but the unused rows of the position table.</summary>
    public static long WeightBytes(TransformerConfig c) => 4 * (c.ParameterCount() - (long)(c.Context - 1) * c.DModel);

    /// <summary>Tokens per second generating a full context from a one-token prompt (after a short untimed warm-up).</summary>
    public static double TokensPerSecond(Transformer<float> model, CancellationToken cancel = default)
    {
        var greedy = new SamplingSettings(0f);
        int tokens = model.Config.Context - 1;
        Sampler.Generate(model, [1], Math.Min(16, tokens), greedy, cancel: cancel).Count(); // JIT tiers, buffers
        var clock = Stopwatch.StartNew();
        int made = Sampler.Generate(model, [1], tokens, greedy, cancel: cancel).Count();
        return made / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Memory read bandwidth in bytes/s: the best of a few streaming sums over <paramref name="mebibytes"/> MiB on every thread.</summary>
    public static double ReadBandwidth(int mebibytes = 512, int repeats = 3)
    {
        var buffer = new float[(long)mebibytes * 1024 * 1024 / 4];
        buffer.AsSpan().Fill(1f); // touch every page before timing
        int threads = Parallelism.Threads;
        long chunk = (buffer.Length + threads - 1) / threads;
        double best = 0;
        var sums = new float[threads];
        for (int r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                long start = t * chunk, count = Math.Min(chunk, buffer.Length - start);
                sums[t] = count > 0 ? TensorPrimitives.Sum(buffer.AsSpan((int)start, (int)count)) : 0;
            });
            best = Math.Max(best, buffer.Length * 4.0 / clock.Elapsed.TotalSeconds);
        }
        if (sums.Sum() <= 0) throw new InvalidOperationException("streaming sum came out wrong");
        return best;
    }
}
