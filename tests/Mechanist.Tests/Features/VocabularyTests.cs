using Mechanist.Features.Statistics;
using Mechanist.IO;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Features;

/// <summary>Where the features' display strings come from, and the refusal when the tokenizer did not write the tokens.</summary>
public class VocabularyTests
{
    /// <summary>A token store from a tiny tokenizer trained here (fast), in a fresh folder.</summary>
    static (string Root, string Tokens, BpeTokenizer Bpe) TinyStore()
    {
        string root = TestPaths.NewTempDir("mechanist-vocab");
        string docs = Path.Combine(root, "docs.jsonl");
        File.WriteAllLines(docs, ["{\"text\":\"the cat sat on the mat\"}", "{\"text\":\"a dog ran in the fog\"}"]);
        var bpe = BpeTrainer.Train(["the cat sat on the mat", "a dog ran in the fog"], 270);
        string tokenizerDir = Path.Combine(root, "tokenizer");
        TokenizerFiles.Save(bpe, tokenizerDir);
        string tokens = Path.Combine(root, "tokens");
        TokenStoreWriter.Prepare(new CorpusReader([docs]), bpe, tokens,
            new TokenStoreOptions { ValidFraction = 0, TokenizerPath = tokenizerDir }, IProgressReporter.None);
        return (root, tokens, bpe);
    }

    [Fact]
    public void FindsTheRecordedTokenizerAndPadsIdsPastItsVocabulary()
    {
        var (root, tokens, bpe) = TinyStore();
        try
        {
            var store = TokenStore.Open(tokens);
            // No --tokenizer, an empty model folder: the path recorded in the token store is used.
            string modelDir = Directory.CreateDirectory(Path.Combine(root, "model")).FullName;
            var strings = FeatureBuilder.Vocabulary(null, modelDir, tokens, store, bpe.VocabSize + 2);
            Assert.Equal(bpe.VocabSize + 2, strings.Count);
            Assert.Equal(bpe.TokenText(100), strings[100]);
            Assert.Equal($"<{bpe.VocabSize + 1}>", strings[^1]);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void AShortRecordedHashStillGivesTheMismatchError()
    {
        // Hashes are normally 64 hex digits, but meta.json is the user's file: a hash shorter than the 12 shown
        // characters must still give the clear error, not an index exception.
        using var store = TokenStore.Open(HarvestFixture.TokenStore(trainTokens: 100, validTokens: 0, tokenizerHash: "ab12"));
        string other = TestPaths.NewTempDir("mechanist-vocab");
        try
        {
            TokenizerFiles.Save(BpeTrainer.Train(["some other text entirely"], 262), other);
            var e = Assert.Throws<UserError>(() => FeatureBuilder.Vocabulary(other, other, store.Directory, store, 300));
            Assert.Contains("is not the one that wrote the token store", e.Message);
            Assert.Contains("vs ab12…", e.Message);
        }
        finally { Directory.Delete(other, recursive: true); }
    }
}
