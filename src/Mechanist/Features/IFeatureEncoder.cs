namespace Mechanist.Features;

/// <summary>One feature's activation on one token.</summary>
public readonly record struct FeatureActivation(int Id, float Activation);

/// <summary>A token of encoded text and its strongest features, strongest first.</summary>
public sealed record TokenFeatures(string Token, IReadOnlyList<FeatureActivation> Top);

/// <summary>
/// Runs text through the tokenizer, the model and the SAE, for the browser's playground. The real encoder
/// (tokenizer + model + SAE at the store's hook) lives with the model stage; tests use a fixture encoder.
/// Must be safe to call from several requests at once.
/// </summary>
public interface IFeatureEncoder
{
    /// <summary>One entry per token of <paramref name="text"/>, each with its top features (non-zero only).</summary>
    IReadOnlyList<TokenFeatures> Encode(string text);
}
