using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// A batch of sparse codes turned around: per latent i, the tokens it fires on, Token[Start[i] .. Start[i+1]), in
/// token order, with its values. Co-active sums over (A latent, B latent) pairs then visit A latent by A latent, so
/// each row of an m_A × m_B float64 matrix is updated while it sits in cache instead of being hit at random.
/// </summary>
public sealed class CodesByLatent
{
    public CodesByLatent(SparseCodes codes)
    {
        int latents = codes.Latents, entries = codes.Offsets[^1];
        Start = new int[latents + 1];
        for (int e = 0; e < entries; e++) Start[codes.Indices[e] + 1]++;
        for (int i = 0; i < latents; i++) Start[i + 1] += Start[i];
        Token = new int[entries];
        Value = new float[entries];
        var fill = Start[..latents];
        for (int t = 0; t < codes.Rows; t++)
            for (int e = codes.Offsets[t]; e < codes.Offsets[t + 1]; e++)
            {
                int at = fill[codes.Indices[e]]++;
                Token[at] = t;
                Value[at] = codes.Values[e];
            }
        Codes = codes;
    }

    public SparseCodes Codes { get; }
    public int[] Start { get; }
    public int[] Token { get; }
    public float[] Value { get; }

    /// <summary>
    /// Runs <paramref name="visit"/> once per latent, latents handed out in blocks of 64 as threads free up (a few
    /// latents fire far more often than the rest), one thread when the work is small. A visit must write only its own
    /// latent's row, so no two threads write the same entry.
    /// </summary>
    public void ForEachLatent(SparseCodes other, Action<int> visit)
    {
        long pairs = 0;
        for (int t = 0; t < Codes.Rows; t++) pairs += (long)(Codes.Offsets[t + 1] - Codes.Offsets[t]) * (other.Offsets[t + 1] - other.Offsets[t]);
        int threads = pairs < 1 << 15 ? 1 : Parallelism.Threads;
        const int Block = 64;
        int latents = Codes.Latents;
        Parallel.For(0, (latents + Block - 1) / Block, new ParallelOptions { MaxDegreeOfParallelism = threads }, block =>
        {
            for (int i = block * Block; i < Math.Min(latents, (block + 1) * Block); i++)
                if (Start[i] < Start[i + 1]) visit(i);
        });
    }
}
