using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Circuits;

/// <summary>
/// The random-model control of §6.6: the same architecture with every weight tensor's entries permuted at random, so
/// it keeps each tensor's values and its count of zeros (a weight-sparse model stays exactly as sparse) but none of
/// what training arranged.
/// </summary>
public static class ShuffledModel
{
    public static Transformer<float> Of(Transformer<float> model, ulong seed)
    {
        var copy = Transformer<float>.Empty(model.Config);
        var rng = new Rng(seed).Stream(23);
        for (int i = 0; i < model.Weights.Count; i++)
        {
            var values = model.Weights[i].Weight.Value.ToArray();
            rng.Shuffle(values.AsSpan());
            values.CopyTo(copy.Weights[i].Weight.Value.Span);
        }
        return copy;
    }
}
