using System.Runtime.CompilerServices;

namespace Mechanist.Numerics;

/// <summary>The whole state of an <see cref="Rng"/>: three numbers, enough for an exact resume.</summary>
public readonly record struct RngState(ulong Seed, ulong Stream, ulong Position);

/// <summary>
/// A seeded counter-based random generator (Philox4x32-10), reproducible across runs, machines and
/// thread counts.
///
/// Stream scheme: the generator is a pure function word(seed, stream, position) → 32 random bits.
/// The Philox key is the 64-bit seed; the 128-bit counter is (position / 4 as 64 bits, stream as 64 bits);
/// each counter yields 4 words. <c>new Rng(seed)</c> is stream 0 at position 0. <see cref="Stream"/>(id)
/// names an independent sequence by purpose (say 1 for initial weights, 2 for data order) whatever has
/// been drawn before; streams nest (the child's stream number hashes the parent's with the id).
/// <see cref="Fork"/> draws the id from this generator instead. Consumption is fixed per call, so a bulk
/// fill can be split across threads by position (<see cref="Advance"/>) and give the same numbers:
/// NextUInt32/NextFloat/FillUniform use one word per value, NextUInt64/NextDouble two, NextNormal two,
/// FillNormal two per pair of values (cos and sin of one Box–Muller draw), NextInt one or more (rejection).
/// Not thread-safe: give each thread its own stream or advanced copy.
/// </summary>
public sealed class Rng
{
    const double TwoPi = 2 * Math.PI;
    const int ParallelFillThreshold = 1 << 20;
    readonly ulong _seed, _stream;
    ulong _position;
    // The current block of four words and which block it is (ulong.MaxValue when none yet).
    ulong _blockIndex = ulong.MaxValue;
    uint _w0, _w1, _w2, _w3;

    public Rng(ulong seed) : this(seed, 0, 0) { }

    Rng(ulong seed, ulong stream, ulong position)
    {
        _seed = seed;
        _stream = stream;
        _position = position;
    }

    public static Rng FromState(RngState state) => new(state.Seed, state.Stream, state.Position);

    public RngState State => new(_seed, _stream, _position);

    /// <summary>Words drawn so far in this stream.</summary>
    public ulong Position => _position;

    /// <summary>An independent generator named by <paramref name="streamId"/>, at its start; this one is unchanged.</summary>
    public Rng Stream(ulong streamId) => new(_seed, Mix(_stream, streamId), 0);

    /// <summary>A new independent stream whose id is drawn from this generator (which advances by two words).</summary>
    public Rng Fork() => Stream(NextUInt64());

    /// <summary>A copy at the same position: draws from it do not move this one.</summary>
    public Rng Clone() => new(_seed, _stream, _position);

    /// <summary>Skips <paramref name="words"/> words, as if they had been drawn.</summary>
    public Rng Advance(ulong words)
    {
        _position += words;
        return this;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextUInt32()
    {
        ulong block = _position >> 2;
        if (block != _blockIndex) Generate(block);
        int word = (int)(_position++ & 3);
        return word switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };
    }

    public ulong NextUInt64() => ((ulong)NextUInt32() << 32) | NextUInt32();

    /// <summary>Uniform on [0, 1) with 24 random bits (every float of the form i·2⁻²⁴).</summary>
    public float NextFloat() => (NextUInt32() >> 8) * (1f / (1 << 24));

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box–Muller (two words; tails reach ≈6.7σ).</summary>
    public float NextNormal()
    {
        uint u = NextUInt32(), v = NextUInt32();
        return (float)(Radius(u) * Math.Cos(TwoPi * Angle(v)));
    }

    /// <summary>Uniform integer in [0, <paramref name="n"/>) without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "upper bound must be positive");
        ulong product = (ulong)NextUInt32() * (uint)n;
        uint low = (uint)product;
        if (low < (uint)n)
        {
            uint threshold = (uint)-n % (uint)n;
            while (low < threshold)
            {
                product = (ulong)NextUInt32() * (uint)n;
                low = (uint)product;
            }
        }
        return (int)(product >> 32);
    }

    /// <summary>Uniform integer in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public int NextInt(int lo, int hi) => lo + NextInt(hi - lo);

    /// <summary>Fisher–Yates: every permutation equally likely.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Fills with uniform values on [lo, hi), one word each; large spans use every thread with the same result.</summary>
    public void FillUniform(Span<float> values, float lo, float hi)
    {
        if (!(hi > lo)) throw new ArgumentException($"empty range [{lo}, {hi})");
        Fill(values, false, (rng, chunk) => rng.UniformChunk(chunk, lo, hi));
    }

    /// <summary>Fills with normal values N(mean, std²), two words per pair; large spans use every thread with the same result.</summary>
    public void FillNormal(Span<float> values, float mean, float std)
    {
        if (!(std >= 0)) throw new ArgumentException($"standard deviation {std} must be ≥ 0");
        Fill(values, true, (rng, chunk) => rng.NormalChunk(chunk, mean, std));
    }

    delegate void ChunkFill(Rng rng, Span<float> chunk);

    /// <summary>
    /// Splits a fill into even-length chunks, each drawn by a copy advanced to the chunk's first word,
    /// so the values depend only on the position, never on how many threads drew them.
    /// </summary>
    unsafe void Fill(Span<float> values, bool pairs, ChunkFill fill)
    {
        int threads = values.Length < ParallelFillThreshold ? 1 : Parallelism.Threads;
        if (threads == 1)
            fill(this, values);
        else
        {
            int chunk = ((values.Length + threads - 1) / threads + 1) & ~1;
            ulong start = _position;
            fixed (float* p = values)
            {
                nint address = (nint)p;
                int length = values.Length;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    int from = Math.Min(length, t * chunk), to = Math.Min(length, from + chunk);
                    var rng = new Rng(_seed, _stream, start + (ulong)from); // one word per value, chunks even
                    fill(rng, new Span<float>((float*)address + from, to - from));
                });
            }
            // Normal values come in pairs: an odd tail still uses a whole pair of words.
            _position = start + (ulong)(pairs ? values.Length + (values.Length & 1) : values.Length);
        }
    }

    void UniformChunk(Span<float> values, float lo, float hi)
    {
        float width = hi - lo, below = MathF.BitDecrement(hi);
        for (int i = 0; i < values.Length; i++)
        {
            float x = lo + width * NextFloat();
            values[i] = x < hi ? x : below;
        }
    }

    void NormalChunk(Span<float> values, float mean, float std)
    {
        int i = 0;
        for (; i + 1 < values.Length; i += 2)
        {
            uint u = NextUInt32(), v = NextUInt32();
            double r = Radius(u), angle = TwoPi * Angle(v);
            var (sin, cos) = Math.SinCos(angle);
            values[i] = mean + std * (float)(r * cos);
            values[i + 1] = mean + std * (float)(r * sin);
        }
        if (i < values.Length)
        {
            uint u = NextUInt32(), v = NextUInt32();
            values[i] = mean + std * (float)(Radius(u) * Math.Cos(TwoPi * Angle(v)));
        }
    }

    /// <summary>Box–Muller radius √(−2 ln u) with u on (0, 1], never infinite.</summary>
    static double Radius(uint word) => Math.Sqrt(-2 * Math.Log((word + 1.0) * (1.0 / 4294967296.0)));

    static double Angle(uint word) => word * (1.0 / 4294967296.0);

    void Generate(ulong block)
    {
        Philox.Block((uint)block, (uint)(block >> 32), (uint)_stream, (uint)(_stream >> 32),
            (uint)_seed, (uint)(_seed >> 32), out _w0, out _w1, out _w2, out _w3);
        _blockIndex = block;
    }

    /// <summary>SplitMix64's mixer over the parent stream and the id: distinct ids give unrelated streams.</summary>
    static ulong Mix(ulong parent, ulong id) => SplitMix64.Mix(parent * SplitMix64.Gamma + id + 0x632BE59BD9B4E019UL);
}
