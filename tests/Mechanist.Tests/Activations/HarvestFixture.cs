using System.Buffers.Binary;
using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics.Kernels;
using Mechanist.Text;

namespace Mechanist.Tests.Activations;

/// <summary>A tiny random ReLU model and a token store of random ids written directly (no tokenizer), for harvest and splice tests.</summary>
public static class HarvestFixture
{
    public const int Vocab = 40;

    public static TransformerConfig Config(int context = 12) => new()
    {
        Layers = 1, DModel = 16, Heads = 2, DMlp = 32, Context = context, Vocab = Vocab, Activation = Activation.Relu,
    };

    /// <summary>Weights well away from the 0.02 initialisation, so the MLP matters to the logits.</summary>
    public static Transformer<float> Model(int seed = 1, int context = 12)
    {
        var m = Transformer<float>.Create(Config(context), (ulong)seed);
        var rng = new Random(seed);
        foreach (var (name, w) in m.Weights)
        {
            if (name.Contains("ln_")) continue;
            for (int i = 0; i < w.Value.Length; i++) w.Value[i] = (float)(rng.NextDouble() * 0.8 - 0.4);
        }
        return m;
    }

    /// <summary>Writes a store with a train and a valid split of random ids (documents of 50 tokens ending in id 0).</summary>
    public static string TokenStore(int trainTokens = 2000, int validTokens = 600, int seed = 3, string tokenizerHash = "sha256:test")
    {
        string dir = TestPaths.NewTempDir();
        var rng = new Random(seed);
        var splits = new Dictionary<string, TokenStoreMeta.SplitInfo>();
        foreach (var (name, count) in new[] { ("train", trainTokens), ("valid", validTokens) })
        {
            var bytes = new byte[count * 2];
            var starts = new List<long>();
            for (int i = 0; i < count; i++)
            {
                if (i % 50 == 0) starts.Add(i);
                int id = i % 50 == 49 ? 0 : 1 + rng.Next(Vocab - 1);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)id);
            }
            File.WriteAllBytes(Path.Combine(dir, $"{name}-00000.bin"), bytes);
            var docs = new byte[starts.Count * 8];
            for (int i = 0; i < starts.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(docs.AsSpan(i * 8), starts[i]);
            File.WriteAllBytes(Path.Combine(dir, $"{name}.docs.bin"), docs);
            splits[name] = new TokenStoreMeta.SplitInfo(count, starts.Count, [($"{name}-00000.bin", (long)count)], $"{name}.docs.bin");
        }
        var meta = new TokenStoreMeta(tokenizerHash, Vocab, 0, "uint16", 0.2, 0, null, ["random"], 0, splits);
        File.WriteAllBytes(Path.Combine(dir, TokenStoreWriter.MetaFile), meta.ToJson());
        return dir;
    }

    /// <summary>The hook activation of one window run alone: rows [context, width].</summary>
    public static Tensor Direct(Transformer<float> model, int[] window, HookPoint hook)
    {
        Tensor? seen = null;
        using (Tape.NoGrad()) model.Forward(window, 1, window.Length, new Hooks<float>().Read(hook, x => seen = x.Clone()));
        return seen!.Reshape(window.Length, -1);
    }
}
