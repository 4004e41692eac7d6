using System.Text.Json.Nodes;
using Mechanist.Activations;

namespace Mechanist.Tests.Activations;

public class SamplingTests
{
    [Fact]
    public void RandomPermutationIsABijectionForEverySize()
    {
        for (long n = 0; n <= 300; n++)
        {
            var p = new RandomPermutation(n, (ulong)n * 7919);
            var seen = new bool[n];
            for (long i = 0; i < n; i++)
            {
                long v = p[i];
                Assert.InRange(v, 0, n - 1);
                Assert.False(seen[v]);
                seen[v] = true;
            }
        }
        var big = new RandomPermutation(1_000_003, 5);
        var hits = new bool[1_000_003];
        for (long i = 0; i < big.Count; i++) hits[big[i]] = true;
        Assert.All(hits, Assert.True);
    }

    [Fact]
    public void PermutationLooksRandom()
    {
        // Few fixed points and little correlation between position and value: not the identity in disguise.
        const int n = 10_000;
        var p = new RandomPermutation(n, 42);
        int fixedPoints = 0, ascending = 0;
        for (int i = 0; i < n; i++)
        {
            if (p[i] == i) fixedPoints++;
            if (i > 0 && p[i] > p[i - 1]) ascending++;
        }
        Assert.InRange(fixedPoints, 0, 10); // expected 1
        Assert.InRange(ascending, n / 2 - 300, n / 2 + 300); // expected n/2, sd ≈ 29
        var other = new RandomPermutation(n, 43);
        Assert.NotEqual(Enumerable.Range(0, 100).Select(i => other[i]), Enumerable.Range(0, 100).Select(i => p[i]));
    }

    [Theory]
    [InlineData(1L, 1, false)]
    [InlineData(7L, 3, false)]
    [InlineData(1000L, 64, false)]
    [InlineData(1000L, 64, true)]
    public void SamplerCoversEveryRowOncePerEpoch(long rows, int batch, bool dropLast)
    {
        var sampler = new BatchSampler(rows, batch, seed: 11, dropLast);
        var indices = new long[batch];
        var orders = new List<long[]>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var order = new List<long>();
            long expected = dropLast ? rows / batch * batch : rows;
            while (order.Count < expected)
            {
                int n = sampler.Next(indices);
                Assert.Equal(epoch, sampler.Epoch);
                Assert.True(n == batch || (!dropLast && order.Count + n == rows));
                order.AddRange(indices[..n]);
            }
            Assert.Equal(expected, order.Count);
            Assert.Equal(order.Count, order.Distinct().Count());
            if (!dropLast) Assert.Equal(Enumerable.Range(0, (int)rows).Select(i => (long)i), order.Order());
            orders.Add(order.ToArray());
        }
        if (rows >= 1000) Assert.NotEqual(orders[0], orders[1]); // a new order each epoch
    }

    [Fact]
    public void SamplerResumesExactlyFromSavedState()
    {
        var a = new BatchSampler(1234, 100, seed: 99);
        var buffer = new long[100];
        for (int i = 0; i < 17; i++) a.Next(buffer); // into the second epoch
        Assert.Equal(1, a.Epoch);
        var json = a.State.ToJson().ToJsonString();
        var b = BatchSampler.Restore(BatchSamplerState.FromJson(JsonNode.Parse(json)!.AsObject(), "ckpt.json"));
        Assert.Equal(a.State, b.State);
        var x = new long[100];
        var y = new long[100];
        for (int i = 0; i < 40; i++)
        {
            int n = a.Next(x), m = b.Next(y);
            Assert.Equal(n, m);
            Assert.Equal(x[..n], y[..m]);
        }
        Assert.NotEqual(new BatchSampler(1234, 100, 1).State with { Seed = 2 }, new BatchSampler(1234, 100, 1).State);
        var bad = JsonNode.Parse(json)!.AsObject();
        bad["position"] = 5000;
        Assert.Equal("sampler.position", Assert.Throws<DataFormatError>(() => BatchSamplerState.FromJson(bad, "ckpt.json")).Field);
    }

    [Fact]
    public void ShuffleBufferEmitsEveryRowOnceInMixedOrder()
    {
        const int width = 3, rows = 1000;
        var stream = Enumerable.Range(0, rows).SelectMany(r => new[] { r, r + 0.25f, r + 0.5f }).ToArray();
        var chunks = Enumerable.Range(0, 40).Select(c => (ReadOnlyMemory<float>)stream.AsMemory(c * 25 * width, 25 * width));
        var buffer = new ShuffleBuffer(capacityRows: 200, width, seed: 5);
        var seen = new List<int>();
        foreach (var batch in buffer.Mix(chunks, batchRows: 64))
        {
            var span = batch.Span;
            Assert.True(span.Length % width == 0 && span.Length <= 64 * width);
            for (int i = 0; i < span.Length; i += width)
            {
                Assert.Equal(span[i] + 0.25f, span[i + 1]); // rows stay intact
                Assert.Equal(span[i] + 0.5f, span[i + 2]);
                seen.Add((int)span[i]);
            }
        }
        Assert.Equal(Enumerable.Range(0, rows), seen.Order());
        int inPlace = seen.Select((v, i) => v == i ? 1 : 0).Sum();
        Assert.InRange(inPlace, 0, 50);
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public void ShuffleBufferAddAndTakeRespectCapacity()
    {
        var b = new ShuffleBuffer(4, 2, 1);
        Assert.Equal(4, b.Add(new float[12]));
        Assert.Equal(0, b.Add(new float[2]));
        var dst = new float[10];
        Assert.Equal(4, b.Take(5, dst));
        Assert.Equal(0, b.Count);
        Assert.Throws<ArgumentException>(() => b.Add(new float[3]));
    }
}
