namespace Mechanist.Models;

/// <summary>How to pick the next token: temperature (0 = greedy), top-k (0 = off), top-p (1 = off), seed.</summary>
public readonly record struct SamplingSettings(float Temperature = 1f, int TopK = 0, float TopP = 1f, ulong Seed = 0)
{
    public void Validate()
    {
        if (!(Temperature >= 0)) throw new UserError($"--temperature must be ≥ 0, not {Temperature}");
        if (TopK < 0) throw new UserError($"--top-k must be ≥ 0, not {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new UserError($"--top-p must be in (0, 1], not {TopP}");
    }
}
