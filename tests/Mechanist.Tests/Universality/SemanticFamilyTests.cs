using Mechanist.Tests.Text;
using Mechanist.Universality;

namespace Mechanist.Tests.Universality;

public class SemanticFamilyTests
{
    [Fact]
    public void Topic_sets_and_corpus_subsets_label_the_neurons_that_follow_them()
    {
        var tokenizer = Gpt2.Tokenizer;
        int vocab = tokenizer.VocabSize, units = 3, context = 16;
        int[] months = [.. new[] { " January", " March", " May", " July", " October", " December" }.Select(w => tokenizer.Encode(w).Single())];
        int[] others = [.. new[] { " The", " and", " House", " of", " It", ".", " is", " We" }.Select(w => tokenizer.Encode(w).Single())];
        var rng = new Random(3);
        var sums = new ConditionalSums(units, vocab, context, sources: 3);
        var pre = new PreActivationHistogram(units);
        int previous = others[0];
        for (int t = 0; t < 6000; t++)
        {
            int token = rng.Next(4) == 0 ? months[rng.Next(months.Length)] : others[rng.Next(others.Length)];
            int source = t / 100 % 3; // documents of 100 tokens, subsets in turn
            float noise() => (float)rng.NextDouble() * 0.2f;
            float[] row = [months.Contains(token) ? 2 + noise() : noise(), source == 1 ? 1.5f + noise() : noise(), noise()];
            sums.Add(row, token, previous, t % context, 0, source);
            pre.Add(row, 1, units, 0);
            pre.CountTokens(1);
            previous = token;
        }
        var families = NeuronFamilies.Label(new NeuronProfile(pre, sums, ["Wikipedia_en", "Code_Python", "Legal_DebianCopyright"]), tokenizer);
        Assert.Equal(("semantic", "topic:months"), (families[0].Family, families[0].Feature));
        Assert.True(families[0].Vr > 0.9, families[0].ToString());
        Assert.Equal(("semantic", "source:Code_Python"), (families[1].Family, families[1].Feature));
        Assert.NotEqual("semantic", families[2].Family);
        // The source sums give the VR of "document from subset s" exactly.
        double n = sums.Tokens, s = sums.Sum[1], q = sums.Squares[1], sf = sums.BySource[1 * units + 1], nf = sums.SourceCount[1];
        Assert.Equal((sf * sf / nf + (s - sf) * (s - sf) / (n - nf) - s * s / n) / (q - s * s / n), sums.SourceVr(1, 1), 1e-12);
        Assert.Equal(2000, sums.SourceCount[1]);
    }
}
