using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

/// <summary>A fact that needs the bf16 GEMM backend; skipped, with the reason, where it cannot run (no avx512_bf16, no libdnnl2).</summary>
public sealed class BFloat16FactAttribute : FactAttribute
{
    public BFloat16FactAttribute()
    {
        if (BFloat16Gemm.UnavailableReason is { } why) Skip = $"bf16 unavailable: {why}";
    }
}
