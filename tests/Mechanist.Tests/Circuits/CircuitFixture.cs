using Mechanist.Circuits;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Circuits;

/// <summary>
/// A tokenizer learned from the tasks' own prompts and answers (so every answer pair is one token each), a small
/// two-layer random model over it with weights well away from initialisation, a token store of random ids for the
/// ablation means, and the three saved as a model folder with its tokenizer. Built once per test class.
/// </summary>
public sealed class CircuitFixture : IDisposable
{
    public CircuitFixture()
    {
        var texts = new List<string>();
        var rng = new Rng(9);
        foreach (var task in PythonTasks.All)
            for (int i = 0; i < 30; i++)
            {
                texts.Add(task.Write(rng, i % 2 == 0 ? TaskVocabulary.Train : TaskVocabulary.HeldOut, true) + task.Answers[0].PromptEnd + task.Answers[0].Target);
                texts.Add(task.Write(rng, i % 2 == 0 ? TaskVocabulary.Train : TaskVocabulary.HeldOut, false) + task.Answers[0].PromptEnd + task.Answers[0].Alternative);
            }
        Tokenizer = BpeTrainer.Train(texts, 400);
        Model = RandomModel(Tokenizer.VocabSize, 1);
        Root = TestPaths.NewTempDir("mechanist-circuit");
        ModelDir = Path.Combine(Root, "model");
        ModelFiles.Save(Model, ModelDir);
        TokenizerFiles.Save(Tokenizer, ModelDir);
        DataDir = HarvestFixture.TokenStore(trainTokens: 3000, validTokens: 300, tokenizerHash: Tokenizer.Hash);
        Data = TokenStore.Open(DataDir, "train");
    }

    public BpeTokenizer Tokenizer { get; }
    public Transformer<float> Model { get; }
    public string Root { get; }
    public string ModelDir { get; }
    public string DataDir { get; }
    public TokenStore Data { get; }

    public static Transformer<float> RandomModel(int vocab, int seed)
    {
        var config = new TransformerConfig { Layers = 2, DModel = 16, Heads = 2, DMlp = 32, Context = 32, Vocab = vocab, Activation = Activation.Relu };
        var m = Transformer<float>.Create(config, (ulong)seed);
        var rng = new Random(seed);
        foreach (var (name, w) in m.Weights)
        {
            if (name.Contains("ln_")) continue;
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] = (float)(rng.NextDouble() * 0.6 - 0.3);
        }
        return m;
    }

    public void Dispose()
    {
        Data.Dispose();
        try { Directory.Delete(Root, true); Directory.Delete(DataDir, true); } catch (IOException) { }
    }
}
