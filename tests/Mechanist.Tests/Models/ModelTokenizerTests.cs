using System.CommandLine;
using Mechanist.Activations;
using Mechanist.Cli.Commands;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Models;

/// <summary>
/// A token store written by another tokenizer than the model's is refused by training (resume, and a --tokenizer
/// that is not the store's), evaluation and harvesting, with one line naming the store: its ids would name other
/// tokens and every number computed on them would mean nothing.
/// </summary>
public class ModelTokenizerTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("model-tokenizer");
    static readonly BpeTokenizer Tokenizer = BpeTrainer.Train(["the cat sat on the mat", "a tokenizer for the tests"], 270);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A model folder holding the fixture model and <see cref="Tokenizer"/>'s files.</summary>
    string ModelWithTokenizer()
    {
        string dir = Path.Combine(_dir, "model");
        ModelFiles.Save(HarvestFixture.Model(), dir);
        TokenizerFiles.Save(Tokenizer, dir);
        return dir;
    }

    static HarvestOptions Harvest => new() { Hook = HookPoint.MlpPost(0), Tokens = 200, ShuffleBufferMiB = 0 };

    [Fact]
    public void Harvest_refuses_a_store_of_another_tokenizer_and_takes_one_of_the_same()
    {
        string model = ModelWithTokenizer();
        string other = HarvestFixture.TokenStore(tokenizerHash: "sha256:another");
        var e = Assert.ThrowsAny<UserError>(() => Harvester.Harvest(model, other, Path.Combine(_dir, "acts"), Harvest, IProgressReporter.None));
        Assert.Contains(other, e.Message);
        Assert.Contains("another tokenizer", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "acts")), "nothing written");

        string same = HarvestFixture.TokenStore(tokenizerHash: Tokenizer.Hash);
        var result = Harvester.Harvest(model, same, Path.Combine(_dir, "acts"), Harvest, IProgressReporter.None);
        Assert.True(result.Rows > 0);
    }

    [Fact]
    public void Model_eval_refuses_a_store_of_another_tokenizer()
    {
        string model = ModelWithTokenizer();
        string other = HarvestFixture.TokenStore(tokenizerHash: "sha256:another");
        var error = new StringWriter();
        int code = Mechanist.Cli.CommandLine.Run(new RootCommand("test") { ModelCommands.Create() }, ["model", "eval", "--model", model, "--data", other], error);
        Assert.Equal(1, code);
        Assert.Contains("another tokenizer", error.ToString());
    }

    [Fact]
    public void Training_refuses_to_resume_on_a_store_of_another_tokenizer_or_to_copy_in_a_tokenizer_that_did_not_write_the_store()
    {
        string run = Path.Combine(_dir, "run");
        var options = new TrainOptions { Preset = "micro", Context = 8, Batch = 2, Tokens = 64, WarmupSteps = 1, EvalEvery = 1000, CheckpointEvery = 2 };
        string first = HarvestFixture.TokenStore(tokenizerHash: Tokenizer.Hash);
        ModelTrainStage.Run(new ModelTrainStageOptions { Data = first, OutDir = run, Train = options }, IProgressReporter.None, default);
        Assert.Equal(Tokenizer.Hash, ModelTokenizer.RecordedHash(run));

        string other = HarvestFixture.TokenStore(tokenizerHash: "sha256:another");
        var e = Assert.ThrowsAny<UserError>(() => ModelTrainStage.Run(
            new ModelTrainStageOptions { Data = other, OutDir = run, Train = options, Resume = true }, IProgressReporter.None, default));
        Assert.Contains("another tokenizer", e.Message);
        Assert.Contains($"(hash {Tokenizer.Hash[..19]}… vs sha256:another…)", e.Message); // long hashes cut to 19, short ones whole

        // A checkpoint's recorded hash may be short too (state.json is the user's file): still the one-line refusal.
        string statePath = Path.Combine(run, Trainer.CheckpointDir, Trainer.StateFile);
        var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(statePath))!;
        state[ModelTokenizer.StateKey] = "sha256:abc";
        File.WriteAllText(statePath, state.ToJsonString());
        e = Assert.ThrowsAny<UserError>(() => ModelTrainStage.Run(
            new ModelTrainStageOptions { Data = first, OutDir = run, Train = options, Resume = true }, IProgressReporter.None, default));
        Assert.Contains($"(hash sha256:abc… vs {Tokenizer.Hash[..19]}…)", e.Message);

        string tokenizerDir = Path.Combine(_dir, "tokenizer");
        TokenizerFiles.Save(Tokenizer, tokenizerDir);
        e = Assert.ThrowsAny<UserError>(() => ModelTrainStage.Run(
            new ModelTrainStageOptions { Data = other, OutDir = Path.Combine(_dir, "run2"), Train = options, Tokenizer = tokenizerDir }, IProgressReporter.None, default));
        Assert.Contains(tokenizerDir, e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run2")), "refused before training");

        // The tokenizer that did write the store is copied into the trained model's folder.
        string run3 = Path.Combine(_dir, "run3");
        ModelTrainStage.Run(new ModelTrainStageOptions { Data = first, OutDir = run3, Train = options, Tokenizer = tokenizerDir }, IProgressReporter.None, default);
        Assert.Equal(File.ReadAllText(Path.Combine(tokenizerDir, TokenizerFiles.MergesFile)), File.ReadAllText(Path.Combine(run3, TokenizerFiles.MergesFile)));
    }
}
