namespace Mechanist.Numerics;

/// <summary>
/// Runs the large fp32 GEMMs (<see cref="Gemm.Sgemm"/> with α = 1) of the code inside it with bf16 inputs:
/// the caller's fp32 tensors stay the masters, each product rounds its inputs to bf16 and accumulates in
/// fp32. It holds for the async flow that enters it and the Parallel.For workers that flow starts, not
/// for other threads, so concurrent work (tests, a second model) keeps fp32. Where bf16 cannot run, the
/// scope falls back to fp32 and <see cref="FallbackReason"/> says why.
/// </summary>
public sealed class GemmPrecisionScope : IDisposable
{
    static readonly AsyncLocal<bool> BFloat16Inputs = new();
    readonly bool _previous;

    /// <summary>True inside a scope whose effective precision is bf16.</summary>
    internal static bool BFloat16Active => BFloat16Inputs.Value;

    /// <summary>The precision the GEMMs inside actually use.</summary>
    public GemmPrecision Effective { get; }

    /// <summary>Why bf16 was asked for but fp32 is used, else null.</summary>
    public string? FallbackReason { get; }

    /// <summary>One line for the user when bf16 was asked for and cannot run, else null.</summary>
    public string? FallbackMessage => FallbackReason is { } why ? $"bf16 unavailable: {why}; using fp32" : null;

    public static GemmPrecisionScope Enter(GemmPrecision requested) =>
        new(requested, requested == GemmPrecision.BFloat16 ? BFloat16Gemm.UnavailableReason : null);

    /// <summary>A scope with a given availability (null: bf16 works), for tests of the fallback.</summary>
    internal GemmPrecisionScope(GemmPrecision requested, string? unavailableReason)
    {
        _previous = BFloat16Inputs.Value;
        FallbackReason = requested == GemmPrecision.BFloat16 ? unavailableReason : null;
        Effective = requested == GemmPrecision.BFloat16 && unavailableReason == null ? GemmPrecision.BFloat16 : GemmPrecision.Float32;
        BFloat16Inputs.Value = Effective == GemmPrecision.BFloat16;
    }

    public void Dispose() => BFloat16Inputs.Value = _previous;

    /// <summary>Parses a --precision value: fp32 | bf16 (also float32, bfloat16); a user error otherwise.</summary>
    public static GemmPrecision Parse(string text, string option = "--precision") => text.ToLowerInvariant() switch
    {
        "fp32" or "f32" or "float32" => GemmPrecision.Float32,
        "bf16" or "bfloat16" => GemmPrecision.BFloat16,
        _ => throw new UserError($"{option} {text}: expected fp32 or bf16"),
    };
}
