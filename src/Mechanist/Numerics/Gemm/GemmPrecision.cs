namespace Mechanist.Numerics;

/// <summary>What the inputs of large fp32 GEMMs are rounded to before multiplying (accumulation is always fp32).</summary>
public enum GemmPrecision
{
    /// <summary>fp32 inputs: the managed AVX-512 kernel.</summary>
    Float32,
    /// <summary>Inputs rounded to bfloat16, fp32 accumulation and output: <see cref="BFloat16Gemm"/>.</summary>
    BFloat16,
}
