using System.Numerics;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using static Mechanist.Tests.Numerics.KernelReference;

namespace Mechanist.Tests.Numerics;

/// <summary>
/// The unsafe kernels write only inside the spans they are given: each output here is a slice of a longer buffer whose
/// tail holds a sentinel, and the inputs are followed by readable guard values, so a loop that runs one element or one
/// vector too far changes the sentinel instead of going unseen (or corrupting whatever the heap held next).
/// </summary>
[Collection("threads-alone")]
public class KernelBoundsTests
{
    const int Guard = 40; // more than two float vectors
    const double Sentinel = 12345;

    static T[] Buffer<T>(Random rng, int n, double guardValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var b = new T[n + Guard];
        for (int i = 0; i < n; i++) b[i] = T.CreateTruncating(rng.NextDouble() * 6 - 3);
        for (int i = n; i < b.Length; i++) b[i] = T.CreateTruncating(guardValue);
        return b;
    }

    static void AssertSentinels<T>(T[] buffer, int n, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = n; i < buffer.Length; i++)
            Assert.True(buffer[i] == T.CreateTruncating(Sentinel), $"{what} ({typeof(T).Name}, n = {n}): element {i - n} past the end was written");
    }

    static void Activations<T>(Activation kind, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using (TestThreads.Set(2))
        {
            var rng = new Random(n);
            var x = Buffer<T>(rng, n, 1.5); // a guard input whose activation and gradient are not the sentinel
            var y = Buffer<T>(rng, n, Sentinel);
            var dy = Buffer<T>(rng, n, 2);
            var dx = Buffer<T>(rng, n, Sentinel);
            Mechanist.Numerics.Kernels.Activations.Forward<T>(kind, x.AsSpan(0, n), y.AsSpan(0, n));
            AssertSentinels(y, n, $"{kind} forward");
            Mechanist.Numerics.Kernels.Activations.Backward<T>(kind, x.AsSpan(0, n), y.AsSpan(0, n), dy.AsSpan(0, n), dx.AsSpan(0, n));
            AssertSentinels(dx, n, $"{kind} backward");
        }
    }

    public static TheoryData<Activation, int> ActivationCases()
    {
        var data = new TheoryData<Activation, int>();
        foreach (var kind in Enum.GetValues<Activation>())
            foreach (int n in new[] { 5, 16, 37, (1 << 16) + 21 })
                data.Add(kind, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(ActivationCases))]
    public void Activations_write_only_their_span_in_float(Activation kind, int n) => Activations<float>(kind, n);

    [Theory]
    [MemberData(nameof(ActivationCases))]
    public void Activations_write_only_their_span_in_double(Activation kind, int n) => Activations<double>(kind, n);

    [Theory]
    [InlineData(5)]
    [InlineData(150)]
    public void Cross_entropy_writes_one_loss_and_one_logsumexp_per_row(int rows)
    {
        using (TestThreads.Set(2))
        {
            const int vocab = 37;
            var rng = new Random(rows);
            // The logits are the first rows of a longer tensor and the targets the first of a longer array, so a row
            // past the end reads valid values; only the sentinel after each output can show it was computed.
            var all = new Tensor<float>(rows + 4, vocab);
            for (int i = 0; i < all.Length; i++) all[i] = (float)(rng.NextDouble() * 4 - 2);
            var targets = Enumerable.Range(0, rows + 4).Select(_ => rng.Next(vocab)).ToArray();
            var loss = Buffer<float>(rng, rows, Sentinel);
            var lse = Buffer<float>(rng, rows, Sentinel);
            Softmax.CrossEntropyForward(all.Rows(0, rows), targets.AsSpan(0, rows), -100, loss.AsSpan(0, rows), lse.AsSpan(0, rows));
            AssertSentinels(loss, rows, "loss");
            AssertSentinels(lse, rows, "logsumexp");
        }
    }
}
