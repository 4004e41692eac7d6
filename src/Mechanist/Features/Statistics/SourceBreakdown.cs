using Mechanist.Text;

namespace Mechanist.Features.Statistics;

/// <summary>
/// The per-source activation mass of every feature (and neuron) over a build's tokens, from the token store's
/// document sources: <see cref="SourceLabelling"/> names each token's slot, a <see cref="SourceMass"/> per kind sums.
/// </summary>
public sealed class SourceBreakdown
{
    readonly SourceLabelling _labelling;
    readonly SourceMass _features;
    readonly SourceMass? _neurons;
    int[] _slots = [];

    SourceBreakdown(SourceLabelling labelling, int features, int neurons)
    {
        _labelling = labelling;
        _features = new SourceMass(features, labelling.Labels.Count);
        _neurons = neurons > 0 ? new SourceMass(neurons, labelling.Labels.Count) : null;
    }

    /// <summary>A breakdown over tokens [0, <paramref name="tokens"/>); null when the token store kept no sources.</summary>
    public static SourceBreakdown? For(TokenStore store, long tokens, int features, int neurons) =>
        SourceLabelling.For(store, tokens) is { } labelling ? new SourceBreakdown(labelling, features, neurons) : null;

    /// <summary>Adds a batch whose rows are tokens [<paramref name="firstToken"/>, firstToken + rows) of the store.</summary>
    public void Add(long firstToken, BatchActivations features, BatchActivations? neurons)
    {
        if (_slots.Length < features.Rows) _slots = new int[features.Rows];
        var slots = _slots.AsSpan(0, features.Rows);
        _labelling.Fill(firstToken, slots);
        _features.Add(features, slots);
        if (neurons is { } n) _neurons?.Add(n, slots);
    }

    public void WriteTo(FeatureStoreWriter writer)
    {
        writer.AddSources(UnitKind.Feature, _labelling.Labels, _labelling.CorpusTokens, _features.ToFloats());
        if (_neurons != null) writer.AddSources(UnitKind.Neuron, _labelling.Labels, _labelling.CorpusTokens, _neurons.ToFloats());
    }
}
