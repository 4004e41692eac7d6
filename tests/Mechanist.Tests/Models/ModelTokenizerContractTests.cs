using System.Text.Json.Nodes;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Models;

/// <summary>Which tokenizer a model folder records, and the one-line refusal when a token store's ids come from another.</summary>
public class ModelTokenizerContractTests
{
    [Fact]
    public void The_recorded_hash_comes_from_the_checkpoint_when_the_folder_has_no_tokenizer_files()
    {
        string dir = TestPaths.NewTempDir();
        Assert.Null(ModelTokenizer.RecordedHash(dir));
        string state = Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile);
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        File.WriteAllText(state, new JsonObject { [ModelTokenizer.StateKey] = "sha256:abc" }.ToJsonString());
        Assert.Equal("sha256:abc", ModelTokenizer.RecordedHash(dir));
        File.WriteAllText(state, "{ broken");
        Assert.Null(ModelTokenizer.RecordedHash(dir));
        File.WriteAllText(state, "[\"sha256:abc\"]");
        Assert.Null(ModelTokenizer.RecordedHash(dir));
    }

    [Fact]
    public void Tokenizer_files_in_the_folder_win_over_the_checkpoint()
    {
        string dir = TestPaths.NewTempDir();
        var tokenizer = TokenizerFiles.LoadGpt2(TestPaths.Fixture("gpt2", "vocab.json"), TestPaths.Fixture("gpt2", "merges.txt"));
        TokenizerFiles.Save(tokenizer, dir);
        string state = Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile);
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        File.WriteAllText(state, new JsonObject { [ModelTokenizer.StateKey] = "sha256:other" }.ToJsonString());
        Assert.Equal(tokenizer.Hash, ModelTokenizer.RecordedHash(dir));
    }

    [Fact]
    public void A_mismatch_names_the_store_both_hashes_shortened_and_the_fix()
    {
        string longHash = "sha256:0123456789abcdef0123456789abcdef";
        string store = HarvestFixture.TokenStore(trainTokens: 100, validTokens: 0, tokenizerHash: "sha256:short");
        using var s = TokenStore.Open(store, "train");
        var e = Assert.Throws<UserError>(() => ModelTokenizer.RequireSame(longHash, "the model m", s));
        Assert.Equal($"the token store {s.Directory} was written by another tokenizer than the model m reads (hash sha256:short vs sha256:0123456789ab…): " +
                     "its ids would name other tokens; prepare the corpus with the model's tokenizer (`mechanist corpus prepare --tokenizer MODEL`)", e.Message);
        ModelTokenizer.RequireSame("sha256:short", "the model m", s);
        Assert.Contains("vs sha256:0123456789ab)", Assert.Throws<UserError>(() => ModelTokenizer.RequireSame("sha256:0123456789ab", "x", s)).Message);
    }

    [Fact]
    public void A_folder_with_only_a_hugging_face_tokenizer_json_records_its_hash()
    {
        string dir = TestPaths.NewTempDir();
        var tokenizer = TokenizerFiles.LoadGpt2(TestPaths.Fixture("gpt2", "vocab.json"), TestPaths.Fixture("gpt2", "merges.txt"));
        TokenizerFiles.Save(tokenizer, dir);
        File.Delete(Path.Combine(dir, TokenizerFiles.VocabFile));
        File.Delete(Path.Combine(dir, TokenizerFiles.MergesFile));
        Assert.True(File.Exists(Path.Combine(dir, TokenizerFiles.HuggingFaceFile)));
        Assert.Equal(tokenizer.Hash, ModelTokenizer.RecordedHash(dir));
    }

    [Fact]
    public void RequireMatch_names_the_model_folder_in_its_refusal()
    {
        string dir = TestPaths.NewTempDir();
        string state = Path.Combine(dir, Trainer.CheckpointDir, Trainer.StateFile);
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        File.WriteAllText(state, new JsonObject { [ModelTokenizer.StateKey] = "sha256:model" }.ToJsonString());
        string store = HarvestFixture.TokenStore(trainTokens: 100, validTokens: 0, tokenizerHash: "sha256:store");
        using var s = TokenStore.Open(store, "train");
        Assert.Contains($"another tokenizer than the model {dir} reads", Assert.Throws<UserError>(() => ModelTokenizer.RequireMatch(dir, s)).Message);
    }
}
