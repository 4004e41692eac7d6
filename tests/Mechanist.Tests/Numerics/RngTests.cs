using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

[Collection("threads-alone")]
public class RngTests
{
    [Fact]
    public void Philox_matches_the_Random123_known_answers()
    {
        // Random123 tests/kat_vectors, "philox4x32 10": counter[4], key[2] → result[4].
        (uint[] Ctr, uint[] Key, uint[] Out)[] vectors =
        [
            ([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
            ([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
            ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
        ];
        foreach (var (c, k, o) in vectors)
        {
            Philox.Block(c[0], c[1], c[2], c[3], k[0], k[1], out uint r0, out uint r1, out uint r2, out uint r3);
            Assert.Equal(o, new[] { r0, r1, r2, r3 });
        }
        // Seed 0, stream 0, first words: the counter-0 block.
        var rng = new Rng(0);
        Assert.Equal(0x6627e8d5u, rng.NextUInt32());
        Assert.Equal(0xe169c58du, rng.NextUInt32());
    }

    [Fact]
    public void Same_seed_gives_identical_output_and_streams_differ()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int i = 0; i < 1000; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        var s1 = new Rng(42).Stream(1);
        var s2 = new Rng(42).Stream(2);
        Assert.NotEqual(s1.NextUInt64(), s2.NextUInt64());
        // A named stream does not depend on what its parent has drawn.
        var parent = new Rng(42);
        parent.NextUInt64();
        Assert.Equal(new Rng(42).Stream(7).NextUInt64(), parent.Stream(7).NextUInt64());
        Assert.NotEqual(new Rng(43).NextUInt64(), new Rng(42).NextUInt64());
    }

    [Fact]
    public void State_restores_an_exact_resume()
    {
        var rng = new Rng(5).Stream(3);
        for (int i = 0; i < 7; i++) rng.NextFloat();
        var saved = rng.State;
        var expected = Enumerable.Range(0, 50).Select(_ => rng.NextNormal()).ToArray();
        var resumed = Rng.FromState(saved);
        Assert.Equal(expected, Enumerable.Range(0, 50).Select(_ => resumed.NextNormal()).ToArray());
    }

    [Fact]
    public void Large_fills_are_identical_on_one_and_two_threads_and_when_chunked_by_position()
    {
        const int n = (1 << 20) + 13;
        float[] Fill(int threads, bool normal)
        {
            using var _ = TestThreads.Set(threads);
            var x = new float[n];
            var rng = new Rng(9).Stream(4);
            if (normal) rng.FillNormal(x, 1, 2); else rng.FillUniform(x, -3, 3);
            return x;
        }
        foreach (bool normal in new[] { false, true })
        {
            var one = Fill(1, normal);
            var two = Fill(2, normal);
            int firstDiff = Enumerable.Range(0, n).FirstOrDefault(i => one[i] != two[i], -1);
            Assert.True(firstDiff < 0, $"normal={normal}: threads differ first at {firstDiff}");
            // By hand: the second half drawn by a copy advanced to its first word.
            var root = new Rng(9).Stream(4);
            var halves = new float[n];
            int half = n / 2 & ~1;
            var second = root.Clone().Advance((ulong)half); // one word per value either way
            if (normal) { root.FillNormal(halves.AsSpan(0, half), 1, 2); second.FillNormal(halves.AsSpan(half), 1, 2); }
            else { root.FillUniform(halves.AsSpan(0, half), -3, 3); second.FillUniform(halves.AsSpan(half), -3, 3); }
            int firstChunkDiff = Enumerable.Range(0, n).FirstOrDefault(i => one[i] != halves[i], -1);
            Assert.True(firstChunkDiff < 0, $"normal={normal}: chunked fill differs first at {firstChunkDiff}");
        }
    }

    [Fact]
    public void Distributions_have_the_right_moments_and_ranges()
    {
        var rng = new Rng(2024);
        var u = new float[200_000];
        rng.FillUniform(u, 2, 4);
        Assert.All(u, x => Assert.InRange(x, 2f, MathF.BitDecrement(4f)));
        Assert.InRange(u.Average(), 2.99, 3.01);
        var z = new float[200_000];
        rng.FillNormal(z, 1, 3);
        double mean = z.Average(), variance = z.Sum(x => (x - mean) * (x - mean)) / z.Length;
        Assert.InRange(mean, 0.97, 1.03);
        Assert.InRange(variance, 8.85, 9.15);
        double single = Enumerable.Range(0, 50_000).Average(_ => (double)rng.NextNormal());
        Assert.InRange(single, -0.03, 0.03);
        Assert.InRange(Enumerable.Range(0, 100_000).Average(_ => rng.NextFloat()), 0.495, 0.505);
    }

    [Fact]
    public void NextInt_is_unbiased_and_shuffle_is_a_permutation()
    {
        var rng = new Rng(77);
        // n = 3·2³⁰ is where modulo bias would be worst (the low third twice as likely).
        int n = 3 << 29, low = 0, draws = 60_000;
        for (int i = 0; i < draws; i++) if (rng.NextInt(n) < n / 3) low++;
        Assert.InRange(low / (double)draws, 0.32, 0.347);
        var counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[rng.NextInt(6)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        var items = Enumerable.Range(0, 1000).ToArray();
        rng.Shuffle<int>(items);
        Assert.NotEqual(Enumerable.Range(0, 1000), items);
        Assert.Equal(Enumerable.Range(0, 1000), items.Order());
    }
}
