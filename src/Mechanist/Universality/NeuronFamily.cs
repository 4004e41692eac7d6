namespace Mechanist.Universality;

/// <summary>
/// A neuron's family (METHODS.md §5.6) with the feature that explains it best and that feature's variance
/// reduction: unigram, previous_token, alphabet, position, syntax (token-level proxies: no tagger), or empty.
/// </summary>
public sealed record NeuronFamily(string Family, string Feature, double Vr)
{
    public static NeuronFamily None { get; } = new("", "", double.NaN);
}
