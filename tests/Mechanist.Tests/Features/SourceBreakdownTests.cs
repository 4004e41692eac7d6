using Mechanist.Features;
using Mechanist.Features.Statistics;
using Mechanist.Sae;
using Mechanist.Tests.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Features;

/// <summary>Where a unit's activations come from: token → source slot, mass per slot, and the store's round trip.</summary>
public class SourceBreakdownTests
{
    static TokenStore Store()
    {
        string dir = TestPaths.NewTempDir();
        string store = Path.Combine(dir, "store");
        TokenStoreWriter.Prepare(new CorpusReader([CorpusFiles.WriteJsonl(Path.Combine(dir, "pile.jsonl"))]), Gpt2.Tokenizer, store,
            new TokenStoreOptions { ValidFraction = 0 }, IProgressReporter.None);
        return TokenStore.Open(store);
    }

    [Fact]
    public void EveryTokenGetsItsDocumentsSourceAndTheCorpusCountsAddUp()
    {
        using var store = Store();
        long tokens = store.Count - 5; // a range that ends inside the last document
        var labelling = SourceLabelling.For(store, tokens)!;
        var slots = new int[tokens];
        labelling.Fill(0, slots);
        var expected = new long[labelling.Labels.Count];
        for (long t = 0; t < tokens; t++)
        {
            string label = store.SourceLabels[store.DocumentSource(store.DocumentOf(t))];
            Assert.Equal(label, labelling.Labels[slots[t]]);
            expected[slots[t]]++;
        }
        Assert.Equal(expected, labelling.CorpusTokens);
        Assert.True(labelling.CorpusTokens.Zip(labelling.CorpusTokens.Skip(1)).All(p => p.First >= p.Second), "most tokens first");

        var middle = new int[7]; // filling from the middle of a document agrees with filling from the start
        labelling.Fill(40, middle);
        Assert.Equal(slots[40..47], middle);
    }

    [Fact]
    public void MassSumsPositiveActivationsPerSlotForDenseAndSparseBatches()
    {
        var dense = new Tensor(4, 3);
        float[] values = [1, -2, 0, 2, 3, 0, 0, 1, -1, 4, 0, 0.25f];
        values.CopyTo(dense.Span);
        int[] slots = [0, 1, 1, 0];
        var mass = new SourceMass(3, 2);
        mass.Add(BatchActivations.Dense(dense), slots);
        var m = mass.ToFloats(); // unit after unit, 2 slots each
        Assert.Equal([1 + 4, 2, 0, 3 + 1, 0.25f, 0], m);

        var sparse = new SourceMass(3, 2);
        // The same non-zero entries in compressed rows.
        var codes = new SparseCodes(3, [0, 2, 4, 6, 8], [0, 1, 0, 1, 1, 2, 0, 2], [1, -2, 2, 3, 1, -1, 4, 0.25f]);
        Assert.Equal(values, codes.ToDense().ToArray());
        sparse.Add(BatchActivations.Sparse(codes), slots);
        Assert.Equal(m, sparse.ToFloats());
    }

    [Fact]
    public void TheStoreGivesSharesOfMassBesideTheCorpusShares()
    {
        string dir = TestPaths.NewTempDir();
        using (var w = FeatureStoreWriter.Create(dir, new FeatureStoreSource(), ["a", "b"], 2))
        {
            foreach (int id in new[] { 0, 1 })
                w.Add(new FeatureRecord { Kind = UnitKind.Feature, Id = id, Density = id == 0 ? 0.5f : 0, MaxActivation = 1, MeanActivation = 1 });
            w.AddSources(UnitKind.Feature, ["Github", "Pile-CC", "(other)"], [100, 300, 0], [3, 1, 0, 0, 0, 0]);
            w.Complete();
        }
        using var store = FeatureStore.Open(dir);
        var shares = store.GetUnit(UnitKind.Feature, 0).Sources;
        Assert.Equal([new SourceShare("Github", 0.75f, 0.25f), new SourceShare("Pile-CC", 0.25f, 0.75f)], shares);
        Assert.Equal([new SourceShare("Pile-CC", 0, 0.75f), new SourceShare("Github", 0, 0.25f)], store.GetUnit(UnitKind.Feature, 1).Sources);

        File.WriteAllBytes(Path.Combine(dir, StoreLayout.SourcesDataFile(UnitKind.Feature)), new byte[8]); // wrong size
        Assert.Contains("feature.sources.bin: size", Assert.Throws<DataFormatError>(() => FeatureStore.Open(dir)).Message);
    }
}
